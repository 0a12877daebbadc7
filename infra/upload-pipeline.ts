/** The pipeline construct now lives in infra/pipeline/; this path keeps existing imports working. */
export * from './pipeline/index.js';
