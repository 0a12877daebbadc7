import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { inspectContent } from '../../functions/domain/content-inspection.js';
import { downloadName } from '../../functions/domain/file-name.js';
import { DEFAULT_TYPE_POLICY } from '../../functions/domain/type-policy.js';
import { judgeContent, type DeclaredContent } from '../../functions/domain/verdict.js';
import { CONTENT_BUILDERS, buildContent } from '../corpus/content-builders.js';
import { CONTENT_CATEGORIES, loadContentCases } from '../corpus/corpus.js';

/**
 * The hostile content corpus (test/corpus/hostile-content.json) judged by the real validation
 * rules, as the Validate task streams a file (in small chunks). The reliability suite uploads
 * the same cases through real grants and the real pipeline; this tier keeps their verdicts in
 * check on every change.
 */

const corpus = loadContentCases();
const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('the hostile content corpus', () => {
  it('has unique kebab-case ids, a known builder and category for each case, and a quick subset', () => {
    const ids = corpus.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of corpus) {
      expect(c.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(Object.keys(CONTENT_BUILDERS)).toContain(c.builder);
      expect(CONTENT_CATEGORIES).toContain(c.category);
      expect(['POST', 'PUT']).toContain(c.method);
    }
    expect(new Set(corpus.map((c) => c.category))).toEqual(new Set(CONTENT_CATEGORIES));
    expect(corpus.filter((c) => c.quick === true).length).toBeGreaterThanOrEqual(6);
    expect(new Set(corpus.map((c) => c.method))).toEqual(new Set(['POST', 'PUT']));
  });

  it.each(corpus.map((c) => [c.id, c] as const))('%s', async (_id, hostile) => {
    // Arrange
    const bytes = buildContent(hostile.builder);
    const sha256 =
      hostile.declared.sha256 === 'own'
        ? sha256Hex(bytes)
        : hostile.declared.sha256 === 'other'
          ? sha256Hex(Buffer.from(`not the bytes of ${hostile.id}`))
          : undefined;
    const declared: DeclaredContent = {
      contentType: hostile.declared.contentType,
      size: bytes.length,
      ...(sha256 !== undefined ? { sha256 } : {}),
    };
    const chunks = Array.from({ length: Math.ceil(bytes.length / 97) }, (_, i) =>
      bytes.subarray(i * 97, (i + 1) * 97),
    );
    // Act
    const facts = await inspectContent(Readable.from(chunks), {
      checkText: DEFAULT_TYPE_POLICY[declared.contentType]?.detect.kind === 'text',
      stopAfterBytes: declared.size,
    });
    const verdict = judgeContent(declared, facts, DEFAULT_TYPE_POLICY);
    // Assert
    if (hostile.category === 'malware') {
      // Valid files: validation accepts them and only the malware scan refuses them (the scanner
      // tier judges them through real clamd; the reliability suite through the whole pipeline).
      expect(verdict).toMatchObject({ accepted: true, reasons: [] });
    } else if (hostile.expect.status === 'REJECTED') {
      expect(verdict.accepted).toBe(false);
      expect(verdict.reasons.map((reason) => reason.code).sort()).toEqual([...hostile.expect.reasons].sort());
    } else {
      expect(verdict).toMatchObject({ accepted: true, reasons: [] });
      expect(verdict.facts.detectedType).toBe(hostile.expect.detectedType);
      const extensions = DEFAULT_TYPE_POLICY[declared.contentType]?.extensions ?? [];
      expect(downloadName(hostile.declared.fileName, extensions)).toBe(hostile.expect.download.fileName);
    }
  });
});
