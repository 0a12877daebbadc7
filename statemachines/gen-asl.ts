import { writeFile } from 'node:fs/promises';
import { format, resolveConfig } from 'prettier';
import { UPLOAD_PIPELINE_ASL_PATH } from './definition.js';
import { uploadPipelineJson } from './upload-pipeline.js';

/**
 * `npm run gen:asl`: writes upload-pipeline.asl.json from upload-pipeline.ts, formatted as
 * `prettier --check` expects it. The placeholders stay for CDK and the local runtime to fill.
 */
const options = { ...(await resolveConfig(UPLOAD_PIPELINE_ASL_PATH)), filepath: UPLOAD_PIPELINE_ASL_PATH };
await writeFile(UPLOAD_PIPELINE_ASL_PATH, await format(uploadPipelineJson(), options));
process.stdout.write(`wrote ${UPLOAD_PIPELINE_ASL_PATH}\n`);
