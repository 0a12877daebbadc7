import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ConfigFileError, parseAirlockConfig } from '../../../config/airlock-config.js';
import { SCHEMA_PATH } from '../../../config/schema.js';

const editorCheck = new Ajv2020({ allErrors: true }).compile(
  JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>,
);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airlock/billing-AbCdEf';
const endpoint = (overrides: Record<string, unknown> = {}) => ({
  id: 'billing',
  url: 'https://hooks.example.com/airlock',
  secret: { secretArn: ARN, file: 'webhooks/billing.secret' },
  ...overrides,
});

describe('webhooks in airlock.config.json', () => {
  test('an endpoint with filters, a secret for each runtime and a retry policy is read as written', () => {
    // Act
    const settings = parseAirlockConfig({
      webhooks: [endpoint({ statuses: ['PROCESSED', 'QUARANTINED'], owners: ['alice'] })],
      webhookRetry: { maxAttempts: 3, initialDelaySeconds: 1, maxDelaySeconds: 60 },
      events: { eventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/shared' },
    });

    // Assert
    expect(settings.webhooks).toEqual([
      endpoint({ statuses: ['PROCESSED', 'QUARANTINED'], owners: ['alice'] }),
    ]);
    expect(settings.webhookRetry).toEqual({ maxAttempts: 3, initialDelaySeconds: 1, maxDelaySeconds: 60 });
    expect(settings.events.eventBusArn).toMatch(/event-bus\/shared$/);
  });

  const refused: Array<[string, Record<string, unknown>, RegExp, boolean]> = [
    [
      'a secret in the file itself',
      { webhooks: [endpoint({ secret: 'whsec_abc' })] },
      /webhooks\.0\.secret/,
      true,
    ],
    [
      'a secret named nowhere',
      { webhooks: [endpoint({ secret: {} })] },
      /webhooks\.0\.secret: must name secretArn \(AWS\), file or env/,
      false,
    ],
    [
      'a secret value where an ARN belongs',
      { webhooks: [endpoint({ secret: { secretArn: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } })] },
      /webhooks\.0\.secret\.secretArn: must be a Secrets Manager secret ARN/,
      true,
    ],
    [
      'both a file and an environment variable',
      { webhooks: [endpoint({ secret: { file: 'a', env: 'B' } })] },
      /names either file or env/,
      false,
    ],
    [
      'an ftp URL',
      { webhooks: [endpoint({ url: 'ftp://hooks.example.com/' })] },
      /webhooks\.0\.url: must be an https URL/,
      true,
    ],
    [
      'an id with capitals',
      { webhooks: [endpoint({ id: 'Billing' })] },
      /webhooks\.0\.id: must be 1–63 lowercase/,
      true,
    ],
    [
      'a status that is not terminal',
      { webhooks: [endpoint({ statuses: ['PROCESSING'] })] },
      /webhooks\.0\.statuses\.0/,
      true,
    ],
    [
      'two endpoints with one id',
      { webhooks: [endpoint(), endpoint()] },
      /webhooks: endpoint ids must be unique/,
      false,
    ],
    [
      'an unknown endpoint field',
      { webhooks: [endpoint({ headers: { a: 'b' } })] },
      /Unrecognized key: "headers"/,
      true,
    ],
    [
      'a retry pause longer than SQS can hide a message',
      { webhookRetry: { maxDelaySeconds: 43_201 } },
      /webhookRetry\.maxDelaySeconds: must be a whole number of seconds from 1 to 43200/,
      true,
    ],
    [
      'a longest pause shorter than the first',
      { webhookRetry: { initialDelaySeconds: 60, maxDelaySeconds: 30 } },
      /maxDelaySeconds must be at least initialDelaySeconds/,
      false,
    ],
    ['an event bus that is not an ARN', { events: { eventBusArn: 'default' } }, /events\.eventBusArn/, true],
  ];

  test.each(refused)('refuses %s, naming the field', (_name, config, message, editorRefuses) => {
    // Act
    let error: unknown;
    try {
      parseAirlockConfig(config, 'my.config.json');
    } catch (caught) {
      error = caught;
    }

    // Assert
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as Error).message).toMatch(message);
    expect(editorCheck(config)).toBe(!editorRefuses);
  });
});
