import { PolicyEvaluator } from '../../../local/iam/evaluator.js';
import { iamRequestsFor } from '../../../local/iam/requests.js';
import { deployment, WHERE } from './fixture.js';

const A = '01JNB8Y6Z4Q2W7E5R3T9K1M0PA';
const B = '01JNB8Y6Z4Q2W7E5R3T9K1M0PB';
const read = (key: string) =>
  iamRequestsFor('s3', 'GetObject', { Bucket: 'uploads', Key: key, VersionId: 'v1' }, WHERE)[0]!;

describe('local IAM evaluation (iam-simulate)', () => {
  it('allows a granted request, denies an ungranted one and says why, as AWS words it', async () => {
    // Arrange
    const evaluator = new PolicyEvaluator(deployment(), WHERE);
    const validate = deployment().functions.get('validate')!;
    // Act
    const granted = await evaluator.decide(validate, read(`quarantine/${A}`));
    const ungranted = await evaluator.decide(validate, read(`clean/${A}`));
    // Assert
    expect(granted).toEqual({ allowed: true });
    expect(ungranted).toEqual({
      allowed: false,
      because: 'because no identity-based policy allows the s3:GetObjectVersion action',
    });
  });

  it("applies the bucket policy's explicit deny over an identity allow, keyed on aws:PrincipalArn", async () => {
    const evaluator = new PolicyEvaluator(deployment(), WHERE);
    const leaky = deployment().functions.get('leaky')!;
    expect(await evaluator.decide(leaky, read(`quarantine/${A}`))).toEqual({
      allowed: false,
      because: 'with an explicit deny in a resource-based policy',
    });
    expect(await evaluator.decide(leaky, read(`clean/${A}`))).toEqual({ allowed: true });
  });

  it('tells upload ids apart when a policy names one (its memo of decisions never merges them then)', async () => {
    // Arrange: a role allowed to read one upload only.
    const only = deployment().functions.get('validate')!;
    const narrowed = {
      ...only,
      policies: [
        {
          name: 'one',
          document: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 's3:GetObjectVersion',
                Resource: `arn:aws:s3:::uploads/quarantine/${A}`,
              },
            ],
          },
        },
      ],
    };
    const evaluator = new PolicyEvaluator(deployment({ validate: narrowed }), WHERE);
    // Act
    const first = await evaluator.decide(narrowed, read(`quarantine/${A}`));
    const other = await evaluator.decide(narrowed, read(`quarantine/${B}`));
    // Assert
    expect([first.allowed, other.allowed]).toEqual([true, false]);
  });

  it('gives the same answer for every upload id when no policy names one', async () => {
    const evaluator = new PolicyEvaluator(deployment(), WHERE);
    const validate = deployment().functions.get('validate')!;
    const decisions = await Promise.all(
      [A, B].map((id) => evaluator.decide(validate, read(`quarantine/${id}`))),
    );
    expect(decisions).toEqual([{ allowed: true }, { allowed: true }]);
  });

  it('evaluates the state machine role for task invocations', async () => {
    const deployed = deployment();
    const evaluator = new PolicyEvaluator(deployed, WHERE);
    const invoke = (name: string) => ({
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:us-east-1:000000000000:function:airlock-${name}`,
      context: {},
    });
    expect((await evaluator.decide(deployed.stateMachine, invoke('validate'))).allowed).toBe(true);
    expect((await evaluator.decide(deployed.stateMachine, invoke('redrive'))).allowed).toBe(false);
  });
});
