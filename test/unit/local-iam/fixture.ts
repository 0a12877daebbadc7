import type {
  DeployedFunction,
  DeployedPolicies,
  PolicyDocument,
  Principal,
} from '../../../local/iam/roles.js';

/** A small deployment shaped like Airlock's: role policies and a bucket policy with denies. */
export const WHERE = { account: '000000000000', region: 'us-east-1', bucket: 'uploads' } as const;
export const TABLE = `arn:aws:dynamodb:us-east-1:000000000000:table/records`;
export const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:pipeline';
export const roleArn = (name: string) => `arn:aws:iam::000000000000:role/airlock-${name}`;

const allow = (Action: string | string[], Resource: string | string[], Condition?: unknown) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});

function fn(name: string, statements: Array<Record<string, unknown>>, timeoutSeconds = 30): DeployedFunction {
  return {
    name,
    roleArn: roleArn(name),
    sessionArn: `arn:aws:sts::000000000000:assumed-role/airlock-${name}/${name}`,
    policies: [{ name: `${name}-policy`, document: { Version: '2012-10-17', Statement: statements } }],
    timeoutSeconds,
    memoryMb: 256,
  };
}

export const BUCKET_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:*',
      Resource: ['arn:aws:s3:::uploads', 'arn:aws:s3:::uploads/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    {
      Sid: 'DenyReadingUnvalidatedObjects',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: ['arn:aws:s3:::uploads/quarantine/*'],
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [roleArn('validate'), roleArn('promote')] } },
    },
  ],
};

export function deployment(overrides: Partial<Record<string, DeployedFunction>> = {}): DeployedPolicies {
  const functions: DeployedFunction[] = [
    fn('validate', [allow('s3:GetObjectVersion', 'arn:aws:s3:::uploads/quarantine/*')], 900),
    fn('promote', [
      allow('s3:GetObjectVersion', 'arn:aws:s3:::uploads/quarantine/*'),
      allow(['s3:PutObject', 's3:GetObject'], 'arn:aws:s3:::uploads/clean/*'),
    ]),
    fn('get-upload', [
      allow('s3:GetObject', 'arn:aws:s3:::uploads/clean/*'),
      allow('dynamodb:GetItem', TABLE),
    ]),
    fn('create-upload', [
      allow('s3:PutObject', 'arn:aws:s3:::uploads/quarantine/*'),
      allow('dynamodb:PutItem', TABLE),
    ]),
    // Wider than it should be: the bucket policy must still refuse it what it denies.
    fn('leaky', [allow('s3:*', 'arn:aws:s3:::uploads/*')]),
    fn('sweeper', [
      allow('s3:ListBucketVersions', 'arn:aws:s3:::uploads', {
        StringLike: { 's3:prefix': ['quarantine/*'] },
      }),
      allow('dynamodb:Query', `${TABLE}/index/byStatus`),
      allow('states:StartExecution', STATE_MACHINE),
    ]),
  ];
  const stateMachine: Principal = {
    name: 'state-machine',
    roleArn: roleArn('state-machine'),
    sessionArn: 'arn:aws:sts::000000000000:assumed-role/airlock-state-machine/state-machine',
    policies: [
      {
        name: 'invoke',
        document: {
          Version: '2012-10-17',
          Statement: [
            allow('lambda:InvokeFunction', 'arn:aws:lambda:us-east-1:000000000000:function:airlock-validate'),
          ],
        },
      },
    ],
  };
  return {
    functions: new Map(functions.map((f) => [f.name, overrides[f.name] ?? f])),
    bucketPolicy: BUCKET_POLICY,
    stateMachine,
    eventsRule: undefined,
    outcomeEventBus: undefined,
  };
}
