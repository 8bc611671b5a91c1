// The `query` command's table, produced through the real BigQuery client against the local warehouse.
import { BigQuery } from '@google-cloud/bigquery';
import { runQuery } from '../../scripts/cli/query';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';

let server: WarehouseServer;
let bigquery: BigQuery;
const projectId = `cli-query-${process.pid}`;

beforeAll(async () => {
  server = await startWarehouseServer();
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  bigquery = new BigQuery({ projectId });
  delete process.env.BIGQUERY_EMULATOR_HOST;
  const [ds] = await bigquery.createDataset('cli');
  const [table] = await ds.createTable('events', {
    schema: [
      { name: 'event_id', type: 'STRING', mode: 'REQUIRED' },
      { name: 'campaign_id', type: 'INTEGER' },
      { name: 'event_timestamp', type: 'TIMESTAMP' },
      { name: 'data', type: 'JSON' },
      { name: 'actions', type: 'STRING', mode: 'REPEATED' },
    ],
  });
  await table.insert(
    [
      {
        insertId: 'e1',
        json: {
          event_id: 'e1',
          campaign_id: 7,
          event_timestamp: 1714566896,
          data: '{ "a": 1,\n  "b": [true, null] }',
          actions: ['identify:email_bounced'],
        },
      },
      { insertId: 'e2', json: { event_id: 'e22', campaign_id: 1234 } },
    ],
    { raw: true },
  );
});

afterAll(() => server.close());

async function lines(sql: string): Promise<string[]> {
  const out: string[] = [];
  await runQuery(sql, { projectId, bigquery, out: (l) => out.push(l) });
  return out;
}

test('prints an aligned table with NULLs, compact JSON, timestamps, arrays and a row count', async () => {
  expect(await lines('SELECT * FROM cli.events ORDER BY event_id')).toEqual([
    'event_id | campaign_id | event_timestamp          | data                    | actions',
    '---------+-------------+--------------------------+-------------------------+-------------------------',
    'e1       |           7 | 2024-05-01T12:34:56.000Z | {"a":1,"b":[true,null]} | [identify:email_bounced]',
    'e22      |        1234 | NULL                     | NULL                    | []',
    '2 rows',
  ]);
});

test('an empty result still shows the columns', async () => {
  expect(await lines("SELECT event_id FROM `cli.events` WHERE event_id = 'none'")).toEqual([
    'event_id',
    '--------',
    '0 rows',
  ]);
});

test('a DELETE prints how many rows it changed', async () => {
  const [ds] = await bigquery.createDataset('dml');
  const [table] = await ds.createTable('t', { schema: [{ name: 'id', type: 'STRING' }] });
  await table.insert([{ json: { id: 'a' } }, { json: { id: 'b' } }], { raw: true });
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);
  await runQuery(`delete from dml.t where id = 'a'`, { projectId, bigquery, out });
  await runQuery(`delete from dml.t where id = 'a'`, { projectId, bigquery, out });
  expect(lines).toEqual(['1 row affected', '0 rows affected']);
});

test('a bad query is an error with the database message', async () => {
  await expect(lines('SELECT nope FROM cli.events')).rejects.toThrow(/nope/);
});
