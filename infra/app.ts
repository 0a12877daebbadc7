import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { configPath, loadAirlockConfig } from '../config/airlock-config.js';
import { AirlockStack } from './airlock-stack.js';
import { LOCAL_RUNTIME_CONTEXT } from '../config/events-config.js';
import { pipelinePropsFromConfig } from './config.js';
import { addNagPacks } from './nag-packs.js';

/**
 * The CDK app. Its settings come from airlock.config.json at the repository root, the same file
 * `npm start` reads; `-c config=<path>` (or AIRLOCK_CONFIG=<path>) names another one.
 */
const app = new App();
if (app.node.tryGetContext('allowedOrigins') !== undefined) {
  throw new Error('The allowedOrigins context key is gone: set "allowedOrigins" in airlock.config.json.');
}
const named = app.node.tryGetContext('config') as string | undefined;
const settings = loadAirlockConfig(named ? resolve(named) : configPath());

new AirlockStack(app, 'Airlock', {
  description: 'Airlock: presigned uploads, validated and promoted by Step Functions, with an audit trail.',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  // The local runtime synthesizes this app for its IAM policies; it delivers webhooks itself
  // (local/outcome-bus.ts), to endpoints whose secrets are files or variables, not ARNs.
  pipeline: pipelinePropsFromConfig(settings, {
    webhooks: app.node.tryGetContext(LOCAL_RUNTIME_CONTEXT) !== true,
  }),
});
// cdk-nag's AwsSolutions, Serverless and NIST 800-53 R5 packs: any unacknowledged finding fails synth.
addNagPacks(app, { verbose: true });
app.synth();
