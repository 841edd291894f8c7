// jest runs the TypeScript sources directly (ts-jest, ESM); type errors are caught by `npm run lint`.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^lwm2m-gen/runtime$': '<rootDir>/runtime/index.ts',
    '^lwm2m-gen/testing$': '<rootDir>/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true }, diagnostics: false }],
  },
  testTimeout: 20000,
};
