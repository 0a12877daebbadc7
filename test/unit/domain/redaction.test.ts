import {
  MAX_CAUSE_LENGTH,
  executionReference,
  redactSecrets,
  scrubForAuditors,
  summarizeCause,
} from '../../../functions/domain/redaction.js';

const SIGNATURE = '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD';
const CREDENTIAL = 'ASIAXAMPLEKEY1234567/20250101/us-east-1/s3/aws4_request';
const PRESIGNED_URL =
  `https://airlock-bucket.s3.us-east-1.amazonaws.com/clean/01JBZ8Q6W0V8M2YQH3KX5T7N9R` +
  `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${encodeURIComponent(CREDENTIAL)}` +
  `&X-Amz-Date=20250101T000000Z&X-Amz-Expires=300&X-Amz-Security-Token=${encodeURIComponent(SESSION_TOKEN)}` +
  `&X-Amz-Signature=${SIGNATURE}&X-Amz-SignedHeaders=host`;
// header.payload.signature of a real-looking HS256 JWT ({"alg":"HS256","typ":"JWT"} / {"sub":"user-1"}).
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEifQ.Qm9ndXNTaWduYXR1cmVCeXRlczEyMzQ1Njc4OTA';

/** None of the secret material may survive. */
function expectNoSecrets(text: string): void {
  expect(text).not.toContain(SIGNATURE);
  expect(text).not.toContain(SESSION_TOKEN);
  expect(text).not.toContain(encodeURIComponent(SESSION_TOKEN));
  expect(text).not.toContain('ASIAXAMPLEKEY1234567');
  expect(text).not.toContain(JWT);
  expect(text).not.toContain('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9');
  expect(text).not.toMatch(/https?:\/\/\S*\?/);
}

describe('redactSecrets', () => {
  it('replaces a presigned URL entirely, keeping the text around it', () => {
    // Act
    const redacted = redactSecrets(`GetObject failed for ${PRESIGNED_URL} with 403`);

    // Assert
    expect(redacted).toBe('GetObject failed for [url redacted] with 403');
  });

  it('replaces a presigned http URL inside quotes', () => {
    // Act
    const redacted = redactSecrets(`{"url":"${PRESIGNED_URL.replace('https', 'http')}","status":403}`);

    // Assert
    expect(redacted).toBe('{"url":"[url redacted]","status":403}');
  });

  it('keeps a URL without a query string (no credentials in it)', () => {
    expect(redactSecrets('endpoint https://s3.us-east-1.amazonaws.com/bucket unreachable')).toBe(
      'endpoint https://s3.us-east-1.amazonaws.com/bucket unreachable',
    );
  });

  it('redacts SigV4 query parameters outside a URL, in any case', () => {
    // Arrange
    const text =
      `X-Amz-Signature=${SIGNATURE}&X-Amz-Credential=${CREDENTIAL}` +
      ` x-amz-security-token=${SESSION_TOKEN} X-Amz-Date=20250101T000000Z`;

    // Act
    const redacted = redactSecrets(text);

    // Assert
    expect(redacted).toBe(
      'X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted] x-amz-security-token=[redacted] X-Amz-Date=20250101T000000Z',
    );
    expectNoSecrets(redacted);
  });

  it('redacts SigV4 values written as headers or JSON members', () => {
    // Arrange
    const header = `x-amz-security-token: ${SESSION_TOKEN}`;
    const json = JSON.stringify({ 'X-Amz-Security-Token': SESSION_TOKEN, 'X-Amz-Signature': SIGNATURE });

    // Act
    const redactedHeader = redactSecrets(header);
    const redactedJson = redactSecrets(json);

    // Assert
    expect(redactedHeader).toBe('x-amz-security-token: [redacted]');
    expect(JSON.parse(redactedJson)).toEqual({
      'X-Amz-Security-Token': '[redacted]',
      'X-Amz-Signature': '[redacted]',
    });
    expectNoSecrets(redactedHeader + redactedJson);
  });

  it('redacts the credential and signature of a SigV4 Authorization header', () => {
    // Arrange
    const header = `Authorization: AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=${SIGNATURE}`;

    // Act
    const redacted = redactSecrets(header);

    // Assert
    expect(redacted).toBe(
      'Authorization: AWS4-HMAC-SHA256 Credential=[redacted], SignedHeaders=host;x-amz-date, Signature=[redacted]',
    );
  });

  it('redacts bearer tokens', () => {
    // Act
    const redacted = redactSecrets('request had Authorization: Bearer abc.DEF-123_x/y+z= and failed');

    // Assert
    expect(redacted).toBe('request had Authorization: Bearer [redacted] and failed');
  });

  it('redacts a bearer JWT as a bearer token', () => {
    // Act
    const redacted = redactSecrets(`authorization: bearer ${JWT}`);

    // Assert
    expect(redacted).toBe('authorization: Bearer [redacted]');
    expectNoSecrets(redacted);
  });

  it('redacts a JWT-looking string on its own', () => {
    // Act
    const redacted = redactSecrets(`token ${JWT} was rejected`);

    // Assert
    expect(redacted).toBe('token [token redacted] was rejected');
  });

  it('redacts a JWT with an empty signature (alg none)', () => {
    // Act
    const redacted = redactSecrets('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEifQ. accepted');

    // Assert
    expect(redacted).toBe('[token redacted] accepted');
  });

  it('leaves ordinary error text alone', () => {
    // Arrange
    const text =
      'ConditionalCheckFailedException: The conditional request failed (status PROCESSING, size 1234)';

    // Act & Assert
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts every secret of a mixed cause at once', () => {
    // Arrange
    const text = [
      `signed ${PRESIGNED_URL}`,
      `X-Amz-Security-Token=${SESSION_TOKEN}`,
      `Authorization: Bearer ${JWT}`,
      `id_token=${JWT}`,
    ].join('\n');

    // Act
    const redacted = redactSecrets(text);

    // Assert
    expectNoSecrets(redacted);
    expect(redacted.split('\n')).toEqual([
      'signed [url redacted]',
      'X-Amz-Security-Token=[redacted]',
      'Authorization: Bearer [redacted]',
      'id_token=[token redacted]',
    ]);
  });
});

describe('summarizeCause', () => {
  it('redacts a string cause', () => {
    expect(summarizeCause(`S3 said no to ${PRESIGNED_URL}`)).toBe('S3 said no to [url redacted]');
  });

  it('serializes and redacts an object cause, as Step Functions passes it', () => {
    // Arrange
    const cause = {
      errorType: 'AccessDenied',
      errorMessage: `denied: ${PRESIGNED_URL}`,
      token: `Bearer ${JWT}`,
    };

    // Act
    const summary = summarizeCause(cause);

    // Assert
    expectNoSecrets(summary);
    expect(JSON.parse(summary)).toEqual({
      errorType: 'AccessDenied',
      errorMessage: 'denied: [url redacted]',
      token: 'Bearer [redacted]',
    });
  });

  it('turns a missing cause into an empty JSON string', () => {
    expect(summarizeCause(undefined)).toBe('""');
    expect(summarizeCause(null)).toBe('""');
  });

  it(`keeps a cause of exactly ${MAX_CAUSE_LENGTH} characters whole`, () => {
    // Arrange
    const cause = 'x'.repeat(MAX_CAUSE_LENGTH);

    // Act & Assert
    expect(summarizeCause(cause)).toBe(cause);
  });

  it(`truncates a long cause to ${MAX_CAUSE_LENGTH} characters and marks the cut`, () => {
    // Arrange
    const cause = `${'stack frame\n'.repeat(1000)}`;

    // Act
    const summary = summarizeCause(cause);

    // Assert
    expect(MAX_CAUSE_LENGTH).toBe(2000);
    expect(summary).toHaveLength(MAX_CAUSE_LENGTH + 1);
    expect(summary.endsWith('…')).toBe(true);
    expect(summary.slice(0, MAX_CAUSE_LENGTH)).toBe(cause.slice(0, MAX_CAUSE_LENGTH));
  });

  it('never cuts a character in half when the cut falls inside a surrogate pair', () => {
    // Arrange: "🎉" is two UTF-16 units, the first one at index MAX_CAUSE_LENGTH - 1.
    const cause = `${'x'.repeat(MAX_CAUSE_LENGTH - 1)}🎉 and more`;

    // Act
    const summary = summarizeCause(cause);

    // Assert
    expect(summary).toBe(`${'x'.repeat(MAX_CAUSE_LENGTH - 1)}…`);
    expect(() => encodeURIComponent(summary)).not.toThrow();
  });

  it('redacts before truncating, so a secret at the cut cannot leave a partial credential', () => {
    // Arrange: the URL starts just before the cut and ends after it.
    const cause = `${'x'.repeat(MAX_CAUSE_LENGTH - 20)} ${PRESIGNED_URL}`;

    // Act
    const summary = summarizeCause(cause);

    // Assert
    expect(summary).toBe(`${'x'.repeat(MAX_CAUSE_LENGTH - 20)} [url redacted]`);
    expect(summary).not.toContain('X-Amz');
  });
});

describe('scrubForAuditors', () => {
  it('keeps the message of a Step Functions cause and removes its ARNs, account ids and stack', () => {
    const cause =
      'An error occurred while executing the state Validate (arn:aws:states:us-east-1:210987654321:stateMachine:Pipe).\n' +
      '    at Runtime.handler (file:///var/task/index.mjs:10:5)\n' +
      'Account 210987654321 denied';
    const scrubbed = scrubForAuditors(cause);
    expect(scrubbed).toBe(
      'An error occurred while executing the state Validate ([arn]). Account [account] denied',
    );
  });

  it('cuts long causes to 500 characters', () => {
    expect(scrubForAuditors('x'.repeat(2000))).toHaveLength(501);
  });
});

describe('executionReference', () => {
  it.each([
    ['arn:aws:states:us-east-1:123456789012:execution:Machine-1:run-1', 'run-1'],
    ['arn:aws-cn:states:cn-north-1:123456789012:express:Machine:run-2:3f2a', 'run-2:3f2a'],
    ['local-run-3', 'local-run-3'],
  ])('names %s as %s', (id, reference) => {
    expect(executionReference(id)).toBe(reference);
  });
});
