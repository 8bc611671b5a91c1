// `cio-webhooks send` against a tiny local receiver that checks every request the way the webhook does (the
// project's own verifier, on the raw bytes), and the command line's error handling.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../shared/webhook/signature';
import { main } from '../../scripts/cli/index';
import type { Io } from '../../scripts/cli/args';
import { sign } from '../../scripts/cli/send';
import { METRICS_BY_OBJECT_TYPE } from '../../scripts/cli/generate-events';

const KEY = 'cli-send-test-key';
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');

interface Received {
  body: Buffer;
  verified: boolean;
}

interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** Answers 200 to correctly signed requests, 401 otherwise (or `status` when set). */
async function startReceiver(status?: (body: Buffer) => number): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const result = verifySignature(
        { signature: req.headers['x-cio-signature'], timestamp: req.headers['x-cio-timestamp'], body },
        { keys: [KEY], maxAgeSeconds: 60, maxFutureSeconds: 60 },
        Date.now(),
      );
      received.push({ body, verified: result.ok });
      res.statusCode = status?.(body) ?? (result.ok ? 200 : 401);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function testIo(
  env: Record<string, string | undefined> = {},
): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-send-'));
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    isTTY: false,
    env,
    localDir,
    stdout: () => out,
    stderr: () => err,
  };
}

let receiver: Receiver;
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
});

it('signs like customerio-node (the golden vectors)', () => {
  const vectors = JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'signature-vectors.json'), 'utf8'),
  ) as Array<{ key: string; timestamp: string; body: string; signature: string }>;
  expect(vectors.length).toBeGreaterThan(0);
  for (const v of vectors) expect(sign(v.key, v.timestamp, Buffer.from(v.body))).toBe(v.signature);
});

it('--all POSTs every fixture byte for byte, correctly signed, and summarises', async () => {
  const io = testIo();
  const code = await main(['send', '--all', '--url', receiver.url, '--key', KEY], io);
  expect(io.stderr()).toBe('');
  expect(code).toBe(0);
  const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  expect(receiver.received).toHaveLength(files.length);
  expect(receiver.received.every((r) => r.verified)).toBe(true);
  const sent = receiver.received.map((r) => r.body.toString('utf8')).sort();
  const onDisk = files.map((f) => fs.readFileSync(path.join(FIXTURES, f), 'utf8')).sort();
  expect(sent).toEqual(onDisk);
  expect(io.stdout()).toContain(`sent ${files.length} requests to ${receiver.url}`);
  expect(io.stdout()).toContain(`200 ×${files.length}`);
  expect(io.stdout()).toMatch(/latency {2}p50 [\d.]+ ms · p99 [\d.]+ ms · max [\d.]+ ms/);
  // Small runs list every request.
  expect(io.stdout()).toContain('email/bounced (email-bounced-newsletter.json)');
});

it('sends one file, and --repeat re-sends the same bytes like a retry', async () => {
  const file = path.join(FIXTURES, 'email-spammed.json');
  const io = testIo();
  expect(await main(['send', file, '--repeat', '3', '--url', receiver.url, '--key', KEY], io)).toBe(0);
  expect(receiver.received.map((r) => r.body.toString())).toEqual(
    Array(3).fill(fs.readFileSync(file, 'utf8')),
  );
  expect(receiver.received.every((r) => r.verified)).toBe(true);
});

it('--generate with --url: 300 requests, 60 of them exact re-sends, every pair covered', async () => {
  const io = testIo({ CIO_WEBHOOK_SIGNING_KEYS: `${KEY},other-key` });
  const code = await main(
    [
      'send',
      '--generate',
      '300',
      '--duplicates',
      '0.2',
      '--seed',
      '42',
      '--concurrency',
      '16',
      '--url',
      receiver.url,
    ],
    io,
  );
  expect(io.stderr()).toBe('');
  expect(code).toBe(0);
  expect(receiver.received).toHaveLength(300);
  expect(receiver.received.every((r) => r.verified)).toBe(true);
  const bodies = new Map<string, string>();
  const pairs = new Set<string>();
  let duplicates = 0;
  for (const { body } of receiver.received) {
    const event = JSON.parse(body.toString()) as { event_id: string; object_type: string; metric: string };
    const seen = bodies.get(event.event_id);
    if (seen !== undefined) {
      duplicates += 1;
      expect(body.toString()).toBe(seen); // a duplicate is the same bytes, not just the same id
    } else {
      bodies.set(event.event_id, body.toString());
    }
    pairs.add(`${event.object_type}/${event.metric}`);
  }
  expect(duplicates).toBe(60);
  const expected = Object.entries(METRICS_BY_OBJECT_TYPE).flatMap(([t, ms]) => ms.map((m) => `${t}/${m}`));
  expect([...pairs].sort()).toEqual(expected.sort());
  expect(io.stdout()).toContain('--seed 42');
  expect(io.stdout()).toContain('200 ×300');
});

it('exits 1 and counts the statuses when the receiver refuses requests', async () => {
  await receiver.close();
  receiver = await startReceiver((body) => (body.includes('"bounced"') ? 503 : 200));
  const io = testIo();
  const code = await main(['send', '--all', '--url', receiver.url, '--key', KEY], io);
  expect(code).toBe(1);
  expect(io.stdout()).toMatch(/status {3}200 ×13, 503 ×1/);
  expect(io.stderr()).toContain('1 of 14 requests were not accepted');
});

it('a wrong key is refused by the verifier (the receiver really checks)', async () => {
  const io = testIo();
  const code = await main(['send', '--all', '--url', receiver.url, '--key', 'not-the-key'], io);
  expect(code).toBe(1);
  expect(io.stdout()).toContain('401 ×14');
});

it('exits 1 when nothing listens at the URL', async () => {
  const url = receiver.url;
  await receiver.close();
  receiver = await startReceiver();
  const io = testIo();
  const code = await main(['send', path.join(FIXTURES, 'push-sent.json'), '--url', url, '--key', KEY], io);
  expect(code).toBe(1);
  expect(io.stdout()).toContain('ECONNREFUSED ×1');
});

describe('bad command lines: one line on stderr, exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['no source', ['send', '--url', 'http://127.0.0.1:9/', '--key', 'k'], /choose what to send/],
    [
      'two sources',
      ['send', '--all', '--generate', '5', '--url', 'http://127.0.0.1:9/', '--key', 'k'],
      /choose/,
    ],
    [
      'bad number',
      ['send', '--all', '--concurrency', 'lots'],
      /--concurrency must be a whole number, got "lots"/,
    ],
    [
      'out of range',
      ['send', '--generate', '10', '--duplicates', '1.5'],
      /--duplicates must be between 0 and 0.99/,
    ],
    ['unknown flag', ['send', '--al'], /Unknown option '--al'/],
    ['missing value', ['send', '--all', '--url'], /--url/],
    ['no stack, no url', ['send', '--all'], /no --url given and no local stack is running/],
    ['bad url', ['send', '--all', '--url', 'ftp://x', '--key', 'k'], /--url must be an http\(s\) URL/],
    [
      'unknown file',
      ['send', '/nonexistent/event.json', '--url', 'http://127.0.0.1:9/', '--key', 'k'],
      /cannot read/,
    ],
    ['unknown command', ['sned'], /unknown command "sned"/],
  ];
  it.each(cases)('%s', async (_name, argv, message) => {
    const io = testIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.stderr()).toMatch(message);
    expect(io.stderr().trimEnd().split('\n')).toHaveLength(1);
    expect(receiver.received).toHaveLength(0);
  });
});

it('a stack started with CIO_WEBHOOK_SIGNING_KEYS: says to export the same key here, sends nothing', async () => {
  const io = testIo();
  const state = { pid: process.pid, webhookUrl: receiver.url, signingKeyFile: null };
  fs.writeFileSync(path.join(io.localDir!, 'stack.json'), JSON.stringify(state));
  expect(await main(['send', '--all'], io)).toBe(2);
  expect(io.stderr()).toMatch(/the local stack signs with the CIO_WEBHOOK_SIGNING_KEYS it was started with/);
  expect(receiver.received).toHaveLength(0);
});

it('--help explains each command and the top level', async () => {
  for (const argv of [['--help'], ['send', '--help'], ['replay-dead-letters', '--help']]) {
    const io = testIo();
    expect(await main(argv, io)).toBe(0);
    expect(io.stdout()).toMatch(/^Usage: cio-webhooks/);
  }
  const io = testIo();
  expect(await main([], io)).toBe(2);
  expect(io.stdout()).toContain('send');
});

it('the built `cio-webhooks` binary runs with a shebang and exits 2 on a bad flag', () => {
  const bin = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli', 'index.js');
  expect(fs.readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  const run = spawnSync(process.execPath, [bin, 'send', '--bogus'], { encoding: 'utf8' });
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/^cio-webhooks send: Unknown option '--bogus'.*\n$/);
});
