import { synthAirlock } from './support/synth.js';

/**
 * The CloudFormation logical ids of every resource that holds data or that something outside the
 * stack addresses. CloudFormation identifies a resource by its logical id, which CDK derives from
 * the construct path: if one of these changes (a construct moved under a new parent, renamed), a
 * deployment of an existing stack replaces the resource. RETAIN then orphans the old bucket, table,
 * user pool or log group and creates an empty one; a new HttpApi, stage or distribution gets a new
 * URL; a new pool client a new client id; a new function a new name (the redrive function is
 * invoked by name) and in-flight executions would call deleted functions.
 *
 * These are the ids of deployed stacks: change one only together with a migration
 * (`cdk refactor`, or an import of the old resource).
 */
const PINNED: ReadonlyArray<readonly [type: string, logicalId: string]> = [
  // Data.
  ['AWS::S3::Bucket', 'PipelineUploadsBucket2A9E99B8'],
  ['AWS::S3::Bucket', 'PipelineAccessLogsBucket31EC11F4'],
  ['AWS::S3::Bucket', 'PipelineConsoleBucket954AA96F'],
  ['AWS::DynamoDB::Table', 'PipelineTable0C1A5F45'],
  ['AWS::SQS::Queue', 'PipelineEventDeadLetterQueueD17B74DD'],
  ['AWS::Logs::LogGroup', 'PipelineStateMachineLogsC1114D0C'],
  ['AWS::Logs::LogGroup', 'PipelineApiAccessLogsB823281D'],
  ['AWS::Logs::LogGroup', 'PipelineCreateUploadLogs3911D99F'],
  ['AWS::Logs::LogGroup', 'PipelineGetUploadLogs12318139'],
  ['AWS::Logs::LogGroup', 'PipelineListUploadsLogs7673E2A0'],
  ['AWS::Logs::LogGroup', 'PipelineGetUploadEventsLogs516070AE'],
  ['AWS::Logs::LogGroup', 'PipelineAuditUploadsLogsC2C279BF'],
  ['AWS::Logs::LogGroup', 'PipelineClaimLogs3948E8C6'],
  ['AWS::Logs::LogGroup', 'PipelineValidateLogs4840CE46'],
  ['AWS::Logs::LogGroup', 'PipelinePromoteLogs7911C862'],
  ['AWS::Logs::LogGroup', 'PipelineRejectLogs1E48A68B'],
  ['AWS::Logs::LogGroup', 'PipelineRecordOutcomeLogs96ABC255'],
  ['AWS::Logs::LogGroup', 'PipelineReleaseQuarantineLogs3F195258'],
  ['AWS::Logs::LogGroup', 'PipelineSweeperLogsFFFD5D97'],
  ['AWS::Logs::LogGroup', 'PipelineRedriveLogs89682C55'],
  ['AWS::Logs::LogGroup', 'PipelineScanLogsAE67177D'],
  ['AWS::Logs::LogGroup', 'PipelineScanResultLogs380350C7'],
  ['AWS::Logs::LogGroup', 'PipelineRescanLogs9EBEFAD7'],
  ['AWS::Logs::LogGroup', 'PipelinePublishOutcomeLogs59615FCF'],
  // Identity: users and their groups, the app client id and the hosted UI's domain.
  ['AWS::Cognito::UserPool', 'PipelineUserPoolFE485DF7'],
  ['AWS::Cognito::UserPoolClient', 'PipelineUserPoolConsoleClientFC372D40'],
  ['AWS::Cognito::UserPoolDomain', 'PipelineUserPoolHostedUi1D000D23'],
  ['AWS::Cognito::UserPoolGroup', 'PipelineAuditorsGroup1EE4E14B'],
  // Addressed from outside: the API's URL, the console's URL, the state machine's executions.
  ['AWS::ApiGatewayV2::Api', 'PipelineHttpApiE99D43B5'],
  ['AWS::ApiGatewayV2::Stage', 'PipelineApiStage023BC8DC'],
  ['AWS::CloudFront::Distribution', 'PipelineConsoleDistributionB7A63701'],
  ['AWS::StepFunctions::StateMachine', 'PipelineStateMachine1814BD05'],
  // Consumers' rules name the outcome-event bus.
  ['AWS::Events::EventBus', 'PipelineOutcomeEventBus0E749213'],
  // Functions: running executions call them by ARN; operators invoke redrive by name.
  ['AWS::Lambda::Function', 'PipelineCreateUploadFunctionEB30EEFB'],
  ['AWS::Lambda::Function', 'PipelineGetUploadFunction8740446F'],
  ['AWS::Lambda::Function', 'PipelineListUploadsFunction2C5044E3'],
  ['AWS::Lambda::Function', 'PipelineGetUploadEventsFunction72E716D5'],
  ['AWS::Lambda::Function', 'PipelineAuditUploadsFunctionF9CA66A9'],
  ['AWS::Lambda::Function', 'PipelineClaimFunction3A950CCB'],
  ['AWS::Lambda::Function', 'PipelineValidateFunction682E903D'],
  ['AWS::Lambda::Function', 'PipelinePromoteFunctionDB110F50'],
  ['AWS::Lambda::Function', 'PipelineRejectFunctionC8CD8446'],
  ['AWS::Lambda::Function', 'PipelineRecordOutcomeFunction4E8AFE2E'],
  ['AWS::Lambda::Function', 'PipelineReleaseQuarantineFunction30543ECC'],
  ['AWS::Lambda::Function', 'PipelineSweeperFunction14C88922'],
  ['AWS::Lambda::Function', 'PipelineRedriveFunction6832CE0B'],
  ['AWS::Lambda::Function', 'PipelineScanFunctionF26E195F'],
  ['AWS::Lambda::Function', 'PipelineScanResultFunctionC2EE289A'],
  ['AWS::Lambda::Function', 'PipelineRescanFunction7BFEBC93'],
  // Named by ARN in the scan results' rule; replacing it would re-validate the bucket's protection.
  ['AWS::GuardDuty::MalwareProtectionPlan', 'PipelineMalwareProtectionPlan9B7C4527'],
  ['AWS::Lambda::Function', 'PipelinePublishOutcomeFunction57ABFDF7'],
  // The audit digests: Object Lock keeps their bucket's objects whatever the stack does, and
  // the key's public key verifies every digest ever signed.
  ['AWS::S3::Bucket', 'PipelineAuditDigestBucketC2705E7A'],
  ['AWS::KMS::Key', 'PipelineAuditDigestKey565411E3'],
  ['AWS::Logs::LogGroup', 'PipelineWriteAuditDigestLogs1A7C0FC5'],
  ['AWS::Logs::LogGroup', 'PipelineAuditDigestsLogsF6E8EBFC'],
  ['AWS::Lambda::Function', 'PipelineWriteAuditDigestFunctionE51D8D1B'],
  ['AWS::Lambda::Function', 'PipelineAuditDigestsFunction728D83E3'],
];

/** Types whose every resource holds data or is addressed from outside, so must be pinned. */
const ALWAYS_PINNED_TYPES = [
  'AWS::S3::Bucket',
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Logs::LogGroup',
  'AWS::Cognito::UserPool',
  'AWS::Cognito::UserPoolClient',
  'AWS::Cognito::UserPoolDomain',
  'AWS::Cognito::UserPoolGroup',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Stage',
  'AWS::CloudFront::Distribution',
  'AWS::StepFunctions::StateMachine',
  'AWS::GuardDuty::MalwareProtectionPlan',
];

interface Resource {
  readonly Type: string;
  readonly DeletionPolicy?: string;
  readonly Properties?: { readonly Description?: unknown };
}

// Arrange (once): the default stack, which has every pinned resource.
const resources = (synthAirlock().template.toJSON() as { Resources: Record<string, Resource> }).Resources;
const pinnedIds = new Set(PINNED.map(([, id]) => id));

describe('logical ids of resources that hold data or are addressed from outside', () => {
  test.each(PINNED)('%s %s keeps its logical id', (type, id) => {
    expect(resources[id]?.Type).toBe(type);
  });

  test('every retained resource is pinned', () => {
    const retained = Object.entries(resources)
      .filter(([, resource]) => resource.DeletionPolicy === 'Retain')
      .map(([id]) => id);
    expect(retained.filter((id) => !pinnedIds.has(id))).toEqual([]);
  });

  test('every resource of a stateful or addressed type is pinned', () => {
    const unpinned = Object.entries(resources)
      .filter(([, resource]) => ALWAYS_PINNED_TYPES.includes(resource.Type))
      .map(([id, resource]) => `${resource.Type} ${id}`)
      .filter((entry) => !pinnedIds.has(entry.split(' ')[1]!));
    expect(unpinned).toEqual([]);
  });

  test("every pipeline function is pinned (CDK's own handlers are not the pipeline's)", () => {
    const functions = Object.entries(resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .filter(([, resource]) => String(resource.Properties?.Description).startsWith('Airlock '))
      .map(([id]) => id);
    expect(functions).toHaveLength(19); // every function but deliver-webhooks (no webhook endpoint)
    expect(functions.filter((id) => !pinnedIds.has(id))).toEqual([]);
  });
});
