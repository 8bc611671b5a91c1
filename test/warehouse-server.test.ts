// The local warehouse through the REAL @google-cloud/bigquery client: what the processor, the local stack and the
// CLI rely on. No mocks: every call crosses HTTP into the server and lands in DuckDB.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BigQuery, type Table } from '@google-cloud/bigquery';
import { startWarehouseServer, type WarehouseServer } from '../scripts/local/warehouse/server';
import { ensureWarehouseTables } from '../scripts/local/warehouse/setup';
import { EVENTS_TABLE, REJECTS_TABLE } from '../shared/warehouse-schema';

const servers: WarehouseServer[] = [];
const tmpDirs: string[] = [];
let seq = 0;

async function start(opts: Parameters<typeof startWarehouseServer>[0] = {}) {
  const server = await startWarehouseServer(opts);
  servers.push(server);
  // The client reads BIGQUERY_EMULATOR_HOST in its constructor, so each client is bound to one server.
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  const bigquery = new BigQuery({ projectId: `wh-test-${process.pid}-${++seq}` });
  delete process.env.BIGQUERY_EMULATOR_HOST;
  return { server, bigquery };
}

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouse-test-'));
  tmpDirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const SCHEMA = {
  fields: [
    { name: 'id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'n', type: 'INTEGER', mode: 'NULLABLE' },
    { name: 'happened_at', type: 'TIMESTAMP', mode: 'NULLABLE' },
    { name: 'data', type: 'JSON', mode: 'NULLABLE' },
    { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  ],
};

async function makeTable(bigquery: BigQuery, name = 'items'): Promise<Table> {
  const [dataset] = await bigquery.createDataset('ds');
  const [table] = await dataset.createTable(name, { schema: SCHEMA });
  return table;
}

/** What the processor does: raw rows with insertId, no client-side retries of partial failures. */
function insertRaw(table: Table, rows: { insertId?: string; json: object }[], opts: object = {}) {
  return table.insert(rows, { raw: true, partialRetries: 0, ...opts });
}

/** The PartialFailureError the client throws, reduced to what callers look at: reasons per row. */
async function insertFailure(promise: Promise<unknown>): Promise<string[][]> {
  try {
    await promise;
  } catch (e) {
    const err = e as { name?: string; errors?: { errors: { reason: string }[] }[] };
    expect(err.name).toBe('PartialFailureError');
    return (err.errors ?? []).map((r) => r.errors.map((x) => x.reason));
  }
  throw new Error('insert succeeded, expected a PartialFailureError');
}

describe('datasets and tables', () => {
  test('create, get and exists answer like BigQuery', async () => {
    const { bigquery } = await start();
    const dataset = bigquery.dataset('analytics');
    expect((await dataset.exists())[0]).toBe(false);
    await dataset.create();
    expect((await dataset.exists())[0]).toBe(true);
    const [meta] = await dataset.getMetadata();
    expect(meta.datasetReference).toEqual({ projectId: bigquery.projectId, datasetId: 'analytics' });

    const table = dataset.table('events');
    expect((await table.exists())[0]).toBe(false);
    await dataset.createTable('events', {
      schema: SCHEMA,
      timePartitioning: { type: 'DAY', field: 'happened_at' },
      clustering: { fields: ['id'] },
      description: 'test table',
    });
    expect((await table.exists())[0]).toBe(true);
    const [tmeta] = await table.getMetadata();
    expect(tmeta.schema.fields.map((f: { name: string }) => f.name)).toEqual([
      'id',
      'n',
      'happened_at',
      'data',
      'tags',
    ]);
    expect(tmeta.timePartitioning).toEqual({ type: 'DAY', field: 'happened_at' });
    expect(tmeta.clustering).toEqual({ fields: ['id'] });
    expect(tmeta.description).toBe('test table');
    expect(tmeta.numRows).toBe('0');
  });

  test('creating an existing dataset or table is a 409; a missing one is a 404', async () => {
    const { bigquery } = await start();
    await makeTable(bigquery);
    await expect(bigquery.createDataset('ds')).rejects.toMatchObject({ code: 409 });
    await expect(bigquery.dataset('ds').createTable('items', { schema: SCHEMA })).rejects.toMatchObject({
      code: 409,
    });
    await expect(bigquery.dataset('nope').get()).rejects.toMatchObject({ code: 404 });
    await expect(
      bigquery
        .dataset('ds')
        .table('nope')
        .insert([{ json: {} }], { raw: true }),
    ).rejects.toMatchObject({
      code: 404,
    });
  });
});

describe('insertAll', () => {
  test('stores rows and dedupes a repeated insertId, counting what was sent', async () => {
    const { server, bigquery } = await start();
    const table = await makeTable(bigquery);
    await insertRaw(table, [
      { insertId: 'a', json: { id: 'a', n: 1 } },
      { insertId: 'b', json: { id: 'b', n: 2 } },
    ]);
    await insertRaw(table, [{ insertId: 'a', json: { id: 'a', n: 1 } }]);
    expect(await server.query('SELECT id FROM ds.items ORDER BY id')).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(server.stats.insertAllRequests).toBe(2);
    expect(server.stats.rowsReceived).toBe(3);
    expect(server.stats.rowsStored).toBe(2);
    expect(server.stats.receivedByInsertId('items', 'a')).toBe(2);
    expect(server.stats.receivedByInsertId('ds.items', 'b')).toBe(1);
  });

  test('with dedupe off, a repeated insertId is stored twice (double inserts become visible)', async () => {
    const { server, bigquery } = await start({ dedupeInsertIds: false });
    const table = await makeTable(bigquery);
    await insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }]);
    await insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }]);
    expect(await server.query('SELECT count(*)::INT AS c FROM ds.items')).toEqual([{ c: 2 }]);
  });

  test('invalid rows fail the request with per-row reasons; the others are "stopped"', async () => {
    const { server, bigquery } = await start();
    const table = await makeTable(bigquery);
    const reasons = await insertFailure(
      insertRaw(table, [
        { insertId: '1', json: { id: 'ok' } },
        { insertId: '2', json: { n: 5 } }, // REQUIRED id missing
        { insertId: '3', json: { id: 'x', bogus: 1 } }, // unknown field
        { insertId: '4', json: { id: 'y', n: 'not a number' } }, // type mismatch
      ]),
    );
    expect(reasons).toEqual([['stopped'], ['invalid'], ['invalid'], ['invalid']]);
    expect(await server.query('SELECT count(*)::INT AS c FROM ds.items')).toEqual([{ c: 0 }]);
  });

  test('skipInvalidRows stores the valid rows; ignoreUnknownValues drops unknown fields', async () => {
    const { server, bigquery } = await start();
    const table = await makeTable(bigquery);
    const reasons = await insertFailure(
      insertRaw(
        table,
        [
          { insertId: '1', json: { id: 'ok', extra: true } },
          { insertId: '2', json: { n: 5 } },
        ],
        { skipInvalidRows: true, ignoreUnknownValues: true },
      ),
    );
    expect(reasons).toEqual([['invalid']]);
    expect(await server.query('SELECT id FROM ds.items')).toEqual([{ id: 'ok' }]);
  });
});

describe('faults', () => {
  test('status fault: the client sees the error; nothing is stored', async () => {
    const { server, bigquery } = await start();
    const table = await makeTable(bigquery);
    const fault = server.faults.add({ kind: 'status', status: 400, times: 1 });
    await expect(insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }])).rejects.toMatchObject({
      code: 400,
    });
    expect(fault.hits).toBe(1);
    await insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }]);
    expect(server.stats.insertAllRequests).toBe(2);
    expect(server.stats.rowsStored).toBe(1);
  });

  test('partial fault answers insertErrors like BigQuery', async () => {
    const { server, bigquery } = await start();
    const table = await makeTable(bigquery);
    server.faults.add({ kind: 'partial', reason: 'backendError', rows: (_row, i) => i === 1 });
    const reasons = await insertFailure(
      insertRaw(table, [
        { insertId: 'a', json: { id: 'a' } },
        { insertId: 'b', json: { id: 'b' } },
      ]),
    );
    expect(reasons).toEqual([['stopped'], ['backendError']]);
    expect(server.stats.rowsStored).toBe(0);
  });
});

describe('queries', () => {
  test('bigquery.query returns typed values', async () => {
    const { bigquery } = await start();
    const table = await makeTable(bigquery);
    await insertRaw(table, [
      {
        insertId: 'a',
        json: {
          id: 'a',
          n: 42,
          happened_at: '2024-05-01T12:34:56.123456Z',
          data: '{"k":[1,2]}',
          tags: ['x', 'y'],
        },
      },
    ]);
    const [rows] = await bigquery.query('SELECT id, n, happened_at, data, tags FROM `ds.items`');
    expect(rows).toHaveLength(1);
    const row = rows[0] as {
      id: string;
      n: number;
      happened_at: { value: string };
      data: unknown;
      tags: string[];
    };
    expect(row.id).toBe('a');
    expect(row.n).toBe(42);
    expect(row.happened_at.value).toBe('2024-05-01T12:34:56.123456000Z');
    expect(row.data).toBe('{"k":[1,2]}');
    expect(row.tags).toEqual(['x', 'y']);
  });
});

describe('persistence', () => {
  test('with dataDir, datasets, tables and rows survive a restart; a second server on the folder is refused', async () => {
    const dataDir = tmpDir();
    const first = await start({ dataDir });
    const table = await makeTable(first.bigquery);
    await insertRaw(table, [{ insertId: 'a', json: { id: 'a', tags: ['t'] } }]);
    await expect(startWarehouseServer({ dataDir })).rejects.toThrow(/only one warehouse server/i);
    await first.server.close();

    const second = await start({ dataDir });
    const [meta] = await second.bigquery.dataset('ds').table('items').getMetadata();
    expect(meta.schema.fields).toHaveLength(SCHEMA.fields.length);
    const [rows] = await second.bigquery.query('SELECT id, tags FROM ds.items');
    expect(rows).toEqual([{ id: 'a', tags: ['t'] }]);
  });
});

describe('ensureWarehouseTables', () => {
  test('creates the dataset and both tables once, with partitioning and clustering; a rerun changes nothing', async () => {
    const { bigquery } = await start();
    const names = { events: 'events', rejects: 'rejected_events' };
    await ensureWarehouseTables(bigquery, 'customerio', names);
    const [events] = await bigquery.dataset('customerio').table('events').getMetadata();
    await ensureWarehouseTables(bigquery, 'customerio', names);
    const [again] = await bigquery.dataset('customerio').table('events').getMetadata();
    expect(again.etag).toBe(events.etag);
    expect(events.schema.fields.map((f: { name: string }) => f.name)).toEqual(
      EVENTS_TABLE.fields.map((f) => f.name),
    );
    expect(events.timePartitioning).toEqual({ type: 'DAY', field: EVENTS_TABLE.partitionField });
    expect(events.clustering).toEqual({ fields: EVENTS_TABLE.clustering });
    const [rejects] = await bigquery.dataset('customerio').table('rejected_events').getMetadata();
    expect(rejects.schema.fields.map((f: { name: string }) => f.name)).toEqual(
      REJECTS_TABLE.fields.map((f) => f.name),
    );
  });

  test('adds fields that the schema gained since the table was created', async () => {
    const { server, bigquery } = await start();
    const [ds] = await bigquery.createDataset('customerio');
    await ds.createTable('events', {
      schema: EVENTS_TABLE.fields.slice(0, 5).map((f) => ({ ...f })),
    });
    await ensureWarehouseTables(bigquery, 'customerio', { events: 'events', rejects: 'rejected_events' });
    const [meta] = await ds.table('events').getMetadata();
    expect(meta.schema.fields).toHaveLength(EVENTS_TABLE.fields.length);
    const columns = await server.query(
      `SELECT count(*)::INT AS n FROM information_schema.columns WHERE table_schema = 'customerio' AND table_name = 'events'`,
    );
    expect(columns).toEqual([{ n: EVENTS_TABLE.fields.length }]);
  });
});
