// `cio-webhooks query` as the dispatcher runs it: against the running local stack's warehouse (found through the
// state file), against a --project, and its argument errors.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { writeStackState } from '../../scripts/local/stack-state';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';
import { runCli } from '../support/cli';

const projectId = `cli-query-cmd-${process.pid}`;
let server: WarehouseServer;
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-query-'));
/** A .local with no stack in it. */
const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-query-empty-'));

beforeAll(async () => {
  server = await startWarehouseServer();
  const bigquery = new BigQuery({ projectId, apiEndpoint: server.url });
  const [dataset] = await bigquery.createDataset('customerio');
  const [table] = await dataset.createTable('events', {
    schema: [
      { name: 'event_id', type: 'STRING' },
      { name: 'metric', type: 'STRING' },
    ],
  });
  await table.insert(
    ['bounced', 'opened', 'opened'].map((metric, i) => ({
      insertId: `e${i}`,
      json: { event_id: `e${i}`, metric },
    })),
    { raw: true },
  );
});

afterAll(async () => {
  await server.close();
  fs.rmSync(localDir, { recursive: true, force: true });
  fs.rmSync(emptyDir, { recursive: true, force: true });
});

function run(argv: string[], env: Record<string, string> = {}, dir = localDir) {
  return runCli(['query', ...argv], { env, localDir: dir });
}

const SQL = 'select metric, count(*) as n from customerio.events group by 1 order by 1';

it('queries the warehouse of the running stack, found through .local/stack.json', async () => {
  writeStackState(localDir, {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    projectId,
    webhookUrl: 'http://127.0.0.1:1/',
    processorUrl: 'http://127.0.0.1:1/',
    pubsubEmulatorHost: '127.0.0.1:1',
    firestoreEmulatorHost: '127.0.0.1:1',
    bigqueryEmulatorHost: server.url,
    eventsTopic: 'cio-events',
    pushSubscription: 'cio-events-processor',
    deadLetterTopic: 'cio-events-dead-letter',
    deadLetterSubscription: 'cio-events-dead-letter',
    dataset: 'customerio',
    signingKeyFile: null,
    workspaces: {},
    workspaceKeysFile: null,
    warehouseDir: localDir,
    logDir: localDir,
  });
  const { code, out, err } = await run([SQL]);
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out.split('\n').map((l) => l.trimEnd())).toEqual([
    'metric  | n',
    '--------+--',
    'bounced | 1',
    'opened  | 2',
    '2 rows',
    '',
  ]);
});

it('--project goes to BigQuery in that project (here redirected by BIGQUERY_EMULATOR_HOST)', async () => {
  const previous = process.env.BIGQUERY_EMULATOR_HOST;
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  try {
    const { code, out } = await run([SQL, '--project', projectId], {}, emptyDir);
    expect(code).toBe(0);
    expect(out).toContain('opened  | 2');
  } finally {
    if (previous === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
    else process.env.BIGQUERY_EMULATOR_HOST = previous;
  }
});

it('a failing statement is one error line and exit 1', async () => {
  const { code, err } = await run(['select nope from customerio.missing']);
  expect(code).toBe(1);
  expect(err).toMatch(/^cio-webhooks query: .*missing/);
});

it.each([
  [[], /give exactly one SQL statement/],
  [['select 1', 'select 2'], /give exactly one SQL statement/],
  [['select 1', '--projet', 'x'], /Unknown option '--projet'/],
])('bad command line %j: exit 2', async (argv, message) => {
  const { code, err } = await run(argv, {}, emptyDir);
  expect(code).toBe(2);
  expect(err).toMatch(message);
  expect(err.trimEnd().split('\n')).toHaveLength(1);
});

it('without --project and without a running stack it says how to start one', async () => {
  const { code, err } = await run(['select 1'], {}, emptyDir);
  expect(code).toBe(2);
  expect(err).toContain('no local stack is running (start one with `npm start`)');
});
