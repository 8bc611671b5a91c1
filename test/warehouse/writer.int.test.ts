// The BigQuery writer through the real @google-cloud/bigquery client against the local warehouse server: batching,
// per-row outcomes of partial failures, whole-request failures and bounded retries.
import { randomUUID } from 'node:crypto';
import { BigQuery, type Table } from '@google-cloud/bigquery';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';
import { RetryableError } from '../../shared/errors';
import { DEFAULT_BATCH, WarehouseWriter, createBigQueryClient } from '../../shared/warehouse/writer';
import { startHarness, webhookAttributes, type Harness } from '../support/processor-harness';

const SCHEMA = {
  fields: [
    { name: 'id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'payload', type: 'STRING', mode: 'NULLABLE' },
  ],
};

let server: WarehouseServer | undefined;
let h: Harness | undefined;
afterEach(async () => {
  await server?.close();
  await h?.close();
  server = undefined;
  h = undefined;
});

async function table(): Promise<{ server: WarehouseServer; table: Table; bigquery: BigQuery }> {
  server = await startWarehouseServer({ dedupeInsertIds: false });
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  const bigquery = createBigQueryClient(`wh-writer-${randomUUID().slice(0, 8)}`, 10_000);
  delete process.env.BIGQUERY_EMULATOR_HOST;
  const [dataset] = await bigquery.createDataset('ds');
  const [t] = await dataset.createTable('items', { schema: SCHEMA });
  return { server, table: t, bigquery };
}

const soon = () => Date.now() + 30_000;
const stored = async (s: WarehouseServer) =>
  (await s.query('SELECT id FROM ds.items ORDER BY id')).map((r) => r.id as string);

it('sends a lone row at once instead of waiting for the batch window', async () => {
  const { server: s, table: t } = await table();
  const writer = new WarehouseWriter(t, { maxWaitMs: 10 * 60_000 });
  const slot = writer.expect();
  await expect(slot.insert('a', { id: 'a' }, soon())).resolves.toEqual({ kind: 'inserted' });
  expect(s.stats.insertAllRequests).toBe(1);
});

it('waits for every announced row, then shares one request between them', async () => {
  const { server: s, table: t } = await table();
  const writer = new WarehouseWriter(t, { maxWaitMs: 10 * 60_000 });
  const slots = Array.from({ length: 5 }, () => writer.expect());
  const first = slots.slice(0, 4).map((slot, i) => slot.insert(`r${i}`, { id: `r${i}` }, soon()));
  // The fifth invocation turns out to need no row (e.g. a duplicate): the batch goes without it.
  slots[4].cancel();
  await expect(Promise.all(first)).resolves.toEqual(Array(4).fill({ kind: 'inserted' }));
  expect(s.stats.insertAllRequests).toBe(1);
  expect(await stored(s)).toEqual(['r0', 'r1', 'r2', 'r3']);
});

it('splits batches at maxRows and at maxBytes', async () => {
  const { server: s, table: t } = await table();
  const byRows = new WarehouseWriter(t, { maxRows: 4 });
  const slots = Array.from({ length: 10 }, () => byRows.expect());
  await Promise.all(slots.map((slot, i) => slot.insert(`n${i}`, { id: `n${i}` }, soon())));
  expect(s.stats.insertAllRequests).toBe(3);

  // Three 4 MB rows: one request would exceed BigQuery's 10 MB limit, the 8 MB budget sends them apart.
  const bySize = new WarehouseWriter(t);
  const big = 'x'.repeat(4 * 1024 * 1024);
  const bigSlots = Array.from({ length: 3 }, () => bySize.expect());
  const results = await Promise.all(
    bigSlots.map((slot, i) => slot.insert(`big${i}`, { id: `big${i}`, payload: big }, soon())),
  );
  expect(results).toEqual(Array(3).fill({ kind: 'inserted' }));
  expect(s.stats.insertAllRequests).toBe(6);
  expect((await stored(s)).filter((id) => id.startsWith('big'))).toHaveLength(3);
});

it('reports an invalid row as invalid and retries the rows that were only stopped', async () => {
  const { server: s, table: t } = await table();
  s.faults.add({ kind: 'partial', reason: 'invalid', rows: (row) => (row as { id: string }).id === 'bad' });
  const writer = new WarehouseWriter(t);
  const slots = ['ok1', 'bad', 'ok2'].map(() => writer.expect());
  const results = await Promise.all(
    ['ok1', 'bad', 'ok2'].map((id, i) => slots[i].insert(id, { id }, soon())),
  );
  expect(results[0]).toEqual({ kind: 'inserted' });
  expect(results[1]).toMatchObject({
    kind: 'invalid',
    message: expect.stringContaining('invalid') as string,
  });
  expect(results[2]).toEqual({ kind: 'inserted' });
  expect(await stored(s)).toEqual(['ok1', 'ok2']);
  // One shared request, then the stopped rows once more; the invalid row is not resent.
  expect(['ok1', 'bad', 'ok2'].map((id) => s.stats.receivedByInsertId('items', id))).toEqual([2, 1, 2]);
});

it('retries each row alone after a 400 for the whole request, finding the bad one', async () => {
  const { server: s, table: t } = await table();
  s.faults.add({ kind: 'status', status: 400, times: 2, reason: 'invalid' });
  const writer = new WarehouseWriter(t);
  const slots = ['a', 'b', 'c'].map(() => writer.expect());
  const results = await Promise.all(['a', 'b', 'c'].map((id, i) => slots[i].insert(id, { id }, soon())));
  // The batch and then the first single-row request fail with 400: that row is invalid, the others land.
  expect(results.filter((r) => r.kind === 'invalid')).toHaveLength(1);
  expect(results.filter((r) => r.kind === 'inserted')).toHaveLength(2);
  expect(await stored(s)).toHaveLength(2);
});

it('gives up with a RetryableError after maxAttempts failed sends', async () => {
  const { server: s, table: t } = await table();
  s.faults.add({ kind: 'status', status: 503, times: Infinity });
  const writer = new WarehouseWriter(t, { maxAttempts: 3 });
  const failure = writer.insert('x', { id: 'x' }, soon());
  await expect(failure).rejects.toBeInstanceOf(RetryableError);
  await expect(failure).rejects.toMatchObject({ classification: 'warehouse:503' });
  expect(s.stats.receivedByInsertId('items', 'x')).toBe(3);
  expect(await stored(s)).toEqual([]);
});

// The batch closes when every invocation that announced itself has brought its row. The wait cap is lifted here so
// that the count depends on that rule, not on how fast this (shared, loaded) machine runs 200 ledger claims; the
// figure under the default 250 ms cap is the benchmark's (insertAll requests per 1000 events).
it('batches 200 concurrent events into at most 4 insertAll requests', async () => {
  h = await startHarness({ tuning: { batch: { ...DEFAULT_BATCH, maxWaitMs: 30_000 } } });
  const harness = h;
  const events = Array.from({ length: 200 }, (_, i) =>
    JSON.stringify({
      event_id: `batch-${i}`,
      object_type: 'email',
      metric: 'delivered',
      timestamp: 1732550470 + i,
      data: { identifiers: { id: `u-${i}` }, delivery_id: `d-${i}` },
    }),
  );
  const results = await Promise.all(
    events.map((text) => harness.deliver({ data: text, attributes: webhookAttributes(text) })),
  );
  expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(['processed']));
  expect(await h.eventRows()).toHaveLength(200);
  expect(h.warehouse.stats.insertAllRequests).toBeLessThanOrEqual(4);
});
