// One processor wired to real dependencies for a test: the Firestore emulator (global setup), a local warehouse
// server (the BigQuery fake, at the HTTP boundary), the Track API fake, and a unique project / collection /
// dataset so tests never see each other's data. Deliveries go through `processor.handle` exactly as
// functions-framework hands them over: the parsed envelope and its raw bytes.
import { randomUUID } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { Firestore } from '@google-cloud/firestore';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';
import { ensureWarehouseTables } from '../../scripts/local/warehouse/setup';
import { loadProcessorConfig, type ProcessorConfig } from '../../shared/config';
import { ledgerDocId } from '../../shared/processor/ledger';
import { createLogger } from '../../shared/log';
import { buildProcessor, type Processor, type ProcessorTuning } from '../../functions/build-processor';
import type { PushResult } from '../../shared/processor/process-push';
import { startTrackApiServer, type TrackApiServer } from './track-api-server';

/** The identity of an event of the default workspace. */
const dflt = (eventId: string) => ({ workspace: 'default', eventId });

export interface HarnessOptions {
  /** Extra processor environment (e.g. CIO_SUPPRESS_ON, DEDUPE_LEASE_SECONDS). */
  env?: Record<string, string>;
  /** false: no Track credentials (dry-run). Default true. */
  live?: boolean;
  /** false: the warehouse stores repeated insertIds, so double inserts are visible. Default false. */
  dedupeInsertIds?: boolean;
  tuning?: ProcessorTuning;
}

export interface Delivery {
  data?: Buffer | string;
  attributes?: Record<string, string>;
  messageId?: string;
  publishTime?: string;
  deliveryAttempt?: number;
}

export interface Harness {
  config: ProcessorConfig;
  processor: Processor;
  warehouse: WarehouseServer;
  track: TrackApiServer;
  firestore: Firestore;
  /** Every structured log line the processor wrote. */
  logs: Array<Record<string, unknown>>;
  /** Delivers one push envelope built around `data` (bytes as published). */
  deliver(delivery: Delivery): Promise<PushResult>;
  /** Posts an arbitrary request body, e.g. a broken envelope. */
  post(body: unknown, raw: Buffer): Promise<PushResult>;
  /** Delivers like Pub/Sub: nacked deliveries are retried (after `retryDelayMs`) until acked. */
  deliverUntilAcked(delivery: Delivery, retryDelayMs?: number, maxAttempts?: number): Promise<PushResult[]>;
  eventRows(): Promise<Array<Record<string, unknown>>>;
  rejectRows(): Promise<Array<Record<string, unknown>>>;
  ledgerDoc(eventId: string): Promise<Record<string, unknown> | undefined>;
  close(): Promise<void>;
}

export function envelope(delivery: Delivery, messageId: string): { body: object; raw: Buffer } {
  const data =
    typeof delivery.data === 'string' ? Buffer.from(delivery.data) : (delivery.data ?? Buffer.alloc(0));
  const body = {
    message: {
      data: data.toString('base64'),
      attributes: delivery.attributes ?? {},
      messageId: delivery.messageId ?? messageId,
      message_id: delivery.messageId ?? messageId,
      publishTime: delivery.publishTime ?? '2024-11-25T16:30:00.123456Z',
      publish_time: delivery.publishTime ?? '2024-11-25T16:30:00.123456Z',
    },
    subscription: 'projects/test/subscriptions/cio-processor',
    ...(delivery.deliveryAttempt !== undefined && { deliveryAttempt: delivery.deliveryAttempt }),
  };
  return { body, raw: Buffer.from(JSON.stringify(body)) };
}

/** The same attributes cioWebhook publishes for a parseable event. */
export function webhookAttributes(
  raw: string,
  receivedAt = '2024-11-25T16:30:00.000Z',
): Record<string, string> {
  const body = JSON.parse(raw) as Record<string, unknown>;
  const attrs: Record<string, string> = { received_at: receivedAt, cio_timestamp: '1732552200' };
  for (const key of ['event_id', 'object_type', 'metric']) {
    if (typeof body[key] === 'string') attrs[key] = body[key];
  }
  return attrs;
}

let seq = 0;

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const id = `${process.pid}_${++seq}_${randomUUID().slice(0, 6)}`;
  const warehouse = await startWarehouseServer({ dedupeInsertIds: options.dedupeInsertIds ?? false });
  const track = await startTrackApiServer();
  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: `proc-test-${id.replace(/_/g, '-')}`,
    CIO_TRACK_API_URL: track.url,
    DEDUPE_COLLECTION: `events_${id}`,
    BQ_DATASET: `cio_${id}`,
    LOG_LEVEL: 'debug',
    ...(options.live !== false && { CIO_SITE_ID: 'site-1', CIO_TRACK_API_KEY: 'key-1' }),
    ...options.env,
  };
  const config = loadProcessorConfig(env);
  // The BigQuery client reads BIGQUERY_EMULATOR_HOST in its constructor: bind this harness's clients to its server.
  process.env.BIGQUERY_EMULATOR_HOST = warehouse.url;
  const bigquery = new BigQuery({ projectId: config.projectId });
  await ensureWarehouseTables(bigquery, config.bqDataset, {
    events: config.bqTable,
    rejects: config.bqRejectsTable,
  });
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger('debug', {}, (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const processor = buildProcessor(config, logger, options.tuning);
  delete process.env.BIGQUERY_EMULATOR_HOST;
  const firestore = new Firestore({ projectId: config.projectId });
  let messages = 0;

  const deliver = (delivery: Delivery) => {
    const { body, raw } = envelope(delivery, `m-${++messages}`);
    return processor.handle(body, raw);
  };
  const rows = (table: string) =>
    warehouse.query(`SELECT * FROM "${config.bqDataset}"."${table}" ORDER BY 1`) as Promise<
      Array<Record<string, unknown>>
    >;

  return {
    config,
    processor,
    warehouse,
    track,
    firestore,
    logs,
    deliver,
    post: (body, raw) => processor.handle(body, raw),
    async deliverUntilAcked(delivery, retryDelayMs = 200, maxAttempts = 200) {
      const results: PushResult[] = [];
      for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
        const result = await deliver({ ...delivery, deliveryAttempt: attempt });
        results.push(result);
        if (result.status === 200) return results;
        await new Promise((r) => setTimeout(r, retryDelayMs));
      }
      throw new Error(
        `not acked after ${maxAttempts} deliveries: ${results.map((r) => r.outcome).join(', ')}`,
      );
    },
    eventRows: () => rows(config.bqTable),
    rejectRows: () => rows(config.bqRejectsTable),
    async ledgerDoc(eventId) {
      const snap = await firestore
        .collection(config.dedupeCollection)
        .doc(ledgerDocId(dflt(eventId)))
        .get();
      return snap.data();
    },
    async close() {
      await processor.close();
      await firestore.terminate();
      await track.close();
      await warehouse.close();
    },
  };
}
