/**
 * Two projects, both run by `npm test`:
 * - unit: everything that needs no emulator (in-process stand-ins are fine; `npm run test:unit`, seconds);
 * - integration (`*.int.test.ts`): the real Pub/Sub and Firestore emulators, started once for the project
 *   (test/support/global-setup.ts), the local warehouse and Track API stand-ins, the whole local stack, chaos.
 */
/** @type {import('jest').Config['projects'][number]} */
const common = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    'teeny-request/build/src/index\\.js$': '<rootDir>/test/support/teeny-request-transform.mjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!teeny-request/build/src/index\\.js$)'],
  // `npm run package` writes a deployable copy (with its own package.json) here: not part of the test tree.
  modulePathIgnorePatterns: ['<rootDir>/terraform/build/'],
  setupFiles: ['<rootDir>/test/support/env.ts'],
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  // Global settings: Jest ignores them inside a project.
  testTimeout: 60000,
  testSequencer: '<rootDir>/test/support/sequencer.mjs',
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.int.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
