// Keep test output readable: handlers log through Powertools, which honours this level.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
