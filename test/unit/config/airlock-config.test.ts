import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  ConfigFileError,
  DEFAULT_CONFIG_PATH,
  loadAirlockConfig,
  parseAirlockConfig,
} from '../../../config/airlock-config.js';
import { configJsonSchema, SCHEMA_PATH } from '../../../config/schema.js';
import { DEFAULT_TYPE_POLICY } from '../../../functions/domain/type-policy.js';
import { readLocalSettings } from '../../../local/settings.js';

const committedSchema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
const editorCheck = new Ajv2020({ allErrors: true }).compile(committedSchema);

const dir = mkdtempSync(join(tmpdir(), 'airlock-config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** Writes a configuration file and returns its path. */
const configFile = (content: string): string => {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, content);
  return path;
};

describe('the committed airlock.config.json', () => {
  test('is valid for the loader', () => {
    expect(() => loadAirlockConfig(DEFAULT_CONFIG_PATH)).not.toThrow();
  });

  test('is valid for editors (the JSON Schema it names)', () => {
    // Arrange
    const raw = JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, unknown>;

    // Act
    const valid = editorCheck(raw);

    // Assert
    expect(editorCheck.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(raw['$schema']).toBe('./airlock.config.schema.json');
  });

  test("its JSON Schema is generated from the loader's schema (npm run gen:config-schema)", () => {
    expect(committedSchema).toEqual(JSON.parse(configJsonSchema()));
  });
});

describe('defaults', () => {
  test('an empty file gets the documented default of every setting', () => {
    expect(parseAirlockConfig({})).toEqual({
      allowedOrigins: [],
      typePolicy: DEFAULT_TYPE_POLICY,
      uploadUrlTtlSeconds: 900,
      downloadUrlTtlSeconds: 300,
      processingTimeoutSeconds: 3600,
      sweepIntervalMinutes: 5,
      sweepBatchSize: 100,
      quarantineRetentionDays: 7,
      noncurrentVersionRetentionDays: 30,
      rejectedRetentionDays: 90,
      abandonedRecordRetentionDays: 90,
      logRetentionDays: 365,
      auditDigestIntervalMinutes: 15,
      auditDigestRetentionDays: 365,
      auditDigestLockMode: 'COMPLIANCE',
      apiThrottle: { rateLimit: 50, burstLimit: 100 },
      reservedConcurrency: {},
      forensicReaderArns: [],
      scanner: 'guardduty',
      events: {},
      webhooks: [],
      webhookRetry: { maxAttempts: 10, initialDelaySeconds: 10, maxDelaySeconds: 3600 },
      removalPolicy: 'retain',
      quotaOpenGrants: 1000,
      quotaBytesPerDay: 10 * 1024 ** 3,
    });
  });
});

describe('bad values are refused with a message naming the field', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp, { editorRefuses: boolean }]> = [
    [
      'an abandoned-record retention shorter than the 30 days the README promises',
      { abandonedRecordRetentionDays: 29 },
      /abandonedRecordRetentionDays: must be a whole number of days from 30 to 3650, got 29/,
      { editorRefuses: true },
    ],
    [
      'a processing timeout shorter than Validate may run',
      { processingTimeoutSeconds: 600 },
      /processingTimeoutSeconds: must be a whole number of seconds from 1200 to 86400, got 600/,
      { editorRefuses: true },
    ],
    [
      'an upload URL lifetime over 15 minutes',
      { uploadUrlTtlSeconds: 901 },
      /uploadUrlTtlSeconds: must be a whole number of seconds from 1 to 900, got 901/,
      { editorRefuses: true },
    ],
    [
      'a number written as a string',
      { downloadUrlTtlSeconds: '300' },
      /downloadUrlTtlSeconds: must be a whole number of seconds from 1 to 300, got "300"/,
      { editorRefuses: true },
    ],
    [
      'a fractional batch size',
      { sweepBatchSize: 2.5 },
      /sweepBatchSize: must be a whole number of uploads from 1 to 1000, got 2.5/,
      { editorRefuses: true },
    ],
    [
      'a misspelt setting',
      { processingTimeout: 3600 },
      /\(top level\): Unrecognized key: "processingTimeout"/,
      { editorRefuses: true },
    ],
    [
      'a wildcard origin',
      { allowedOrigins: ['https://app.example.com', '*'] },
      /allowedOrigins\.1: must be an https origin \(or http:\/\/localhost\) without path or wildcard, got "\*"/,
      { editorRefuses: true },
    ],
    [
      'a log retention CloudWatch does not offer',
      { logRetentionDays: 10 },
      /logRetentionDays: must be one of CloudWatch Logs' retentions: 1, 3, 5, .*, got 10/,
      { editorRefuses: true },
    ],
    [
      'reserved concurrency for an unknown function',
      { reservedConcurrency: { scanner: 2 } },
      /reservedConcurrency: Unrecognized key: "scanner"/,
      { editorRefuses: true },
    ],
    [
      'a reserved concurrency of 0',
      { reservedConcurrency: { validate: 0 } },
      /reservedConcurrency\.validate: must be a whole number, at least 1, got 0/,
      { editorRefuses: true },
    ],
    [
      'a plain-http JWT issuer',
      { jwtIssuer: { issuerUrl: 'http://login.example.com', audience: ['airlock'] } },
      /jwtIssuer\.issuerUrl: must be an https URL/,
      { editorRefuses: true },
    ],
    [
      'an unknown removal policy',
      { removalPolicy: 'snapshot' },
      /removalPolicy: .*"retain".*"destroy"/,
      { editorRefuses: true },
    ],
    [
      'a type policy allowing more than 5 GiB',
      {
        typePolicy: {
          'text/plain': { maxBytes: 6 * 1024 ** 3, detect: { kind: 'text' }, extensions: ['txt'] },
        },
      },
      /typePolicy: The type policy is invalid[\s\S]*maxBytes/,
      // The type policy's rules live in its own parser, not in the editor's schema.
      { editorRefuses: false },
    ],
    [
      'a type policy allowing an active-content check that does not apply to the type',
      {
        typePolicy: {
          'application/pdf': {
            maxBytes: 1024,
            detect: { kind: 'magic', mimes: ['application/pdf'] },
            extensions: ['pdf'],
            activeContent: { allow: ['ooxml.vba'] },
          },
        },
      },
      /typePolicy: The type policy is invalid[\s\S]*ooxml\.vba does not apply/,
      { editorRefuses: false },
    ],
    [
      'a digest interval of a day and a minute',
      { auditDigestIntervalMinutes: 1441 },
      /auditDigestIntervalMinutes: must be a whole number of minutes from 1 to 1440/,
      { editorRefuses: true },
    ],
    [
      'a digest lock mode Object Lock does not have',
      { auditDigestLockMode: 'LEGAL_HOLD' },
      /auditDigestLockMode: must be one of COMPLIANCE, GOVERNANCE/,
      { editorRefuses: true },
    ],
    [
      'a quarantine retention shorter than an upload and its processing',
      { quarantineRetentionDays: 1, processingTimeoutSeconds: 86_400 },
      /quarantineRetentionDays: must exceed uploadUrlTtlSeconds plus processingTimeoutSeconds/,
      // A rule across two fields: the loader checks it, JSON Schema cannot say it.
      { editorRefuses: false },
    ],
  ];

  test.each(cases)('%s', (_name, config, message, { editorRefuses }) => {
    // Act
    const refusal = (() => {
      try {
        parseAirlockConfig(config, 'my.config.json');
        return undefined;
      } catch (error) {
        return error;
      }
    })();

    // Assert
    expect(refusal).toBeInstanceOf(ConfigFileError);
    expect((refusal as Error).message).toMatch(/^my\.config\.json is invalid:/);
    expect((refusal as Error).message).toMatch(message);
    expect(editorCheck(config)).toBe(!editorRefuses);
  });

  test('every bad field is named, not only the first', () => {
    expect(() => parseAirlockConfig({ uploadUrlTtlSeconds: 0, downloadUrlTtlSeconds: 0 })).toThrow(
      /uploadUrlTtlSeconds: [^\n]+\n\s+downloadUrlTtlSeconds: /,
    );
  });
});

describe('reading the file', () => {
  test('a missing file is named', () => {
    const path = join(dir, 'missing.json');
    expect(() => loadAirlockConfig(path)).toThrow(`Cannot read the configuration file ${path}`);
  });

  test('a file that is not JSON is named', () => {
    const path = configFile('{ "uploadUrlTtlSeconds": 600, }');
    expect(() => loadAirlockConfig(path)).toThrow(`${path} is not valid JSON`);
  });

  test('a type policy that allows an active-content check reaches the settings', () => {
    const rule = {
      maxBytes: 1024,
      detect: { kind: 'magic', mimes: ['application/pdf'] },
      extensions: ['pdf'],
      activeContent: { allow: ['pdf.embedded-file'] },
    };
    const path = configFile(JSON.stringify({ typePolicy: { 'application/pdf': rule } }));
    expect(loadAirlockConfig(path).typePolicy).toEqual({ 'application/pdf': rule });
  });

  test('values come from the file', () => {
    const path = configFile(JSON.stringify({ uploadUrlTtlSeconds: 600, sweepBatchSize: 25 }));
    expect(loadAirlockConfig(path)).toMatchObject({ uploadUrlTtlSeconds: 600, sweepBatchSize: 25 });
  });
});

describe('the local runtime reads the same file', () => {
  const path = configFile(
    JSON.stringify({
      uploadUrlTtlSeconds: 600,
      processingTimeoutSeconds: 1800,
      sweepBatchSize: 25,
      allowedOrigins: ['https://app.example.com'],
    }),
  );

  test('AIRLOCK_CONFIG names the file; its settings reach the runtime and the functions', () => {
    // Act
    const settings = readLocalSettings({ AIRLOCK_CONFIG: path });

    // Assert
    expect(settings).toMatchObject({
      uploadUrlTtlSeconds: 600,
      processingTimeoutMs: 1_800_000,
      sweep: expect.objectContaining({ pageSize: 25 }) as unknown,
      allowedOrigins: ['https://app.example.com'],
    });
    expect(settings.functionEnvironment).toMatchObject({
      UPLOAD_URL_TTL_SECONDS: '600',
      PROCESSING_TIMEOUT_SECONDS: '1800',
      SWEEP_BATCH_SIZE: '25',
    });
  });

  test("the test overrides win over the file, and the processing one only reaches the runtime's sweeper", () => {
    // Act
    const settings = readLocalSettings({
      AIRLOCK_CONFIG: path,
      AIRLOCK_UPLOAD_URL_TTL_SECONDS: '60',
      AIRLOCK_PROCESSING_TIMEOUT_MS: '10000',
    });

    // Assert
    expect([settings.uploadUrlTtlSeconds, settings.processingTimeoutMs]).toEqual([60, 10_000]);
    expect(settings.functionEnvironment).toMatchObject({
      UPLOAD_URL_TTL_SECONDS: '60',
      PROCESSING_TIMEOUT_SECONDS: '1800',
    });
  });

  test("an invalid file stops the runtime with the loader's message", () => {
    const bad = configFile(JSON.stringify({ processingTimeoutSeconds: 60 }));
    expect(() => readLocalSettings({ AIRLOCK_CONFIG: bad })).toThrow(
      /processingTimeoutSeconds: must be a whole number of seconds from 1200/,
    );
  });

  test('an upload URL override beyond 15 minutes is refused', () => {
    expect(() => readLocalSettings({ AIRLOCK_CONFIG: path, AIRLOCK_UPLOAD_URL_TTL_SECONDS: '3600' })).toThrow(
      /AIRLOCK_UPLOAD_URL_TTL_SECONDS must be an integer from 1 to 900/,
    );
  });
});
