import type { CfnTemplate } from './template.js';

/** An IAM policy document, its intrinsics resolved to local names. */
export interface PolicyDocument {
  Version?: string;
  Statement: Array<Record<string, unknown>>;
}

export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

/** A principal the runtime acts as: a function's role, or a service's (the state machine's). */
export interface Principal {
  /** The function's name (`claim`), or `state-machine` / `events-rule`. */
  name: string;
  roleArn: string;
  /** The ARN AWS evaluates a Lambda function's calls as: its assumed-role session. */
  sessionArn: string;
  policies: NamedPolicy[];
}

export interface DeployedFunction extends Principal {
  timeoutSeconds: number;
  memoryMb: number;
}

/** What the runtime enforces, read from the synthesized template. */
export interface DeployedPolicies {
  functions: Map<string, DeployedFunction>;
  /** The uploads bucket's policy (its explicit denies included), the resource policy of S3 calls. */
  bucketPolicy: PolicyDocument | undefined;
  /** The state machine's role: it must be allowed lambda:InvokeFunction on each task function. */
  stateMachine: Principal;
  /** The role of the Object Created rule's target: it starts executions. */
  eventsRule: Principal | undefined;
  /** The outcome-event bus the stack made, by its local name (its logical id). */
  outcomeEventBus: string | undefined;
  /** The key policy of each KMS key the stack made, by its ARN: KMS authorizes with it too. */
  keyPolicies?: Map<string, PolicyDocument>;
}

/** The physical names the local runtime uses for the template's resources. */
export interface LocalNames {
  account: string;
  region: string;
  bucket: string;
  /** The audit digests' bucket. @default `<bucket>-audit-digests` */
  digestBucket?: string;
  table: string;
  stateMachineArn: string;
  functionArn(name: string): string;
}

/** The local name of the audit digests' bucket, beside the uploads bucket. */
export const defaultDigestBucket = (bucket: string): string => `${bucket}-audit-digests`;

const FUNCTION_DESCRIPTION = /^Airlock ([a-z][a-z-]*)$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{Ref: id}` or `{Fn::GetAtt: [id, …]}` → id. */
const targetOf = (value: unknown): string | undefined => {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  return Array.isArray(getAtt) && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
};

/**
 * Finds each pipeline function (by its `Airlock <name>` description), its role and that role's
 * policies, the uploads bucket's policy and the service roles, by walking the template: no
 * logical id is assumed, so a refactoring that keeps the template keeps this working.
 */
export function readDeployedPolicies(template: CfnTemplate, names: LocalNames): DeployedPolicies {
  const resources = template.Resources;
  const entries = Object.entries(resources);
  const roleNames = new Map<string, string>(); // role logical id → local role name
  const functionNames = new Map<string, string>(); // function logical id → pipeline name
  let bucketId: string | undefined;
  let digestBucketId: string | undefined;
  let tableId: string | undefined;
  for (const [id, resource] of entries) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const description = resource.Properties?.Description;
    const match = typeof description === 'string' ? FUNCTION_DESCRIPTION.exec(description) : null;
    if (!match?.[1]) continue;
    functionNames.set(id, match[1]);
    const roleId = targetOf(resource.Properties?.Role);
    if (roleId !== undefined) roleNames.set(roleId, `airlock-${match[1]}`);
    const variables = (
      resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined
    )?.Variables;
    bucketId ??= targetOf(variables?.BUCKET_NAME);
    digestBucketId ??= targetOf(variables?.AUDIT_DIGEST_BUCKET);
    tableId ??= targetOf(variables?.TABLE_NAME);
  }
  if (functionNames.size === 0)
    throw new Error('The template has no Airlock function (Description "Airlock <name>").');
  if (bucketId === undefined || tableId === undefined)
    throw new Error('The template names no bucket or table (BUCKET_NAME, TABLE_NAME).');
  const stateMachines = entries.filter(
    ([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine',
  );
  const [stateMachineEntry] = stateMachines;
  if (stateMachines.length !== 1 || stateMachineEntry === undefined)
    throw new Error(`Expected one state machine in the template, found ${stateMachines.length}.`);
  const [stateMachineId, stateMachineResource] = stateMachineEntry;
  const stateMachineRoleId = targetOf(stateMachineResource.Properties?.RoleArn);
  if (stateMachineRoleId !== undefined) roleNames.set(stateMachineRoleId, 'airlock-state-machine');
  const eventsRoleId = entries
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .flatMap(([, rule]) => (rule.Properties?.Targets as Array<Record<string, unknown>> | undefined) ?? [])
    .filter((target) => targetOf(target.Arn) === stateMachineId)
    .map((target) => targetOf(target.RoleArn))
    .find((roleId) => roleId !== undefined);
  if (eventsRoleId !== undefined) roleNames.set(eventsRoleId, 'airlock-events-rule');

  const roleArn = (roleId: string) => `arn:aws:iam::${names.account}:role/${roleNames.get(roleId) ?? roleId}`;
  const stateMachineName = names.stateMachineArn.split(':').pop() ?? '';
  const resolve = resolver(resources, names, (id, attribute) => {
    if (id === bucketId)
      return attribute === undefined
        ? names.bucket
        : attribute === 'Arn'
          ? `arn:aws:s3:::${names.bucket}`
          : undefined;
    if (id === digestBucketId) {
      const digestBucket = names.digestBucket ?? defaultDigestBucket(names.bucket);
      return attribute === undefined
        ? digestBucket
        : attribute === 'Arn'
          ? `arn:aws:s3:::${digestBucket}`
          : undefined;
    }
    // KMS keys by their logical id (the census names the digest key so; locally a file key signs).
    if (resources[id]?.Type === 'AWS::KMS::Key')
      return attribute === 'Arn' ? `arn:aws:kms:${names.region}:${names.account}:key/${id}` : undefined;
    if (id === tableId) {
      const arn = `arn:aws:dynamodb:${names.region}:${names.account}:table/${names.table}`;
      return attribute === undefined ? names.table : attribute === 'Arn' ? arn : undefined;
    }
    if (id === stateMachineId)
      return attribute === 'Name'
        ? stateMachineName
        : attribute === undefined || attribute === 'Arn'
          ? names.stateMachineArn
          : undefined;
    const functionName = functionNames.get(id);
    if (functionName !== undefined)
      return attribute === 'Arn'
        ? names.functionArn(functionName)
        : attribute === undefined
          ? `airlock-${functionName}`
          : undefined;
    // Queues and event buses are named by their logical id here (the census and the runtime name them so).
    if (resources[id]?.Type === 'AWS::SQS::Queue')
      return attribute === 'Arn'
        ? `arn:aws:sqs:${names.region}:${names.account}:${id}`
        : attribute === undefined
          ? `https://sqs.${names.region}.amazonaws.com/${names.account}/${id}`
          : attribute === 'QueueName'
            ? id
            : undefined;
    if (resources[id]?.Type === 'AWS::Events::EventBus')
      return attribute === 'Arn'
        ? `arn:aws:events:${names.region}:${names.account}:event-bus/${id}`
        : attribute === undefined || attribute === 'Name'
          ? id
          : undefined;
    if (resources[id]?.Type === 'AWS::IAM::Role')
      return attribute === 'Arn'
        ? roleArn(id)
        : attribute === undefined
          ? (roleNames.get(id) ?? id)
          : undefined;
    return undefined;
  });

  const principalOf = (name: string, roleId: string): Principal => {
    const role = roleArn(roleId);
    const roleName = role.split('/').pop() ?? roleId;
    return {
      name,
      roleArn: role,
      sessionArn: `arn:aws:sts::${names.account}:assumed-role/${roleName}/${name}`,
      policies: policiesOfRole(resources, roleId).map(({ name: policyName, document }) => ({
        name: policyName,
        document: resolve(document) as PolicyDocument,
      })),
    };
  };
  const functions = new Map<string, DeployedFunction>();
  for (const [id, name] of functionNames) {
    const properties = resources[id]?.Properties ?? {};
    const roleId = targetOf(properties.Role);
    if (roleId === undefined) throw new Error(`The ${name} function's role is not a role of the template.`);
    functions.set(name, {
      ...principalOf(name, roleId),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      memoryMb: Number(properties.MemorySize ?? 128),
    });
  }
  if (stateMachineRoleId === undefined)
    throw new Error("The state machine's role is not a role of the template.");
  const bucketPolicy = entries.find(
    ([, resource]) =>
      resource.Type === 'AWS::S3::BucketPolicy' && targetOf(resource.Properties?.Bucket) === bucketId,
  )?.[1].Properties?.PolicyDocument;
  const keyPolicies = new Map<string, PolicyDocument>();
  for (const [id, resource] of entries) {
    if (resource.Type !== 'AWS::KMS::Key' || resource.Properties?.KeyPolicy === undefined) continue;
    keyPolicies.set(
      resolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string,
      resolve(resource.Properties.KeyPolicy) as PolicyDocument,
    );
  }
  return {
    keyPolicies,
    functions,
    bucketPolicy: bucketPolicy === undefined ? undefined : (resolve(bucketPolicy) as PolicyDocument),
    stateMachine: principalOf('state-machine', stateMachineRoleId),
    eventsRule: eventsRoleId === undefined ? undefined : principalOf('events-rule', eventsRoleId),
    outcomeEventBus: entries.find(([, resource]) => resource.Type === 'AWS::Events::EventBus')?.[0],
  };
}

/** Inline policies, AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources attached to a role. */
function policiesOfRole(
  resources: CfnTemplate['Resources'],
  roleId: string,
): Array<{ name: string; document: unknown }> {
  const role = resources[roleId]?.Properties ?? {};
  const managed = role.ManagedPolicyArns as unknown[] | undefined;
  const external = (managed ?? []).filter((arn) => resources[targetOf(arn) ?? ''] === undefined);
  if (external.length > 0) {
    // Their documents are not in the template: granting through them cannot be emulated.
    throw new Error(
      `Role ${roleId} uses managed policies the template does not contain: ${JSON.stringify(external)}`,
    );
  }
  const attached = Object.entries(resources)
    .filter(([id, resource]) => {
      if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') return false;
      const roles = (resource.Properties?.Roles as unknown[] | undefined) ?? [];
      return (
        roles.some((ref) => targetOf(ref) === roleId) || (managed ?? []).some((ref) => targetOf(ref) === id)
      );
    })
    .map(([id, resource]) => ({ name: id, document: resource.Properties?.PolicyDocument }));
  const inline = (
    (role.Policies as Array<{ PolicyName?: string; PolicyDocument?: unknown }> | undefined) ?? []
  ).map((policy, index) => ({
    name: policy.PolicyName ?? `${roleId}-inline-${index}`,
    document: policy.PolicyDocument,
  }));
  return [...attached, ...inline];
}

type Lookup = (logicalId: string, attribute: string | undefined) => string | undefined;

/**
 * Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split to local strings.
 * Resources the runtime has no counterpart of (log groups, queues…) get a placeholder ARN of
 * their own, so that statements about them stay valid and match nothing the runtime does.
 */
function resolver(resources: CfnTemplate['Resources'], names: LocalNames, lookup: Lookup) {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': names.region,
    'AWS::AccountId': names.account,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'Airlock',
  };
  const reference = (id: string, attribute: string | undefined): string => {
    const pseudoValue = attribute === undefined ? pseudo[id] : undefined;
    if (pseudoValue !== undefined) return pseudoValue;
    const known = lookup(id, attribute);
    if (known !== undefined) return known;
    if (resources[id] === undefined) throw new Error(`The template refers to an unknown resource ${id}.`);
    return `arn:aws:cloudformation:${names.region}:${names.account}:stack/Airlock/${id}${attribute ? `/${attribute}` : ''}`;
  };
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    const [fn] = keys;
    const argument = fn === undefined ? undefined : value[fn];
    if (keys.length === 1 && fn === 'Ref' && typeof argument === 'string')
      return reference(argument, undefined);
    if (keys.length === 1 && fn === 'Fn::GetAtt' && Array.isArray(argument))
      return reference(String(argument[0]), argument.slice(1).map(String).join('.'));
    if (keys.length === 1 && fn === 'Fn::Join' && Array.isArray(argument)) {
      const [separator, parts] = argument as [string, unknown[]];
      return (resolve(parts) as unknown[]).map(String).join(separator);
    }
    if (keys.length === 1 && fn === 'Fn::Select' && Array.isArray(argument)) {
      const list = resolve(argument[1]) as unknown[];
      return list[Number(resolve(argument[0]))];
    }
    if (keys.length === 1 && fn === 'Fn::Split' && Array.isArray(argument))
      return String(resolve(argument[1])).split(String(argument[0]));
    if (keys.length === 1 && fn === 'Fn::Sub') {
      const [text, variables] = (Array.isArray(argument) ? argument : [argument, {}]) as [
        string,
        Record<string, unknown>,
      ];
      return text.replace(/\$\{([^}!][^}]*)\}/g, (_match, name: string) => {
        if (variables[name] !== undefined) return String(resolve(variables[name]));
        const [id = '', ...attribute] = name.split('.');
        return reference(id, attribute.length > 0 ? attribute.join('.') : undefined);
      });
    }
    if (keys.length === 1 && fn?.startsWith('Fn::'))
      throw new Error(`Cannot resolve ${fn} in an IAM policy.`);
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolve(inner)]));
  };
  return resolve;
}
