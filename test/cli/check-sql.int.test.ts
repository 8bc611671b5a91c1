// `cio-webhooks check-sql` and checkBigQuerySql: every SQL text of the project dry-run through the real BigQuery
// client against a deployed dataset (here the local warehouse, which binds each statement in DuckDB without running
// it), with the refused ones named and BigQuery's message printed.
import { BigQuery } from '@google-cloud/bigquery';
import { main } from '../../scripts/cli/index';
import type { Io } from '../../scripts/cli/args';
import { checkBigQuerySql, dryRunStatements } from '../../scripts/cli/sql/dry-run';
import { bigQueryStatements } from '../../scripts/cli/sql/statements';
import { ensureWarehouseTables } from '../../scripts/local/warehouse/setup';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';

const PROJECT = 'check-sql-test';
const TABLES = { events: 'cio_events', rejects: 'cio_rejects' };
const FLAGS = [
  '--project',
  PROJECT,
  '--dataset',
  'analytics',
  '--table',
  'cio_events',
  '--rejects-table',
  'cio_rejects',
];

let server: WarehouseServer;
let previousHost: string | undefined;

beforeAll(async () => {
  server = await startWarehouseServer();
  // The command builds its own client; BIGQUERY_EMULATOR_HOST points it (and ours) at the local warehouse.
  previousHost = process.env.BIGQUERY_EMULATOR_HOST;
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  await ensureWarehouseTables(client(), 'analytics', TABLES);
});

afterAll(async () => {
  if (previousHost === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
  else process.env.BIGQUERY_EMULATOR_HOST = previousHost;
  await server.close();
});

const client = (): BigQuery => new BigQuery({ projectId: PROJECT });

function cli(): { io: Io; printed: () => string } {
  const out: string[] = [];
  return {
    io: {
      out: (text) => out.push(text),
      err: (text) => out.push(text),
      isTTY: false,
      env: {},
      localDir: '/nonexistent',
    },
    printed: () => out.join(''),
  };
}

test('a deployment with every table and view accepts every statement: exit 0, one line each', async () => {
  const { io, printed } = cli();
  expect(await main(['check-sql', ...FLAGS], io)).toBe(0);
  const names = bigQueryStatements({
    projectId: PROJECT,
    datasetId: 'analytics',
    eventsTable: TABLES.events,
    rejectsTable: TABLES.rejects,
  }).map((s) => s.name);
  const lines = printed().trimEnd().split('\n');
  expect(lines[0]).toBe(`dry run of ${names.length} SQL statements against BigQuery ${PROJECT}.analytics:`);
  expect(lines.slice(1, -1).map((l) => /^ {2}ok {7}(.+?) {2}/.exec(l)?.[1]?.trim())).toEqual(names);
  expect(lines.at(-1)).toBe(`BigQuery accepts all ${names.length}.`);
});

test('checkBigQuerySql (what smoke calls) returns one result per statement, in the list order', async () => {
  const results = await checkBigQuerySql({
    bigquery: client(),
    projectId: PROJECT,
    datasetId: 'analytics',
    eventsTable: TABLES.events,
    rejectsTable: TABLES.rejects,
  });
  expect(results.length).toBeGreaterThanOrEqual(14);
  for (const r of results) expect(r).toMatchObject({ accepted: true, bytesProcessed: 0 });
  expect(results.map((r) => r.name).slice(0, 2)).toEqual(['view events_unique', 'view deliverability_daily']);
});

test('a refused statement is named with its origin and BigQuery message; the others still pass', async () => {
  const [refused, accepted] = await dryRunStatements(client(), [
    { name: 'bad', origin: 'test', sql: `SELECT no_such_column FROM \`${PROJECT}.analytics.cio_events\`` },
    { name: 'good', origin: 'test', sql: `SELECT event_id FROM \`${PROJECT}.analytics.cio_events\`` },
  ]);
  expect(refused).toMatchObject({
    name: 'bad',
    accepted: false,
    reason: 'invalidQuery',
    message: expect.stringContaining('no_such_column'),
  });
  expect(accepted).toMatchObject({ name: 'good', accepted: true });
});

test('a dataset deployed without one of the views: exit 1, the statements that read it are REFUSED', async () => {
  const dataset = client().dataset('partial');
  await ensureWarehouseTables(client(), 'partial', TABLES);
  // deliverability_daily reads events_unique; nothing reads deliverability_daily, so it can go alone.
  await dataset.table('deliverability_daily').delete();

  const { io, printed } = cli();
  const flags = FLAGS.map((f) => (f === 'analytics' ? 'partial' : f));
  expect(await main(['check-sql', ...flags], io)).toBe(1);
  const output = printed();
  const refused = [...output.matchAll(/^ {2}REFUSED {2}(.+?) {2,}(\S+)\n {11}(.*)$/gm)].map((m) => [
    m[1]!.trim(),
    m[2],
    m[3],
  ]);
  expect(refused.map(([name]) => name)).toEqual([
    'report daily',
    'report complaintDomains',
    'README "Analytics" 1',
  ]);
  for (const [, origin, message] of refused) {
    expect(origin).toMatch(/^scripts\/cli\/report\/data\.ts$|^README\.md:\d+$/);
    expect(message).toMatch(/^notFound: .*deliverability_daily/);
  }
  expect(output).toMatch(
    /BigQuery refuses 3 of \d+: the message's \[line:column\] points into that statement\.\n$/,
  );
});

test('a failure that is not about the SQL (here access denied) fails the command instead of blaming a statement', async () => {
  server.faults.add({
    kind: 'status',
    status: 403,
    reason: 'accessDenied',
    match: 'jobs.insert',
    message: 'Access Denied: no bigquery.jobs.create',
    times: 1,
  });
  const { io, printed } = cli();
  expect(await main(['check-sql', ...FLAGS], io)).toBe(1);
  expect(printed()).toBe('cio-webhooks check-sql: Access Denied: no bigquery.jobs.create\n');
});

test('usage: --project is required, names are validated, --help explains', async () => {
  const { io, printed } = cli();
  expect(await main(['check-sql'], io)).toBe(2);
  expect(await main(['check-sql', '--project', PROJECT, '--dataset', 'a.b'], io)).toBe(2);
  expect(printed()).toContain('--project is required');
  expect(printed()).toContain('--dataset "a.b" is not a BigQuery name');
  const help = cli();
  expect(await main(['check-sql', '--help'], help.io)).toBe(0);
  expect(help.printed()).toContain('Usage: cio-webhooks check-sql --project ID');
  const list = cli();
  await main(['--help'], list.io);
  expect(list.printed()).toMatch(/^ {2}check-sql +dry-run every SQL statement/m);
});
