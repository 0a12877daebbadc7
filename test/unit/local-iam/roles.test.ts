import { readDeployedPolicies } from '../../../local/iam/roles.js';
import type { CfnTemplate } from '../../../local/iam/template.js';

const NAMES = {
  account: '000000000000',
  region: 'us-east-1',
  bucket: 'airlock-local',
  table: 'airlock-table',
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:airlock-pipeline',
  functionArn: (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:airlock-${name}`,
};

const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });
const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });

/** A template shaped as CDK writes Airlock's, with logical ids no code may assume. */
function template(extra: CfnTemplate['Resources'] = {}): CfnTemplate {
  return {
    Resources: {
      B1: { Type: 'AWS::S3::Bucket' },
      T1: { Type: 'AWS::DynamoDB::Table' },
      SM: { Type: 'AWS::StepFunctions::StateMachine', Properties: { RoleArn: getAtt('SMRole') } },
      SMRole: { Type: 'AWS::IAM::Role' },
      SMPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'SMRole' }],
          PolicyDocument: {
            Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: getAtt('F1') }],
          },
        },
      },
      F1: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Description: 'Airlock redrive',
          Role: getAtt('R1'),
          Timeout: 30,
          MemorySize: 256,
          Environment: {
            Variables: {
              BUCKET_NAME: { Ref: 'B1' },
              TABLE_NAME: { Ref: 'T1' },
              STATE_MACHINE_ARN: { Ref: 'SM' },
            },
          },
        },
      },
      Other: {
        Type: 'AWS::Lambda::Function',
        Properties: { Description: 'Something else', Role: getAtt('R2') },
      },
      R1: { Type: 'AWS::IAM::Role' },
      R2: { Type: 'AWS::IAM::Role' },
      Logs: { Type: 'AWS::Logs::LogGroup' },
      P1: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'R1' }],
          PolicyDocument: {
            Statement: [
              { Effect: 'Allow', Action: 'dynamodb:Query', Resource: join(getAtt('T1'), '/index/byStatus') },
              {
                Effect: 'Allow',
                Action: 'states:DescribeExecution',
                Resource: join(
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':states:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':execution:',
                  getAtt('SM', 'Name'),
                  ':*',
                ),
              },
              { Effect: 'Allow', Action: 's3:ListBucketVersions', Resource: { 'Fn::Sub': '${B1.Arn}' } },
              { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: getAtt('Logs') },
            ],
          },
        },
      },
      BP: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: { Ref: 'B1' },
          PolicyDocument: {
            Statement: [
              {
                Effect: 'Deny',
                Principal: { AWS: '*' },
                Action: 's3:GetObject',
                Resource: join(getAtt('B1'), '/q/*'),
                Condition: { ArnNotEquals: { 'aws:PrincipalArn': [getAtt('R1')] } },
              },
            ],
          },
        },
      },
      ...extra,
    },
  };
}

describe('local IAM: the synthesized template, read as the runtime enforces it', () => {
  it("finds each Airlock function by its description, with its role's policies, timeout and memory size", () => {
    // Act
    const deployed = readDeployedPolicies(template(), NAMES);
    // Assert
    expect([...deployed.functions.keys()]).toEqual(['redrive']);
    const redrive = deployed.functions.get('redrive');
    expect(redrive).toMatchObject({
      roleArn: 'arn:aws:iam::000000000000:role/airlock-redrive',
      sessionArn: 'arn:aws:sts::000000000000:assumed-role/airlock-redrive/redrive',
      timeoutSeconds: 30,
      memoryMb: 256,
    });
    expect(redrive?.policies.map((policy) => policy.document.Statement.map((s) => s.Resource))).toEqual([
      [
        'arn:aws:dynamodb:us-east-1:000000000000:table/airlock-table/index/byStatus',
        'arn:aws:states:us-east-1:000000000000:execution:airlock-pipeline:*',
        'arn:aws:s3:::airlock-local',
        'arn:aws:cloudformation:us-east-1:000000000000:stack/Airlock/Logs/Arn',
      ],
    ]);
  });

  it("resolves the bucket policy (its denies name the roles' local ARNs) and the state machine's role", () => {
    const deployed = readDeployedPolicies(template(), NAMES);
    expect(deployed.bucketPolicy?.Statement[0]).toMatchObject({
      Resource: 'arn:aws:s3:::airlock-local/q/*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': ['arn:aws:iam::000000000000:role/airlock-redrive'] } },
    });
    expect(deployed.stateMachine.policies[0]?.document.Statement[0]?.Resource).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:airlock-redrive',
    );
  });

  it('refuses what it cannot emulate: a managed policy outside the template, an unknown reference', () => {
    expect(() =>
      readDeployedPolicies(
        template({
          R1: {
            Type: 'AWS::IAM::Role',
            Properties: { ManagedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
          },
        }),
        NAMES,
      ),
    ).toThrow(/managed policies/);
    const broken = template();
    const p1 = broken.Resources.P1?.Properties as {
      PolicyDocument: { Statement: Array<Record<string, unknown>> };
    };
    p1.PolicyDocument.Statement.push({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: getAtt('Nowhere'),
    });
    expect(() => readDeployedPolicies(broken, NAMES)).toThrow(/unknown resource Nowhere/);
  });
});
