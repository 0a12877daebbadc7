import { TERMINAL_STATUSES, UPLOAD_STATUSES, contentTypeFor } from '../../../client/index.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/default-type-policy.js';
import {
  REASON_CODES,
  TERMINAL_STATUSES as SERVER_TERMINAL_STATUSES,
  UPLOAD_STATUSES as SERVER_UPLOAD_STATUSES,
} from '../../../functions/domain/model.js';
import { loadOpenApiDocument } from '../../../openapi/index.js';

/**
 * The values the client keeps for itself (it imports nothing from functions/) against the
 * server's and the document's. test/contract/api-types.ts checks the types at compile time.
 */

const schemas = loadOpenApiDocument().components?.schemas ?? {};
const enumOf = (name: string): unknown => (schemas[name] as { enum?: unknown } | undefined)?.enum;

describe('the client and the server agree', () => {
  it('on the statuses, in the document order, and on which are terminal', () => {
    // Arrange
    const documented = enumOf('UploadStatus');
    // Act
    const clientTerminal = [...TERMINAL_STATUSES].sort();
    // Assert
    expect([...UPLOAD_STATUSES]).toEqual(documented);
    expect([...SERVER_UPLOAD_STATUSES]).toEqual(documented);
    expect(clientTerminal).toEqual([...SERVER_TERMINAL_STATUSES].sort());
  });

  it('on the reason codes', () => {
    expect([...REASON_CODES]).toEqual(enumOf('ReasonCode'));
  });

  it("on the content type each of the default policy's extensions declares", () => {
    // Arrange
    const expected = Object.entries(DEFAULT_TYPE_POLICY).flatMap(([type, rule]) =>
      rule.extensions.map((extension) => [extension, type]),
    );
    // Act
    const guessed = expected.map(([extension]) => [extension, contentTypeFor(`file.${extension}`)]);
    // Assert
    expect(expected.length).toBeGreaterThan(0);
    expect(guessed).toEqual(expected);
    expect(contentTypeFor('file.exe')).toBeUndefined();
  });
});
