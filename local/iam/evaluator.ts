import {
  createValidatedPolicy,
  validateIdentityPolicy,
  validateResourcePolicy,
} from '@cloud-copilot/iam-policy';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { DeployedPolicies, Principal } from './roles.js';
import type { IamRequest, Where } from './requests.js';

export type Decision =
  | { allowed: true }
  | {
      allowed: false;
      /** AWS's own wording of the denial, for the error message. */
      because: string;
    };

/** Upload ids (ULIDs) end the object keys and prefixes the functions touch. */
const ID_AT_END = /^(.*)\/([0-9A-HJKMNP-TV-Z]{26})$/;
const CACHE_LIMIT = 10_000;

/**
 * Decides IAM requests with @cloud-copilot/iam-simulate: the principal's identity policies, and
 * for the uploads bucket its bucket policy as the resource policy (explicit denies included).
 * The caller's condition keys are those AWS sets for a Lambda function's role session, over
 * TLS (the SDK always uses https on AWS; locally the endpoints are plain http on loopback).
 *
 * Decisions are memoized (the simulator takes about 2 ms): the key is the request with the
 * upload id at the end of a key or prefix replaced by a placeholder, which is sound because the
 * evaluator first checks that no policy string can tell two ids apart, and only with the
 * condition keys some policy mentions.
 */
export class PolicyEvaluator {
  private readonly identity = new Map<string, Array<{ name: string; policy: unknown }>>();
  private readonly bucketPolicy: unknown;
  /** KMS keys' policies: KMS requires the key policy to allow a use (here, to trust the account's IAM). */
  private readonly keyPolicies = new Map<string, unknown>();
  private readonly policyStrings: string[];
  private readonly conditionKeys: Set<string>;
  private readonly anyPattern: boolean;
  private readonly cache = new Map<string, Decision>();

  constructor(
    private readonly deployed: DeployedPolicies,
    private readonly where: Where & { bucket: string },
  ) {
    const documents: unknown[] = [];
    if (deployed.bucketPolicy !== undefined) documents.push(deployed.bucketPolicy);
    for (const [arn, document] of deployed.keyPolicies ?? []) {
      documents.push(document);
      this.keyPolicies.set(arn, createValidatedPolicy(document, validateResourcePolicy));
    }
    this.bucketPolicy =
      deployed.bucketPolicy === undefined
        ? undefined
        : createValidatedPolicy(deployed.bucketPolicy, validateResourcePolicy);
    for (const principal of principalsOf(deployed)) {
      documents.push(...principal.policies.map((policy) => policy.document));
      this.identity.set(
        principal.name,
        principal.policies.map((policy) => ({
          name: policy.name,
          policy: createValidatedPolicy(policy.document, validateIdentityPolicy),
        })),
      );
    }
    this.policyStrings = documents.flatMap((document) => stringsIn(document)).map((s) => s.toLowerCase());
    this.conditionKeys = new Set(documents.flatMap((document) => conditionKeysIn(document)));
    // A wildcard anywhere but at the end could tell ids apart in ways not worth reasoning about.
    this.anyPattern = this.policyStrings.some((s) => /[?]|\*(?!$)/.test(s));
  }

  async decide(principal: Principal, request: IamRequest): Promise<Decision> {
    const context: Record<string, string> = {
      'aws:PrincipalArn': principal.roleArn,
      'aws:PrincipalAccount': this.where.account,
      'aws:PrincipalType': 'AssumedRole',
      'aws:SecureTransport': 'true',
      'aws:RequestedRegion': this.where.region,
      ...request.context,
    };
    const key = this.cacheKey(principal.name, request, context);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const decision = await this.simulate(principal, request, context);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, decision);
    return decision;
  }

  private async simulate(
    principal: Principal,
    request: IamRequest,
    context: Record<string, string>,
  ): Promise<Decision> {
    const identityPolicies = this.identity.get(principal.name);
    if (identityPolicies === undefined) throw new Error(`No synthesized role for ${principal.name}.`);
    const onBucket =
      request.resource === `arn:aws:s3:::${this.where.bucket}` ||
      request.resource.startsWith(`arn:aws:s3:::${this.where.bucket}/`);
    const simulation: Simulation = {
      request: {
        principal: principal.sessionArn,
        action: request.action,
        resource: { resource: request.resource, accountId: this.where.account },
        contextVariables: context,
      },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(onBucket && this.bucketPolicy !== undefined ? { resourcePolicy: this.bucketPolicy } : {}),
      ...(this.keyPolicies.has(request.resource)
        ? { resourcePolicy: this.keyPolicies.get(request.resource) }
        : {}),
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error') {
      throw new Error(`IAM simulation of ${request.action} failed: ${JSON.stringify(result.errors)}`);
    }
    if (result.overallResult === 'Allowed') return { allowed: true };
    const analysis = result.resultType === 'single' ? result.result.analysis : undefined;
    const because =
      analysis?.resourceAnalysis?.result === 'ExplicitlyDenied'
        ? 'with an explicit deny in a resource-based policy'
        : analysis?.identityAnalysis?.result === 'ExplicitlyDenied'
          ? 'with an explicit deny in an identity-based policy'
          : `because no identity-based policy allows the ${request.action} action`;
    return { allowed: false, because };
  }

  private cacheKey(principal: string, request: IamRequest, context: Record<string, string>): string {
    const relevant = Object.entries(context)
      .filter(([name]) => this.conditionKeys.has(name.toLowerCase()))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => `${name}=${this.withoutId(value)}`);
    return [principal, request.action, this.withoutId(request.resource), ...relevant].join('\n');
  }

  /** `…/quarantine/<id>` → `…/quarantine/{id}` when no policy string can tell ids apart. */
  private withoutId(value: string): string {
    const match = ID_AT_END.exec(value);
    if (!match || this.anyPattern) return value;
    const head = `${match[1] ?? ''}/`.toLowerCase();
    const distinguishes = this.policyStrings.some((s) => {
      const fixed = s.endsWith('*') ? s.slice(0, -1) : s;
      return fixed.length > head.length && fixed.startsWith(head);
    });
    return distinguishes ? value : `${match[1] ?? ''}/{id}`;
  }
}

export function principalsOf(deployed: DeployedPolicies): Principal[] {
  return [
    ...deployed.functions.values(),
    deployed.stateMachine,
    ...(deployed.eventsRule ? [deployed.eventsRule] : []),
  ];
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Every condition key any statement tests, lowercased (IAM keys are case-insensitive). */
function conditionKeysIn(document: unknown): string[] {
  const statements = (document as { Statement?: unknown } | undefined)?.Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  return list.flatMap((statement) => {
    const condition = (statement as { Condition?: Record<string, Record<string, unknown>> } | undefined)
      ?.Condition;
    return Object.values(condition ?? {}).flatMap((keys) =>
      Object.keys(keys).map((key) => key.toLowerCase()),
    );
  });
}
