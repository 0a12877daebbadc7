import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks, type NagPackProps } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * The cdk-nag packs every synthesis of Airlock runs, by the plugin name cdk-nag gives each. A rule
 * of a pack is named `<pack>-<rule>` (e.g. `NIST.800.53.R5-LambdaDLQ`), and an acknowledgement of
 * it is `<pack>::<pack>-<rule>` (CDK's `Validations` namespace is the plugin name).
 */
export const NAG_PACKS = ['AwsSolutions', 'Serverless', 'NIST.800.53.R5'] as const;

export type NagPackName = (typeof NAG_PACKS)[number];

/**
 * Registers the three packs (AwsSolutions, Serverless, NIST 800-53 R5) as CDK validation plugins
 * of the app: synthesis fails on any finding of any pack that is not acknowledged.
 */
export function addNagPacks(app: IConstruct, props: NagPackProps = {}): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, props),
    new ServerlessChecks(app, props),
    new NIST80053R5Checks(app, props),
  );
}

/** The pack a rule id such as `Serverless-LambdaDLQ` or `AwsSolutions-IAM5[Action::x]` belongs to. */
export function packOfRule(ruleId: string): NagPackName {
  const pack = NAG_PACKS.find((name) => ruleId.startsWith(`${name}-`));
  if (pack === undefined) throw new Error(`"${ruleId}" is not a rule of ${NAG_PACKS.join(', ')}`);
  return pack;
}

/**
 * Acknowledges one reviewed cdk-nag finding on the construct it concerns, with the reason it is
 * accepted. `ruleId` is the rule as cdk-nag names it (`NIST.800.53.R5-LambdaInsideVPC`,
 * `AwsSolutions-IAM5[Resource::*]`); the pack's namespace is added here.
 */
export function acknowledge(scope: IConstruct, ruleId: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `${packOfRule(ruleId)}::${ruleId}`, reason });
}
