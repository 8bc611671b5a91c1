// Dry runs on the local warehouse (scripts/local/warehouse/server.ts), through the real BigQuery client and raw
// REST: the statement is bound by DuckDB, never run; a refused one is BigQuery's HTTP error.
import { BigQuery } from '@google-cloud/bigquery';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';

const PROJECT = 'dry-run-test';
let server: WarehouseServer;
let bigquery: BigQuery;

beforeAll(async () => {
  server = await startWarehouseServer();
  const previous = process.env.BIGQUERY_EMULATOR_HOST;
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  bigquery = new BigQuery({ projectId: PROJECT });
  if (previous === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
  else process.env.BIGQUERY_EMULATOR_HOST = previous;
  const [dataset] = await bigquery.createDataset('d');
  const [table] = await dataset.createTable('t', {
    schema: {
      fields: [
        { name: 'id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'n', type: 'INTEGER', mode: 'NULLABLE' },
      ],
    },
  });
  await table.insert([{ insertId: 'a', json: { id: 'a', n: 1 } }], { raw: true });
});

afterAll(() => server.close());

const count = async (): Promise<number> =>
  Number((await server.query('SELECT count(*) AS c FROM d.t'))[0]!.c);

test('an accepted statement has its schema and 0 bytes, and a dry-run DELETE deletes nothing', async () => {
  const [job] = await bigquery.createQueryJob({
    query: `SELECT id, n * 2 AS twice FROM \`${PROJECT}.d.t\``,
    dryRun: true,
  });
  expect(job.metadata.statistics.query).toMatchObject({
    totalBytesProcessed: '0',
    schema: {
      fields: [
        { name: 'id', type: 'STRING', mode: 'NULLABLE' },
        { name: 'twice', type: 'INTEGER', mode: 'NULLABLE' },
      ],
    },
  });
  await bigquery.createQueryJob({ query: 'DELETE FROM d.t WHERE TRUE', dryRun: true });
  const [rows] = await bigquery.query({ query: 'DELETE FROM d.t WHERE TRUE', dryRun: true });
  expect(rows).toEqual([]);
  expect(await count()).toBe(1);
});

test('a statement DuckDB cannot bind is refused with BigQuery error shapes: 400 invalidQuery, 404 notFound', async () => {
  await expect(
    bigquery.createQueryJob({ query: 'SELECT nope FROM d.t', dryRun: true }),
  ).rejects.toMatchObject({ code: 400, errors: [expect.objectContaining({ reason: 'invalidQuery' })] });
  await expect(
    bigquery.createQueryJob({ query: 'SELECT 1 FROM d.missing', dryRun: true }),
  ).rejects.toMatchObject({ code: 404, errors: [expect.objectContaining({ reason: 'notFound' })] });
});

test('jobs.query with dryRun binds without running', async () => {
  const post = (query: string): Promise<Response> =>
    fetch(`${server.url}/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, useLegacySql: false, dryRun: true }),
    });
  const accepted = await post('DELETE FROM d.t WHERE TRUE');
  expect(accepted.status).toBe(200);
  expect(await accepted.json()).toMatchObject({ jobComplete: true, totalBytesProcessed: '0' });
  expect(await count()).toBe(1);
  const refused = await post('SELECT nope FROM d.t');
  expect(refused.status).toBe(400);
  expect(await refused.json()).toMatchObject({ error: { errors: [{ reason: 'invalidQuery' }] } });
});
