import type { Template } from 'aws-cdk-lib/assertions';

/** A resource of a synthesized template. */
export interface CfnJson {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every resource of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): Map<string, CfnJson> {
  const found = template.findResources(type) as Record<string, { Properties?: Record<string, unknown> }>;
  return new Map(
    Object.entries(found).map(([id, resource]) => [
      id,
      { Type: type, Properties: resource.Properties ?? {} },
    ]),
  );
}

/** One resource by logical id; fails loudly when it is missing. */
export function resourceById(template: Template, logicalId: string): CfnJson {
  const resources = template.toJSON() as { Resources?: Record<string, CfnJson> };
  const resource = resources.Resources?.[logicalId];
  if (resource === undefined) throw new Error(`No resource ${logicalId} in the template`);
  return { Type: resource.Type, Properties: resource.Properties ?? {} };
}

/** The only resource of a type (fails unless there is exactly one). */
export function onlyResource(template: Template, type: string): [string, CfnJson] {
  const all = [...resourcesOfType(template, type)];
  if (all.length !== 1) throw new Error(`Expected exactly one ${type}, found ${all.length}`);
  return all[0]!;
}

/** The logical id a `{ Ref: id }` or `{ Fn::GetAtt: [id, attr] }` points to, if it is one. */
export function referencedId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const ref = value['Ref'];
  if (typeof ref === 'string') return ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

/**
 * Renders intrinsic functions the way cdk-nag names findings: `{Ref: X}` → `<X>`,
 * `{Fn::GetAtt: [X, Arn]}` → `<X.Arn>`, `Fn::Join` concatenated. `aliases` renames logical ids
 * (e.g. the bucket's to `Bucket`) so that expectations stay readable.
 */
export function render(value: unknown, aliases: Record<string, string> = {}): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isRecord(value)) {
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first !== undefined) {
      const [fn, arg] = first;
      if (fn === 'Ref' && typeof arg === 'string') return `<${aliases[arg] ?? arg}>`;
      if (fn === 'Fn::GetAtt' && Array.isArray(arg) && typeof arg[0] === 'string') {
        return `<${aliases[arg[0]] ?? arg[0]}.${arg.slice(1).map(String).join('.')}>`;
      }
      if (fn === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
        return (arg[1] as unknown[]).map((part) => render(part, aliases)).join(arg[0]);
      }
    }
    return JSON.stringify(
      Object.fromEntries(entries.map(([key, inner]) => [key, renderDeep(inner, aliases)])),
    );
  }
  return JSON.stringify(value);
}

/** Like `render`, but keeps the shape of plain objects and arrays (for conditions). */
function renderDeep(value: unknown, aliases: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((inner) => renderDeep(inner, aliases));
  if (isRecord(value) && referencedId(value) === undefined && !('Fn::Join' in value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, renderDeep(inner, aliases)]));
  }
  return render(value, aliases);
}

/** One (effect, action, resource, condition) of an IAM policy, rendered. */
export interface Grant {
  readonly effect: string;
  readonly action: string;
  readonly resource: string;
  readonly condition?: string;
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** Flattens the statements of every AWS::IAM::Policy attached to a role into single grants. */
export function grantsOfRole(
  template: Template,
  roleId: string,
  aliases: Record<string, string> = {},
): Grant[] {
  const grants: Grant[] = [];
  for (const [policyId, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const roles = asList(policy.Properties['Roles']).map(referencedId);
    if (!roles.includes(roleId)) continue;
    const document = policy.Properties['PolicyDocument'] as { Statement?: unknown[] } | undefined;
    for (const statement of document?.Statement ?? []) {
      if (!isRecord(statement)) throw new Error(`${policyId}: malformed statement`);
      if ('NotAction' in statement || 'NotResource' in statement || 'NotPrincipal' in statement) {
        throw new Error(`${policyId}: NotAction/NotResource/NotPrincipal are never expected`);
      }
      const condition =
        statement['Condition'] === undefined ? undefined : render(statement['Condition'], aliases);
      for (const action of asList(statement['Action'])) {
        for (const resource of asList(statement['Resource'])) {
          grants.push({
            effect: String(statement['Effect']),
            action: String(action),
            resource: render(resource, aliases),
            ...(condition === undefined ? {} : { condition }),
          });
        }
      }
    }
  }
  return grants;
}

/** `s3:PutObject on <Bucket.Arn>/quarantine/*` (Deny and conditions spelled out when present). */
export function describeGrant(grant: Grant): string {
  const effect = grant.effect === 'Allow' ? '' : `${grant.effect} `;
  const condition = grant.condition === undefined ? '' : ` when ${grant.condition}`;
  return `${effect}${grant.action} on ${grant.resource}${condition}`;
}

/** True when an IAM pattern (`*` and `?` wildcards, case-insensitive for actions) covers a value. */
export function iamPatternMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}
