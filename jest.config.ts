import type { Config } from 'jest';

/** ts-jest in ESM mode: `file-type` and `aws-local-stepfunctions` are ESM-only. */
const tsJestEsm: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};

const shared: Config = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: tsJestEsm,
  // Sources import siblings as `./x.js` (NodeNext); map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

const config: Config = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
  ],
};

export default config;
