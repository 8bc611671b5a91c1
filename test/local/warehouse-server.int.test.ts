// The local warehouse through the REAL @google-cloud/bigquery client: what the processor, the local stack and the
// CLI rely on. No mocks: every call crosses HTTP into the server and lands in DuckDB.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BigQuery, type BigQueryOptions, type Table } from '@google-cloud/bigquery';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';
import { ensureWarehouseTables } from '../../scripts/local/warehouse/setup';
import { translateSql } from '../../scripts/local/warehouse/sql';
import { EVENTS_TABLE, REJECTS_TABLE } from '../../shared/warehouse/schema';

const servers: WarehouseServer[] = [];
const tmpDirs: string[] = [];
let seq = 0;

async function start(opts: Parameters<typeof startWarehouseServer>[0] = {}) {
  const server = await startWarehouseServer(opts);
  servers.push(server);
  return { server, bigquery: clientFor(server) };
}

/** The client reads BIGQUERY_EMULATOR_HOST in its constructor, so each client is bound to one server. */
function clientFor(server: WarehouseServer, options: BigQueryOptions & { timeout?: number } = {}): BigQuery {
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  try {
    return new BigQuery({ projectId: `wh-test-${process.pid}-${++seq}`, ...options });
  } finally {
    delete process.env.BIGQUERY_EMULATOR_HOST;
  }
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

describe('more faults (processor-style client: no client retries, short timeout)', () => {
  async function setup() {
    const { server, bigquery } = await start();
    await makeTable(bigquery);
    const client = clientFor(server, { retryOptions: { autoRetry: false }, timeout: 1000 });
    return { server, table: client.dataset('ds').table('items') };
  }

  async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    for (let i = 0; ; i++) {
      const value = await probe();
      if (ok(value) || i > 200) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const count = (server: WarehouseServer) =>
    server.query('SELECT count(*)::INT AS c FROM ds.items').then((r) => r[0]!.c);

  test('503 reaches the caller when it does not retry; only the matching table is affected', async () => {
    const { server, table } = await setup();
    server.faults.add({ kind: 'status', status: 503, times: 2, table: 'other' });
    await insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }]);
    server.faults.add({ kind: 'status', status: 503, table: 'items' });
    await expect(insertRaw(table, [{ insertId: 'b', json: { id: 'b' } }])).rejects.toMatchObject({
      code: 503,
    });
    expect(await count(server)).toBe(1);
  });

  test('hang: the client times out, the write still lands, and the retry is deduped', async () => {
    const { server, table } = await setup();
    server.faults.add({ kind: 'hang', ms: 2500 });
    await expect(insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }])).rejects.toThrow();
    expect(
      await waitFor(
        () => count(server),
        (c) => c === 1,
      ),
    ).toBe(1);
    await insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }]);
    expect(await count(server)).toBe(1);
    expect(server.stats.receivedByInsertId('items', 'a')).toBe(2);
  });

  test('reset: a dropped connection stores nothing; with commit the write lands without an answer', async () => {
    const { server, table } = await setup();
    server.faults.add({ kind: 'reset' });
    await expect(insertRaw(table, [{ insertId: 'a', json: { id: 'a' } }])).rejects.toThrow();
    expect(await count(server)).toBe(0);
    server.faults.add({ kind: 'reset', commit: true });
    await expect(insertRaw(table, [{ insertId: 'b', json: { id: 'b' } }])).rejects.toThrow();
    expect(await count(server)).toBe(1);
    expect(server.stats.insertAllRequests).toBe(2);
  });

  test('partial fault with skipInvalidRows stores the rows not at fault; faults.clear() drops pending faults', async () => {
    const { server, table } = await setup();
    server.faults.add({
      kind: 'partial',
      reason: 'timeout',
      rows: (row) => (row as { id: string }).id === 'b',
    });
    const reasons = await insertFailure(
      insertRaw(
        table,
        [
          { insertId: 'a', json: { id: 'a' } },
          { insertId: 'b', json: { id: 'b' } },
        ],
        { skipInvalidRows: true },
      ),
    );
    expect(reasons).toEqual([['timeout']]);
    expect(await count(server)).toBe(1);
    server.faults.add({ kind: 'status', status: 500, times: Infinity });
    server.faults.clear();
    await insertRaw(table, [{ insertId: 'b', json: { id: 'b' } }]);
    expect(await count(server)).toBe(2);
  });

  test('faults can target queries', async () => {
    const { server } = await setup();
    const client = clientFor(server, { retryOptions: { autoRetry: false } });
    server.faults.add({ kind: 'status', status: 400, match: 'query', message: 'boom' });
    await expect(client.query('SELECT 1 AS x')).rejects.toMatchObject({ code: 400, message: 'boom' });
    expect((await client.query('SELECT 1 AS x'))[0]).toEqual([{ x: 1 }]);
  });
});

describe('row validation', () => {
  const ALL_TYPES = {
    fields: [
      { name: 's', type: 'STRING' },
      { name: 'i', type: 'INT64' },
      { name: 'f', type: 'FLOAT64' },
      { name: 'b', type: 'BOOL' },
      { name: 't', type: 'TIMESTAMP' },
      { name: 'd', type: 'DATE' },
      { name: 'j', type: 'JSON' },
      { name: 'y', type: 'BYTES' },
      { name: 'n', type: 'NUMERIC' },
      { name: 'r', type: 'INTEGER', mode: 'REPEATED' },
    ],
  };

  async function reasonsFor(rows: object[]): Promise<string[][]> {
    const { bigquery } = await start();
    const [ds] = await bigquery.createDataset('v');
    const [table] = await ds.createTable('t', { schema: ALL_TYPES });
    return insertFailure(
      insertRaw(
        table,
        rows.map((json) => ({ json })),
        { skipInvalidRows: true },
      ),
    );
  }

  test('accepts what BigQuery accepts', async () => {
    const { server, bigquery } = await start();
    const [ds] = await bigquery.createDataset('v');
    const [table] = await ds.createTable('t', { schema: ALL_TYPES });
    await insertRaw(table, [
      {
        json: {
          s: 12,
          i: '-9007199254740993',
          f: '1.5',
          b: 'TRUE',
          t: 1714566896.25,
          d: '2024-02-29',
          j: '[1,{"a":null}]',
          y: Buffer.from('hi').toString('base64'),
          n: '-12.345',
          r: [1, '2'],
        },
      },
      { json: { t: '2024-05-01 14:34:56.5+02:00', b: false } },
      { json: { t: '2024-05-01T12:34:56Z' } },
    ]);
    const rows = await server.query(
      "SELECT s, i::VARCHAR AS i, f, b, strftime(t, '%Y-%m-%dT%H:%M:%S.%f') AS t, d::VARCHAR AS d, j::VARCHAR AS j, y, n::VARCHAR AS n, r FROM v.t ORDER BY t",
    );
    expect(rows.map((r) => r.t)).toEqual([
      '2024-05-01T12:34:56.000000',
      '2024-05-01T12:34:56.250000',
      '2024-05-01T12:34:56.500000',
    ]);
    expect(rows[1]).toMatchObject({
      s: '12',
      i: '-9007199254740993',
      f: 1.5,
      b: true,
      d: '2024-02-29',
      j: '[1,{"a":null}]',
      n: '-12.345000000',
      r: [1n, 2n],
    });
    expect(Buffer.from(rows[1]!.y as Uint8Array).toString()).toBe('hi');
    expect(rows[2]).toMatchObject({ b: false, r: [] });
  });

  test.each([
    ['integer with a fraction', { i: 1.5 }],
    ['integer out of range', { i: '9223372036854775808' }],
    ['boolean from a number', { b: 1 }],
    ['timestamp that is not one', { t: 'yesterday' }],
    ['date that does not exist', { d: '2023-02-29' }],
    ['JSON text that is not JSON', { j: '{nope' }],
    ['JSON as an object instead of text', { j: { a: 1 } }],
    ['bytes that are not base64', { y: 'not base64!' }],
    ['numeric with too many decimals', { n: '0.0000000001' }],
    ['an array for a non-repeated field', { s: ['a'] }],
    ['a scalar for a repeated field', { r: 1 }],
    ['an object for a STRING', { s: { a: 1 } }],
  ])('rejects %s as invalid', async (_name, json) => {
    expect(await reasonsFor([json])).toEqual([['invalid']]);
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
  test('SAFE_CONVERT_BYTES_TO_STRING reads parked raw bodies as text (the README query works locally)', async () => {
    const { bigquery } = await start();
    const [rows] = await bigquery.query(
      "SELECT SAFE_CONVERT_BYTES_TO_STRING(FROM_BASE64('eyJlIjoixJ8ifQ==')) AS body, " +
        "SAFE_CONVERT_BYTES_TO_STRING(FROM_BASE64('//4=')) AS bad",
    );
    expect(rows).toEqual([{ body: '{"e":"ğ"}', bad: null }]);
  });
  test('values come back typed as the client decodes them', async () => {
    const { bigquery } = await start();
    const [ds] = await bigquery.createDataset('q');
    const [table] = await ds.createTable('t', {
      schema: [
        { name: 'i', type: 'INTEGER' },
        { name: 'f', type: 'FLOAT' },
        { name: 'b', type: 'BOOLEAN' },
        { name: 't', type: 'TIMESTAMP' },
        { name: 'd', type: 'DATE' },
        { name: 'j', type: 'JSON' },
        { name: 'y', type: 'BYTES' },
        { name: 'n', type: 'NUMERIC' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      ],
    });
    await insertRaw(table, [
      {
        json: {
          i: 7,
          f: 0.25,
          b: true,
          t: '2024-05-01T12:34:56.5Z',
          d: '2024-05-01',
          j: '{"k":1}',
          y: 'AQI=',
          n: '1.5',
          tags: ['a', 'b'],
        },
      },
      { json: {} },
    ]);
    const [rows] = await bigquery.query({
      query: 'SELECT * FROM q.t ORDER BY i NULLS LAST',
      parseJSON: true,
    } as never);
    const [full, empty] = rows as Record<string, unknown>[];
    expect(full!.i).toBe(7);
    expect(full!.f).toBe(0.25);
    expect(full!.b).toBe(true);
    expect((full!.t as { value: string }).value).toBe('2024-05-01T12:34:56.500Z');
    expect((full!.d as { value: string }).value).toBe('2024-05-01');
    expect(full!.j).toEqual({ k: 1 });
    expect(full!.y).toEqual(Buffer.from([1, 2]));
    expect(String(full!.n)).toBe('1.5');
    expect(full!.tags).toEqual(['a', 'b']);
    expect(empty).toEqual({
      i: null,
      f: null,
      b: null,
      t: null,
      d: null,
      j: null,
      y: null,
      n: null,
      tags: [],
    });
  });

  test('expressions get BigQuery types; parameters, project-qualified names and BigQuery quoting work', async () => {
    const { bigquery } = await start();
    const table = await makeTable(bigquery);
    await insertRaw(table, [{ json: { id: 'a', n: 1 } }, { json: { id: 'b', n: 2 } }]);
    const [rows] = await bigquery.query({
      query: `# count per id
        SELECT id, COUNT(*) AS c, SUM(n) * 1.5 AS s, MAX(n) > 1 AS big, "x" AS lit
        FROM \`${bigquery.projectId}.ds.items\`
        WHERE n >= @min AND id != 'it''s'
        GROUP BY id ORDER BY id`,
      params: { min: 1 },
    });
    expect(rows).toEqual([
      { id: 'a', c: 1, s: 1.5, big: false, lit: 'x' },
      { id: 'b', c: 1, s: 3, big: true, lit: 'x' },
    ]);
  });

  test('query jobs: createQueryJob, getQueryResults with pages, jobs.get; table.getRows', async () => {
    const { bigquery } = await start();
    const table = await makeTable(bigquery);
    await insertRaw(
      table,
      Array.from({ length: 5 }, (_, i) => ({ json: { id: `r${i}`, n: i } })),
    );
    const [job] = await bigquery.createQueryJob({ query: 'SELECT id FROM ds.items ORDER BY n' });
    const [page1, next] = await job.getQueryResults({ maxResults: 2, autoPaginate: false });
    expect(page1).toEqual([{ id: 'r0' }, { id: 'r1' }]);
    expect(next).toBeTruthy();
    const [page2] = await job.getQueryResults({ ...next, autoPaginate: false });
    expect(page2).toEqual([{ id: 'r2' }, { id: 'r3' }]);
    const [all] = await job.getQueryResults();
    expect(all.map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    const [meta] = await job.getMetadata();
    expect(meta.status.state).toBe('DONE');
    const [rows] = await table.getRows();
    expect(rows).toHaveLength(5);
    expect(rows.find((r) => r.id === 'r3')!.n).toBe(3);
  });

  test('DML and views; errors carry the DuckDB message, a missing table is 404', async () => {
    const { bigquery } = await start();
    const table = await makeTable(bigquery);
    await insertRaw(table, [{ json: { id: 'a', n: 1 } }, { json: { id: 'b', n: 2 } }]);
    await bigquery.query("DELETE FROM ds.items WHERE id = 'a'");
    await bigquery.dataset('ds').createTable('big_items', {
      view: { query: 'SELECT id FROM `ds.items` WHERE n > 1', useLegacySql: false },
    });
    expect((await bigquery.query('SELECT * FROM ds.big_items'))[0]).toEqual([{ id: 'b' }]);
    const [viewMeta] = await bigquery.dataset('ds').table('big_items').getMetadata();
    expect(viewMeta.type).toBe('VIEW');
    expect(viewMeta.schema.fields).toEqual([{ name: 'id', type: 'STRING', mode: 'NULLABLE' }]);
    await expect(bigquery.query('SELECT nope FROM ds.items')).rejects.toMatchObject({ code: 400 });
    await expect(bigquery.query('SELECT * FROM ds.missing')).rejects.toMatchObject({ code: 404 });
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

test('a data directory locked by another process is refused with a clear message', async () => {
  const dataDir = tmpDir();
  const first = await startWarehouseServer({ dataDir });
  await first.close();
  // Another process (e.g. a second `npm start`) holding the DuckDB file.
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `require('@duckdb/node-api').DuckDBInstance.create(process.argv[1]).then(() => { console.log('open'); setInterval(() => {}, 1000); });`,
      path.join(dataDir, 'warehouse.duckdb'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    await expect(startWarehouseServer({ dataDir })).rejects.toThrow(
      /already open .*only one warehouse server/is,
    );
  } finally {
    holder.kill();
  }
});

test('answers under /bigquery/v2 too, with BigQuery error JSON', async () => {
  const { server } = await start();
  const res = await fetch(`${server.url}/bigquery/v2/projects/p/datasets/missing`);
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({
    error: {
      code: 404,
      message: 'Not found: Dataset p:missing',
      errors: [{ message: 'Not found: Dataset p:missing', domain: 'global', reason: 'notFound' }],
      status: 'NOT_FOUND',
    },
  });
});

describe('SQL translation (BigQuery spellings → DuckDB)', () => {
  test.each([
    ['SELECT * FROM `my-proj.ds.t`', 'SELECT * FROM "ds"."t"'],
    ['SELECT * FROM `my-proj`.ds.t JOIN p.ds.u USING (id)', 'SELECT * FROM ds.t JOIN ds.u USING (id)'],
    ['SELECT a.b.c FROM ds.t AS a', 'SELECT a.b.c FROM ds.t AS a'],
    [`SELECT "it's", 'it\\'s' # note`, `SELECT 'it''s', 'it''s' -- note`],
    ['SELECT SAFE_CAST(x AS INT64) FROM t WHERE y = @y', 'SELECT TRY_CAST(x AS INT64) FROM t WHERE y = $y'],
  ])('%s', (bigquerySql, duckdbSql) => {
    expect(translateSql(bigquerySql)).toBe(duckdbSql);
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

  test('creates the analytics views over the events table, and a rerun replaces them', async () => {
    const { bigquery } = await start();
    const names = { events: 'events', rejects: 'rejected_events' };
    await ensureWarehouseTables(bigquery, 'customerio', names);
    await ensureWarehouseTables(bigquery, 'customerio', names);
    for (const view of ['events_unique', 'delivery_funnel', 'deliverability_daily', 'person_channel_state']) {
      const [meta] = await bigquery.dataset('customerio').table(view).getMetadata();
      expect(meta.type).toBe('VIEW');
    }
    await bigquery
      .dataset('customerio')
      .table('events')
      .insert(
        [{ insertId: 'e1', json: { event_id: 'e1', metric: 'sent', received_at: '2026-11-01T00:00:00Z' } }],
        {
          raw: true,
        },
      );
    const [rows] = await bigquery.query('SELECT event_id FROM `customerio.events_unique`');
    expect(rows).toEqual([{ event_id: 'e1' }]);
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
