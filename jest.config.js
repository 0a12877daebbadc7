/**
 * Test tiers are separate jest projects. ts-jest runs in ESM mode because `file-type` and
 * `aws-local-stepfunctions` are ESM-only; `npm test` starts node with --experimental-vm-modules.
 * @type {import('jest').Config}
 */
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  // Sources import siblings as `./x.js` (NodeNext resolution); map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/setup-env.js'],
};

/** @type {import('jest').Config} */
export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Synthesizes the CDK stack (bundling skipped) and asserts on the template.
    { ...shared, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    // Against a real clamd that each test file starts in a temporary dir (local/clamd.ts); no Ceph.
    { ...shared, displayName: 'scanner', testMatch: ['<rootDir>/test/scanner/**/*.test.ts'] },
    // Against a real local runtime (RadosGW, dynalite, the executor) that globalSetup starts.
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.js',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.js',
      setupFilesAfterEnv: ['<rootDir>/test/e2e/setup-timeout.js'],
    },
  ],
};
