// Imported first by bench/run.ts: the handlers' logger reads its level when it is loaded.
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_DEV ??= 'false';
