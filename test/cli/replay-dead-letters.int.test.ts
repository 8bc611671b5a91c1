// `cio-webhooks replay-dead-letters` on the Pub/Sub emulator: a message whose push endpoint keeps failing is
// dead-lettered after 5 deliveries; --dry-run lists it without moving it; a replay puts it back on the events
// topic (same data, same attributes) once the endpoint is healthy, and the dead-letter subscription is empty after.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import { runCli, type CliRun } from '../support/cli';

jest.setTimeout(120_000);

const projectId = `replay-test-${process.pid}-${Date.now()}`;
const names = {
  topic: 'events-replay',
  push: 'events-replay-push',
  dlt: 'events-replay-dl',
  dls: 'events-replay-dl-sub',
};
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-replay-'));

interface Delivery {
  data: string;
  attributes: Record<string, string>;
}

let healthy = false;
let failedDeliveries = 0;
const accepted: Delivery[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const envelope = JSON.parse(Buffer.concat(chunks).toString()) as {
      message: { data: string; attributes?: Record<string, string> };
    };
    if (!healthy) {
      failedDeliveries += 1;
      res.statusCode = 500;
    } else {
      accepted.push({
        data: Buffer.from(envelope.message.data, 'base64').toString(),
        attributes: envelope.message.attributes ?? {},
      });
      res.statusCode = 204;
    }
    res.end();
  });
});
const pubsub = new PubSub({ projectId });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const [dlt] = await pubsub.createTopic(names.dlt);
  await dlt.createSubscription(names.dls, { ackDeadlineSeconds: 30 });
  const [topic] = await pubsub.createTopic(names.topic);
  await topic.createSubscription(names.push, {
    pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/` },
    deadLetterPolicy: { deadLetterTopic: dlt.name, maxDeliveryAttempts: 5 },
    retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 1 } },
  });
});

afterAll(async () => {
  await pubsub.close();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(localDir, { recursive: true, force: true });
});

function run(...argv: string[]): Promise<CliRun> {
  return runCli(['replay-dead-letters', ...argv], {
    env: { PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST },
    localDir,
  });
}

const target = ['--project', projectId, '--subscription', names.dls, '--topic', names.topic];

it('lists a dead letter with --dry-run, replays it once the processor is healthy, and acks it', async () => {
  const data = fs.readFileSync(
    path.join(__dirname, '..', 'fixtures', 'events', 'email-bounced-newsletter.json'),
    'utf8',
  );
  const attributes = {
    event_id: '01JD2KB17F8G9H0J1K2M3N4P5Q',
    object_type: 'email',
    metric: 'bounced',
    cio_timestamp: '1732551105',
    received_at: '2024-11-25T16:11:45.000Z',
  };
  await pubsub.topic(names.topic).publishMessage({ data: Buffer.from(data), attributes });

  // Five failed deliveries, then Pub/Sub moves it to the dead-letter topic (no clock assumptions: poll).
  let listing = await run(...target, '--dry-run');
  for (let i = 0; i < 90 && !listing.out.includes('1 dead letter would be replayed'); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    listing = await run(...target, '--dry-run');
  }
  expect(listing.code).toBe(0);
  expect(listing.out).toContain('1 dead letter would be replayed (--dry-run: nothing changed)');
  expect(listing.out).toMatch(
    /listed +01JD2KB17F8G9H0J1K2M3N4P5Q {2}email\/bounced {2}\d+ bytes, dead after 5 deliveries/,
  );
  expect(failedDeliveries).toBe(5);

  // A dry run leaves it there.
  const again = await run(...target, '--dry-run');
  expect(again.out).toContain('1 dead letter would be replayed');
  expect(accepted).toHaveLength(0);

  healthy = true;
  const replay = await run(...target);
  expect(replay.err).toBe('');
  expect(replay.code).toBe(0);
  expect(replay.out).toContain(`replayed 1 dead letter to ${names.topic}`);

  for (let i = 0; i < 60 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 500));
  expect(accepted).toEqual([{ data, attributes }]); // same bytes, same attributes, no dead-letter bookkeeping

  const after = await run(...target, '--dry-run');
  expect(after.out).toContain('0 dead letters would be replayed');
});

describe('bad command lines', () => {
  it.each([
    [['--max', '0'], /--max must be between 1 and/],
    [['--dry-run', 'extra'], /Unexpected argument 'extra'/],
    [['--subscription'], /--subscription/],
    [[], /no --project given and no local stack is running/],
  ])('%j', async (argv, message) => {
    const { code, err } = await run(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err.trimEnd().split('\n')).toHaveLength(1);
  });
});
