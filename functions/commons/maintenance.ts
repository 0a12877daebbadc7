import {
  lazy,
  makeDynamoDbClient,
  makeS3Client,
  makeSfnClient,
  readConfig,
  type AirlockConfig,
} from './config.js';
import { requireEnv } from './env.js';
import { ENV_NAMES } from './env-names.js';
import { StepFunctionsGateway, type ExecutionGateway } from '../adapters/execution-gateway.js';
import { ObjectStore } from '../adapters/object-store.js';
import { UploadStore } from '../adapters/upload-store.js';

/** What the functions that look after uploads outside an execution (sweeper, redrive) work with. */
export interface MaintenanceAdapters {
  config: AirlockConfig;
  store: UploadStore;
  objects: ObjectStore;
  executions: ExecutionGateway;
  bucket: string;
  now: () => Date;
}

/** Built on first use, from the function's environment (STATE_MACHINE_ARN included). */
export const maintenanceAdapters = lazy((): MaintenanceAdapters => {
  const config = readConfig();
  return {
    config,
    store: new UploadStore(config.tableName, makeDynamoDbClient(config)),
    objects: new ObjectStore(makeS3Client(config)),
    executions: new StepFunctionsGateway(requireEnv(ENV_NAMES.stateMachineArn), makeSfnClient()),
    bucket: config.bucketName,
    now: () => new Date(),
  };
});
