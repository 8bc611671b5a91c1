// @ts-check
import tseslint from 'typescript-eslint';

// The layout's boundaries, said where the code is written (test/layout/boundaries.test.ts checks they fire).
// shared/ is the library: it never reaches into the entry points, the tooling or the tests. Its stages import
// forward only (processor → customerio, warehouse; warehouse → customerio's event model), and the receiver stays
// tiny: cioWebhook never loads Firestore, BigQuery, DuckDB or customerio-node.
const TOOLING = ['**/functions/**', '**/scripts/**', '**/bench/**', '**/test/**'];
const stage = (name) => [`../${name}`, `../${name}/**`, `./${name}`, `./${name}/**`, `**/shared/${name}/**`];
const HEAVY_CLIENTS = ['@google-cloud/firestore', '@google-cloud/bigquery', 'customerio-node', '@duckdb/*'];

/** One no-restricted-imports rule (a later config object would replace, not extend, an earlier one). */
const restrict = (files, folders, packages, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...(folders.length > 0 ? [{ group: folders, message: why }] : []),
          ...(packages.length > 0 ? [{ group: packages, message: why }] : []),
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.local/', 'terraform/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  restrict(
    ['shared/*.ts'],
    [...TOOLING, ...stage('webhook'), ...stage('processor'), ...stage('customerio'), ...stage('warehouse')],
    [],
    'config, log and errors serve every stage and depend on none of them',
  ),
  restrict(
    ['shared/webhook/**/*.ts', 'functions/webhook.ts'],
    [...TOOLING, ...stage('processor'), ...stage('customerio'), ...stage('warehouse')],
    HEAVY_CLIENTS,
    'the receiver stays tiny: it verifies and publishes, nothing of the processor loads in it',
  ),
  restrict(
    ['shared/processor/**/*.ts'],
    [...TOOLING, ...stage('webhook')],
    ['@google-cloud/pubsub'],
    'the processor receives push requests; it never publishes or reaches back into the receiver',
  ),
  restrict(
    ['shared/customerio/**/*.ts'],
    [...TOOLING, ...stage('webhook'), ...stage('processor'), ...stage('warehouse')],
    ['@google-cloud/*', '@duckdb/*'],
    "Customer.io's event model, policy and clients know nothing of the pipeline around them",
  ),
  restrict(
    ['shared/reconcile/**/*.ts'],
    [...TOOLING, ...stage('webhook'), ...stage('processor')],
    ['@google-cloud/firestore', '@google-cloud/pubsub'],
    "reconciliation reads Customer.io's record and the warehouse; it is no part of the event pipeline",
  ),
  restrict(
    ['shared/warehouse/**/*.ts'],
    [...TOOLING, ...stage('webhook'), ...stage('processor')],
    ['@google-cloud/firestore', '@google-cloud/pubsub', 'customerio-node'],
    'the warehouse maps events to rows and writes them; it does not reach back into the pipeline',
  ),
);
