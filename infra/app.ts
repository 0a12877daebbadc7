import { App } from 'aws-cdk-lib';
import { AirlockStack } from './airlock-stack.js';
import { addNagPacks } from './nag-packs.js';

/**
 * The CDK app. Context keys (cdk.json or `-c key=value`):
 * - `allowedOrigins`: comma-separated browser origins for CORS (default: none).
 */
const app = new App();
const origins = app.node.tryGetContext('allowedOrigins') as string | undefined;

new AirlockStack(app, 'Airlock', {
  description: 'Airlock: presigned uploads, validated and promoted by Step Functions, with an audit trail.',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  pipeline: {
    ...(origins ? { allowedOrigins: origins.split(',').map((origin) => origin.trim()) } : {}),
  },
});
// cdk-nag's AwsSolutions, Serverless and NIST 800-53 R5 packs: any unacknowledged finding fails synth.
addNagPacks(app, { verbose: true });
app.synth();
