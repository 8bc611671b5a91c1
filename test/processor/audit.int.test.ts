// Regression tests from the adversarial audit of the processor: inputs that Customer.io (or cioWebhook) can hand
// over and that were lost, mis-deduplicated or retried until dead-letter. Same wiring as process-push.int.test.ts: real
// Firestore emulator, the real BigQuery client against the local warehouse, the real TrackClient against the fake.
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BigQuery } from '@google-cloud/bigquery';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';
import { ensureWarehouseTables } from '../../scripts/local/warehouse/setup';
import { loadProcessorConfig } from '../../shared/config';
import { decideActions } from '../../shared/customerio/action-policy';
import { parseEvent } from '../../shared/customerio/event';
import { createLogger } from '../../shared/log';
import { buildProcessor, type Processor } from '../../functions/build-processor';
import { decodePushEnvelope } from '../../shared/processor/push-envelope';
import { eventInsertId } from '../../shared/warehouse/row';
import { envelope, startHarness, webhookAttributes, type Harness } from '../support/processor-harness';
import { plainRow } from '../support/rows';

/** The identity of an event of the default workspace. */
const dflt = (eventId: string) => ({ workspace: 'default', eventId });

let h: Harness | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const deliverEvent = (harness: Harness, body: object) => {
  const text = JSON.stringify(body);
  return harness.deliver({ data: text, attributes: webhookAttributes(text) });
};

describe('a large event (cioWebhook accepts bodies up to 5 MB)', () => {
  // The body of a `sent` event with Body Content on: the message HTML in data.content.
  const bigEvent = (bytes: number) => {
    const shell = {
      event_id: '01JBIGBIGBIGBIGBIGBIGBIGBI',
      object_type: 'email',
      metric: 'sent',
      timestamp: 1732551000,
      data: { identifiers: { id: 'u-big' }, delivery_id: 'dlv-big', content: '' },
    };
    const filler = bytes - Buffer.byteLength(JSON.stringify(shell));
    return JSON.stringify({ ...shell, data: { ...shell.data, content: '<p>'.padEnd(filler, 'x') } });
  };

  it('decodes a push envelope carrying 5 MB (7 MB of base64) without throwing', () => {
    const data = Buffer.alloc(5 * 1024 * 1024, 'x');
    const body = { message: { data: data.toString('base64'), messageId: 'm-big' } };
    // Before: the base64 check overflowed V8's regexp stack (RangeError) from about 4 MB of data.
    const result = decodePushEnvelope(body, undefined);
    expect(result.ok && result.message.data.equals(data)).toBe(true);
    // Still refused: a length that is not a multiple of 4, padding in the middle.
    expect(
      decodePushEnvelope({ message: { data: 'QUJD'.repeat(1_000_000) + 'A' } }, undefined),
    ).toMatchObject({
      ok: false,
      reason: 'data_not_base64',
    });
    expect(decodePushEnvelope({ message: { data: 'QQ==QUJD' } }, undefined)).toMatchObject({ ok: false });
  });

  it('processes a 4 MB event into one row instead of nacking it on every delivery', async () => {
    h = await startHarness();
    const text = bigEvent(4 * 1024 * 1024);
    // Before: 503 retryable_failure on every delivery (RangeError in the base64 check) until dead-letter.
    expect(await h.deliver({ data: text, attributes: webhookAttributes(text) })).toEqual({
      status: 200,
      outcome: 'processed',
    });
    const rows = (await h.eventRows()).map(plainRow);
    expect(rows.map((r) => [r.event_id, r.delivery_id])).toEqual([['01JBIGBIGBIGBIGBIGBIGBIGBI', 'dlv-big']]);
    expect(JSON.parse(rows[0].data as string)).toEqual((JSON.parse(text) as { data: unknown }).data);
  }, 120_000);

  it('completes a 5 MB event whose row the warehouse refuses: parked, the body cut to what the table takes', async () => {
    // The local warehouse caps a streamed row at 5 MB, like BigQuery: the row is refused as invalid, and the reject
    // row (the body as base64, 6.7 MB) too. Before: 503 on every delivery until dead-letter.
    h = await startHarness();
    const text = bigEvent(5 * 1024 * 1024);
    const raw = Buffer.from(text);
    expect(await h.deliver({ data: text, attributes: webhookAttributes(text) })).toEqual({
      status: 200,
      outcome: 'processed',
    });
    expect(await h.eventRows()).toEqual([]);
    const rejects = (await h.rejectRows()).map(plainRow);
    expect(rejects).toHaveLength(1);
    const sha = createHash('sha256').update(raw).digest('hex');
    expect(rejects[0]).toMatchObject({
      reason: 'row_invalid',
      event_id: '01JBIGBIGBIGBIGBIGBIGBIGBI',
      reject_id: sha,
    });
    expect(rejects[0].detail).toContain(`truncated to its first ${3 * 1024 * 1024} of ${raw.length} bytes`);
    expect(rejects[0].detail).toContain(sha);
    expect(
      Buffer.from(rejects[0].raw_body as string, 'base64').equals(raw.subarray(0, 3 * 1024 * 1024)),
    ).toBe(true);
    expect(await h.ledgerDoc('01JBIGBIGBIGBIGBIGBIGBIGBI')).toMatchObject({ state: 'done' });
    expect(await h.deliver({ data: text, attributes: webhookAttributes(text) })).toEqual({
      status: 200,
      outcome: 'duplicate',
    });
  }, 120_000);

  it('parks a flagged 5 MB body that is not an event, cut to fit, instead of nacking it forever', async () => {
    h = await startHarness();
    const raw = Buffer.alloc(5 * 1024 * 1024, 'y');
    expect(await h.deliver({ data: raw, attributes: { parse_error: 'invalid_json' } })).toEqual({
      status: 200,
      outcome: 'rejected',
    });
    const [reject] = (await h.rejectRows()).map(plainRow);
    expect(reject).toMatchObject({
      reason: 'parse_error',
      reject_id: createHash('sha256').update(raw).digest('hex'),
    });
    expect(Buffer.from(reject.raw_body as string, 'base64').length).toBe(3 * 1024 * 1024);
  }, 120_000);
});

describe('event_ids the ledger could not tell apart', () => {
  it('parks ids holding lone surrogates instead of taking the second for a duplicate of the first', async () => {
    h = await startHarness();
    // Two distinct ids; UTF-8 encoding (the ledger key's hash, Firestore, BigQuery) turns both into U+FFFD.
    const a = { event_id: 'ev-\ud800', object_type: 'email', metric: 'delivered', timestamp: 1732551000 };
    const b = { ...a, event_id: 'ev-\udbff' };
    const results = [await deliverEvent(h, a), await deliverEvent(h, b)];
    // Before: processed, then duplicate (the second event vanished without a trace).
    expect(results).toEqual([
      { status: 200, outcome: 'rejected' },
      { status: 200, outcome: 'rejected' },
    ]);
    const rejects = (await h.rejectRows()).map(plainRow);
    expect(rejects.map((r) => r.reason)).toEqual(['invalid_event', 'invalid_event']);
    expect(rejects.map((r) => Buffer.from(r.raw_body as string, 'base64').toString('utf8')).sort()).toEqual(
      [JSON.stringify(a), JSON.stringify(b)].sort(),
    );
    expect(await h.eventRows()).toEqual([]);
  });

  it('accepts any well-formed non-ASCII id', () => {
    for (const id of ['évènement-1', '事件-😀', 'x'.repeat(1024)]) {
      expect(parseEvent(Buffer.from(JSON.stringify({ event_id: id })))).toMatchObject({
        ok: true,
        event: { eventId: id },
      });
    }
  });
});

describe('timestamps in milliseconds', () => {
  it('stores and acts on an event whose timestamp is in unix milliseconds, instead of parking it', async () => {
    h = await startHarness();
    const bounce = {
      event_id: 'ms-bounce-1',
      object_type: 'email',
      metric: 'bounced',
      timestamp: 1732551100250,
      data: { identifiers: { id: 'u-ms' }, failure_message: '550 no such user' },
    };
    // Before: parked as invalid_event ("outside the representable range"): no row, no bounce attributes.
    expect(await deliverEvent(h, bounce)).toEqual({ status: 200, outcome: 'processed' });
    const [row] = (await h.eventRows()).map(plainRow);
    expect(row).toMatchObject({ event_id: 'ms-bounce-1', event_timestamp: '2024-11-25T16:11:40.250Z' });
    expect(h.track.calls.map((c) => c.body)).toEqual([
      { email_bounced: true, email_bounced_at: 1732551100, email_bounce_reason: '550 no such user' },
    ]);
  });

  it('still rejects values out of range in both units, and leaves seconds alone', () => {
    const ts = (timestamp: unknown) => parseEvent(Buffer.from(JSON.stringify({ event_id: 'e', timestamp })));
    expect(ts(1732551100)).toMatchObject({ ok: true, event: { timestamp: 1732551100 } });
    expect(ts('1732551100000')).toMatchObject({ ok: true, event: { timestamp: 1732551100 } });
    expect(ts(-1e12)).toMatchObject({ ok: true, event: { timestamp: -1e9 } });
    expect(ts(253402300799)).toMatchObject({ ok: true, event: { timestamp: 253402300799 } });
    expect(ts(1e15)).toMatchObject({ ok: false, reason: 'invalid_event' });
    expect(ts(-1e15)).toMatchObject({ ok: false, reason: 'invalid_event' });
  });
});

/**
 * A BigQuery stand-in in front of the local warehouse that enforces one more streaming-insert limit: an insertId
 * longer than 128 characters fails the request (400 invalid). Everything else is passed through unchanged.
 */
async function startInsertIdLimitProxy(
  target: string,
): Promise<{ url: string; refused: string[]; insertIds: string[] }> {
  const refused: string[] = [];
  const insertIds: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && /\/insertAll(\?|$)/.test(req.url ?? '')) {
        const rows =
          (JSON.parse(body.toString('utf8')) as { rows?: Array<{ insertId?: string }> }).rows ?? [];
        insertIds.push(...rows.map((r) => r.insertId ?? ''));
        const tooLong = rows.map((r) => r.insertId ?? '').filter((id) => id.length > 128);
        if (tooLong.length > 0) {
          refused.push(...tooLong);
          const message = 'The insertId is too long (at most 128 characters).';
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ error: { code: 400, message, errors: [{ reason: 'invalid', message }] } }),
          );
          return;
        }
      }
      const headers = { ...req.headers, host: new URL(target).host };
      const upstream = http.request(`${target}${req.url ?? ''}`, { method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused, insertIds };
}

describe('event_ids longer than BigQuery accepts as an insertId', () => {
  async function processorBehindProxy(): Promise<{
    processor: Processor;
    warehouse: WarehouseServer;
    refused: string[];
    insertIds: string[];
    table: string;
    dataset: string;
  }> {
    const id = randomUUID().slice(0, 8);
    const warehouse = await startWarehouseServer();
    cleanups.push(() => warehouse.close());
    const proxy = await startInsertIdLimitProxy(warehouse.url);
    const config = loadProcessorConfig({
      GOOGLE_CLOUD_PROJECT: `audit-${id}`,
      DEDUPE_COLLECTION: `audit_${id}`,
      BQ_DATASET: `audit_${id}`,
    });
    process.env.BIGQUERY_EMULATOR_HOST = warehouse.url;
    await ensureWarehouseTables(new BigQuery({ projectId: config.projectId }), config.bqDataset, {
      events: config.bqTable,
      rejects: config.bqRejectsTable,
    });
    // The processor's client is bound to the proxy (the client reads the variable in its constructor).
    process.env.BIGQUERY_EMULATOR_HOST = proxy.url;
    const processor = buildProcessor(
      config,
      createLogger('error', {}, () => undefined),
    );
    delete process.env.BIGQUERY_EMULATOR_HOST;
    cleanups.push(() => processor.close());
    return {
      processor,
      warehouse,
      refused: proxy.refused,
      insertIds: proxy.insertIds,
      table: config.bqTable,
      dataset: config.bqDataset,
    };
  }

  it('stores the row of a 300-character event_id (insertId derived from it), once across redeliveries', async () => {
    const { processor, warehouse, refused, insertIds, table, dataset } = await processorBehindProxy();
    const eventId = `01JLONG-${'z'.repeat(292)}`;
    const text = JSON.stringify({
      event_id: eventId,
      object_type: 'email',
      metric: 'delivered',
      timestamp: 1,
    });
    const push = (n: number) => {
      const { body, raw } = envelope({ data: text, attributes: webhookAttributes(text) }, `m-${n}`);
      return processor.handle(body, raw);
    };
    // Before: BigQuery refused the insertId, the event was parked as row_invalid and had no row.
    expect(await push(1)).toEqual({ status: 200, outcome: 'processed' });
    expect(await push(2)).toEqual({ status: 200, outcome: 'duplicate' });
    expect(refused).toEqual([]);
    // The request went through the BigQuery stand-in, with a derived id BigQuery accepts.
    expect(insertIds).toEqual([eventInsertId(dflt(eventId))]);
    const rows = await warehouse.query(`SELECT event_id FROM "${dataset}"."${table}"`);
    expect(rows).toEqual([{ event_id: eventId }]);
    expect(await warehouse.query(`SELECT * FROM "${dataset}".rejected_events`)).toEqual([]);
    expect(warehouse.stats.receivedByInsertId(table, eventInsertId(dflt(eventId)))).toBe(1);
  });

  it('keeps insertId = event_id up to 128 bytes and derives a stable short id beyond', () => {
    const ulid = '01JD2KB17F8G9H0J1K2M3N4P5Q';
    expect(eventInsertId(dflt(ulid))).toBe(ulid);
    expect(eventInsertId(dflt('a'.repeat(128)))).toBe('a'.repeat(128));
    const long = eventInsertId(dflt('a'.repeat(129)));
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(eventInsertId(dflt('a'.repeat(129)))).toBe(long);
    expect(eventInsertId(dflt('b'.repeat(129)))).not.toBe(long);
    // 50 three-byte characters are 150 bytes: hashed, so it fits however the limit is counted.
    expect(eventInsertId(dflt('€'.repeat(50)))).toMatch(/^sha256:/);
  });
});

describe('date attributes sent to Customer.io', () => {
  it('are whole unix seconds even when the body timestamp has a fraction', () => {
    const policy = { suppressOn: [], engagementAttributes: true, spamUnsubscribe: true };
    const attributes = (metric: string) => {
      const body = {
        event_id: 'e',
        object_type: 'email',
        metric,
        timestamp: 1732551100.999,
        data: { identifiers: { id: 'u' } },
      };
      const parsed = parseEvent(Buffer.from(JSON.stringify(body)));
      if (!parsed.ok) throw new Error(parsed.detail);
      const decision = decideActions(parsed.event, policy);
      if (!('actions' in decision)) throw new Error(`skipped: ${decision.skipped}`);
      return decision.actions.map((a) => (a.kind === 'identify' ? a.attributes : {}));
    };
    // Before: 1732551100.999, which Customer.io does not read as a date.
    expect(attributes('bounced')).toEqual([{ email_bounced: true, email_bounced_at: 1732551100 }]);
    expect(attributes('spammed')).toEqual([
      { email_complained: true, email_complained_at: 1732551100, unsubscribed: true },
    ]);
    expect(attributes('clicked')).toEqual([{ last_email_engaged_at: 1732551100 }]);
  });
});
