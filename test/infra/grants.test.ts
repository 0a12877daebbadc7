import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AirlockStack } from '../../infra/airlock-stack.js';
import { PIPELINE_FUNCTIONS, type PipelineFunction } from '../../infra/upload-pipeline.js';
import { PolicyEvaluator } from '../../local/iam/evaluator.js';
import { iamRequestsFor, type IamRequest } from '../../local/iam/requests.js';
import {
  readDeployedPolicies,
  type DeployedFunction,
  type DeployedPolicies,
  type Principal,
} from '../../local/iam/roles.js';
import type { CfnTemplate } from '../../local/iam/template.js';
import {
  BUCKET,
  CENSUS_WEBHOOK,
  commandCensus,
  STATE_MACHINE_ARN,
  TABLE_NAME,
  type SentCall,
} from './support/census.js';
import { logicalIdOf, newApp } from './support/synth.js';

/**
 * Least privilege, derived rather than restated: the requests each function's handler makes on
 * every path (its commands, mapped to IAM as AWS authorizes them: local/iam/requests.ts) must
 * all be allowed by its role as CDK synthesizes it, with the bucket policy; and each action its
 * role grants must allow at least one of them. The same evaluator enforces these policies on the
 * local runtime.
 */

// Arrange (once): the default stack, as the local runtime synthesizes it (no account or region),
// with one webhook endpoint, so that the delivery function is in it too.
const stack = new AirlockStack(newApp(), 'Airlock', { pipeline: { webhooks: [CENSUS_WEBHOOK] } });
const template = Template.fromStack(stack).toJSON() as CfnTemplate;
const webhookQueue = stack.pipeline.events.webhooks!.queue;
const where = { account: '000000000000', region: 'us-east-1', bucket: BUCKET };
const deployed = readDeployedPolicies(template, {
  ...where,
  table: TABLE_NAME,
  stateMachineArn: STATE_MACHINE_ARN,
  functionArn: (name) => `arn:aws:lambda:us-east-1:000000000000:function:airlock-${name}`,
});
const evaluator = new PolicyEvaluator(deployed, where);
let census: Map<PipelineFunction, SentCall[]>;
beforeAll(async () => {
  census = await commandCensus({
    webhookQueueUrl: `https://sqs.us-east-1.amazonaws.com/000000000000/${logicalIdOf(webhookQueue)}`,
    eventBusName: logicalIdOf(stack.pipeline.events.bus),
    digestKeyArn: `arn:aws:kms:us-east-1:000000000000:key/${logicalIdOf(stack.pipeline.auditDigests.key)}`,
  });
});

const requestsOf = (name: PipelineFunction): IamRequest[] =>
  (census.get(name) ?? []).flatMap((call) => iamRequestsFor(call.service, call.command, call.input, where));
const principal = (name: string): DeployedFunction => {
  const found = deployed.functions.get(name);
  if (found === undefined) throw new Error(`No ${name} function in the template`);
  return found;
};

/**
 * Grants no SDK call of a handler needs: the Lambda runtime writes the function's logs and
 * X-Ray segments itself, and sends a failed asynchronous invocation (the scan-result intake's) to
 * its on-failure destination.
 */
const RUNTIME_ACTIONS = /^(logs|xray):|^sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)$/;

/** Grants no request needs that are known and accepted: none. */
const KNOWN_UNUSED: Partial<Record<PipelineFunction, string[]>> = {};

describe('least privilege, derived from what each handler sends', () => {
  test('every pipeline function is in the template, with its role, timeout and memory size', () => {
    const found = [...deployed.functions.values()].map((fn) => [
      fn.name,
      fn.roleArn,
      fn.timeoutSeconds > 0,
      fn.memoryMb > 0,
    ]);
    expect(found.sort()).toEqual(
      [...PIPELINE_FUNCTIONS]
        .sort()
        .map((name) => [name, `arn:aws:iam::000000000000:role/airlock-${name}`, true, true]),
    );
  });

  test.each([...PIPELINE_FUNCTIONS])(
    '%s: every request it makes is allowed by its role and the bucket policy',
    async (name) => {
      // Act
      const requests = requestsOf(name);
      const denied: string[] = [];
      for (const request of requests) {
        const decision = await evaluator.decide(principal(name), request);
        if (!decision.allowed) denied.push(`${request.action} on ${request.resource}: ${decision.because}`);
      }

      // Assert
      expect(requests.length).toBeGreaterThan(0);
      expect(denied).toEqual([]);
    },
  );

  test.each([...PIPELINE_FUNCTIONS])(
    '%s: every action its role grants is used by one of its requests',
    async (name) => {
      // Act: each granted action, alone, must allow one of the requests.
      const unused: string[] = [];
      for (const grant of grantsOf(principal(name))) {
        const alone = onlyThisGrant(deployed, principal(name), grant.statement);
        const requests = requestsOf(name).filter((request) => request.action === grant.action);
        let used = false;
        for (const request of requests) used ||= (await alone.decide(principal(name), request)).allowed;
        if (!used) unused.push(`${grant.action} on ${[grant.statement.Resource].flat().join(', ')}`);
      }

      // Assert
      expect(unused).toEqual(KNOWN_UNUSED[name] ?? []);
    },
  );
});

interface Grant {
  action: string;
  statement: Record<string, unknown>;
}

/** The role's Allow statements split into one per action, less the runtime's own. */
function grantsOf(of: Principal): Grant[] {
  return of.policies.flatMap((policy) =>
    policy.document.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) =>
      [statement.Action]
        .flat()
        .map(String)
        .filter((action) => !RUNTIME_ACTIONS.test(action))
        .map((action) => ({ action, statement: { ...statement, Action: action } })),
    ),
  );
}

/** An evaluator for which the principal's role has this one statement and nothing else. */
function onlyThisGrant(
  all: DeployedPolicies,
  of: Principal,
  statement: Record<string, unknown>,
): PolicyEvaluator {
  const single = {
    ...of,
    policies: [{ name: 'one-grant', document: { Version: '2012-10-17', Statement: [statement] } }],
  };
  const functions = new Map(all.functions);
  functions.set(of.name, { ...principal(of.name), ...single });
  return new PolicyEvaluator({ ...all, functions }, where);
}

describe('the customer-managed key, derived from what each handler sends', () => {
  // Arrange (once): the same stack with a customer-managed key for the bucket and the table.
  const app = newApp();
  const key = new kms.Key(new Stack(app, 'Keys'), 'Key', { enableKeyRotation: true });
  const keyed = Template.fromStack(
    new AirlockStack(app, 'Airlock', { pipeline: { encryptionKey: key, webhooks: [CENSUS_WEBHOOK] } }),
  );
  const resources = keyed.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;

  /** The kms: actions of a function's role, as synthesized. */
  const keyActionsOf = (name: PipelineFunction): string[] => {
    const [fnId] = Object.entries(resources).find(
      ([, resource]) =>
        resource.Type === 'AWS::Lambda::Function' && resource.Properties['Description'] === `Airlock ${name}`,
    ) ?? [undefined];
    const roleId = (resources[fnId ?? '']?.Properties['Role'] as { 'Fn::GetAtt'?: [string] } | undefined)?.[
      'Fn::GetAtt'
    ]?.[0];
    return (
      Object.values(resources)
        .filter(
          (resource) =>
            resource.Type === 'AWS::IAM::Policy' &&
            (resource.Properties['Roles'] as Array<{ Ref?: string }>).some((role) => role.Ref === roleId),
        )
        .flatMap(
          (policy) =>
            (
              policy.Properties['PolicyDocument'] as {
                Statement: Array<{ Action: unknown; Resource: unknown }>;
              }
            ).Statement,
        )
        // The digest signing key's uses (kms:Sign, kms:GetPublicKey) are another key's, not storage's.
        .filter((statement) => !JSON.stringify(statement.Resource).includes('AuditDigestKey'))
        .flatMap((statement) => [statement.Action].flat().map(String))
        .filter((action) => action.startsWith('kms:'))
        .sort()
    );
  };

  /**
   * What S3 and DynamoDB need of the key on a caller's behalf: a write needs a data key and to read
   * it back (kms:GenerateDataKey, kms:Decrypt), a read needs kms:Decrypt (S3's documented key
   * permissions for PutObject, GetObject and CopyObject; DynamoDB's envelope encryption).
   */
  const KEY_NEEDS: Record<string, string[]> = {
    's3:PutObject': ['kms:Decrypt', 'kms:GenerateDataKey'],
    'dynamodb:PutItem': ['kms:Decrypt', 'kms:GenerateDataKey'],
    'dynamodb:UpdateItem': ['kms:Decrypt', 'kms:GenerateDataKey'],
    's3:GetObject': ['kms:Decrypt'],
    's3:GetObjectVersion': ['kms:Decrypt'],
    'dynamodb:GetItem': ['kms:Decrypt'],
    'dynamodb:BatchGetItem': ['kms:Decrypt'],
    'dynamodb:Query': ['kms:Decrypt'],
  };

  test.each([...PIPELINE_FUNCTIONS])(
    '%s: exactly the key use its requests need (never Encrypt or ReEncrypt)',
    (name) => {
      // Act
      const needed = [
        ...new Set(requestsOf(name).flatMap((request) => KEY_NEEDS[request.action] ?? [])),
      ].sort();

      // Assert
      expect(keyActionsOf(name)).toEqual(needed);
    },
  );
});
