/** Tests run against real Pub/Sub and Firestore emulators started once per run (test/support/global-setup.ts). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    'teeny-request/build/src/index\\.js$': '<rootDir>/test/support/teeny-request-transform.mjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!teeny-request/build/src/index\\.js$)'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // `npm run package` writes a deployable copy (with its own package.json) here: not part of the test tree.
  modulePathIgnorePatterns: ['<rootDir>/terraform/build/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
};
