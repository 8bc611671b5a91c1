// The production wiring, locally: raw events published to a topic on the Pub/Sub emulator, a push subscription
// delivering them to cioProcessor served by functions-framework (functions/index.ts, as deployed), the ledger in
// the Firestore emulator, rows in the local warehouse, profile calls at the Track API fake.
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { PubSub } from '@google-cloud/pubsub';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';
import { ensureWarehouseTables } from '../../scripts/local/warehouse/setup';
import { webhookAttributes } from '../support/processor-harness';
import { startTrackApiServer, type TrackApiServer } from '../support/track-api-server';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const id = randomUUID().slice(0, 8);
const env = {
  GOOGLE_CLOUD_PROJECT: `proc-e2e-${id}`,
  CIO_SITE_ID: 'site-e2e',
  CIO_TRACK_API_KEY: 'key-e2e',
  DEDUPE_COLLECTION: `e2e_${id}`,
  BQ_DATASET: `e2e_${id}`,
  LOG_LEVEL: 'info',
};

// The processor logs one JSON line per delivery to stdout (Cloud Logging's format): collect the outcomes.
const outcomes: string[] = [];
const write = process.stdout.write.bind(process.stdout);
function captureLogs(): void {
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = chunk.toString();
    try {
      const line = JSON.parse(text) as { outcome?: unknown };
      if (typeof line.outcome === 'string') {
        outcomes.push(line.outcome);
        return true;
      }
    } catch {
      // not one of ours
    }
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
}

let warehouse: WarehouseServer;
let track: TrackApiServer;
let server: Server;
let pubsub: PubSub;

beforeAll(async () => {
  captureLogs();
  warehouse = await startWarehouseServer({ dedupeInsertIds: false });
  track = await startTrackApiServer();
  Object.assign(process.env, env, { CIO_TRACK_API_URL: track.url, BIGQUERY_EMULATOR_HOST: warehouse.url });
  await ensureWarehouseTables(new BigQuery({ projectId: env.GOOGLE_CLOUD_PROJECT }), env.BQ_DATASET, {
    events: 'events',
    rejects: 'rejected_events',
  });
  // Loads and registers both targets exactly as the deployed package does; cioProcessor reads the env above.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../../functions/index');
  server = getTestServer('cioProcessor');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pubsub = new PubSub({ projectId: env.GOOGLE_CLOUD_PROJECT });
});

afterAll(async () => {
  process.stdout.write = write;
  await pubsub?.close();
  await new Promise((resolve) => server?.close(resolve));
  await track?.close();
  await warehouse?.close();
});

async function until<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

it('processes what the webhook publishes, pushed by Pub/Sub: rows, rejects, actions, exactly once', async () => {
  const [topic] = await pubsub.createTopic(`cio-events-${id}`);
  const port = (server.address() as AddressInfo).port;
  await topic.createSubscription(`cio-processor-${id}`, {
    pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/` },
    ackDeadlineSeconds: 60,
  });

  const bounce = fs.readFileSync(path.join(FIXTURES, 'email-bounced-newsletter.json'));
  const sent = fs.readFileSync(path.join(FIXTURES, 'email-sent-campaign.json'));
  const garbage = Buffer.from('{"event_id": "cut off');
  await Promise.all([
    topic.publishMessage({ data: bounce, attributes: webhookAttributes(bounce.toString()) }),
    topic.publishMessage({ data: sent, attributes: webhookAttributes(sent.toString()) }),
    // Customer.io retried the bounce (our first answer was too slow): a second message with the same bytes.
    topic.publishMessage({ data: bounce, attributes: webhookAttributes(bounce.toString()) }),
    topic.publishMessage({
      data: garbage,
      attributes: { parse_error: 'not_json', received_at: '2024-11-25T16:30:00.000Z' },
    }),
  ]);

  const rows = await until(
    () =>
      warehouse.query(`SELECT event_id, metric, actions FROM "${env.BQ_DATASET}".events ORDER BY event_id`),
    (r) => r.length >= 2,
  );
  const rejects = await until(
    () => warehouse.query(`SELECT reason, raw_body FROM "${env.BQ_DATASET}".rejected_events`),
    (r) => r.length >= 1,
  );
  // Every message acked: the second copy of the bounce as a duplicate (after in_progress nacks if it arrived while
  // the first was being processed). Nothing was acked without being done.
  const acked = ['duplicate', 'processed', 'processed', 'rejected'];
  await until(
    async () => outcomes.filter((o) => acked.includes(o)).sort(),
    (o) => o.length >= 4,
  );
  expect(outcomes.filter((o) => acked.includes(o)).sort()).toEqual(acked);
  expect(outcomes.filter((o) => !acked.includes(o) && o !== 'in_progress_nack')).toEqual([]);
  expect(await warehouse.query(`SELECT event_id FROM "${env.BQ_DATASET}".events`)).toHaveLength(2);
  expect(rows).toEqual([
    { event_id: '01JD2K8A1B2C3D4E5F6G7H8J9K', metric: 'sent', actions: [] },
    { event_id: '01JD2KB17F8G9H0J1K2M3N4P5Q', metric: 'bounced', actions: ['identify:email_bounced'] },
  ]);
  expect(rejects).toHaveLength(1);
  expect(rejects[0].reason).toBe('parse_error');
  expect(Buffer.from(rejects[0].raw_body as Uint8Array)).toEqual(garbage);
  expect(track.effects().map((c) => `${c.method} ${c.path}`)).toEqual(['PUT /api/v1/customers/u-1003']);
  expect(warehouse.stats.receivedByInsertId('events', '01JD2KB17F8G9H0J1K2M3N4P5Q')).toBe(1);
});
