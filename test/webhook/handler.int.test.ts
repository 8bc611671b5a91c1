// cioWebhook end to end: real functions-framework server (as production builds it: functions/index leaves request
// bodies to the handler), real Pub/Sub client, real emulator. Messages are pulled back from the emulator.
import fs from 'node:fs';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import '../../functions/index';
import * as functions from '@google-cloud/functions-framework';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadWebhookConfig, type WebhookConfig } from '../../shared/config';
import { createLogger } from '../../shared/log';
import { createPublisher, type Publisher } from '../../shared/webhook/publisher';
import { createWebhookHandler, type WebhookHandlerDeps } from '../../shared/webhook/handler';
import { BodyBudget } from '../../shared/request-body';
import { freePort } from '../../scripts/local/emulators';
import { TestProject, type PulledMessage } from '../support/pubsub';

const KEYS = ['whsec-old-key-0', 'whsec-new-key-1'];
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const MiB = 1024 * 1024;

type LogLine = Record<string, unknown> & { severity: string; message: string };

interface Served {
  url: string;
  logs: LogLine[];
  close(): Promise<void>;
}

let served = 0;
async function serve(handler: HttpFunction): Promise<{ url: string; close(): Promise<void> }> {
  const name = `webhookUnderTest${++served}`;
  functions.http(name, handler);
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A webhook handler with its own publisher and captured logs. */
async function startWebhook(
  publisher: Publisher,
  overrides: Partial<WebhookConfig> = {},
  deps: Pick<WebhookHandlerDeps, 'now' | 'budget'> = {},
): Promise<Served> {
  const logs: LogLine[] = [];
  const logger = createLogger('debug', { function: 'cioWebhook' }, (line) => logs.push(JSON.parse(line)));
  const config = {
    ...loadWebhookConfig({ GOOGLE_CLOUD_PROJECT: 'unused', CIO_WEBHOOK_SIGNING_KEYS: KEYS.join(',') }),
    ...overrides,
  };
  const server = await serve(createWebhookHandler({ config, publisher, logger, ...deps }));
  return {
    ...server,
    logs,
    close: async () => {
      await server.close();
      await publisher.close();
    },
  };
}

function sign(key: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', key).update(`v0:${timestamp}:`).update(body).digest('hex');
}

const nowSeconds = () => String(Math.floor(Date.now() / 1000));

interface PostOptions {
  key?: string;
  timestamp?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
  method?: string;
}

async function post(url: string, body: string | Buffer | undefined, options: PostOptions = {}) {
  const timestamp = options.timestamp ?? nowSeconds();
  const headers: Record<string, string> = { ...options.headers };
  if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
  if (options.key !== undefined) {
    headers['x-cio-timestamp'] = timestamp;
    headers['x-cio-signature'] = sign(options.key, timestamp, body ?? '');
  }
  const res = await fetch(url, {
    method: options.method ?? 'POST',
    headers,
    body: body === undefined ? undefined : new Uint8Array(Buffer.from(body)),
    // A generous wait, not a speed assertion: the handler must answer on its own (budget 2.5 s).
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function signedHeaders(key: string, body: string | Buffer, timestamp = nowSeconds()) {
  return { 'x-cio-timestamp': timestamp, 'x-cio-signature': sign(key, timestamp, body) };
}

let project: TestProject;
let topicId: string;
let webhook: Served;

beforeAll(async () => {
  project = TestProject.create('webhook-test');
  topicId = await project.createTopic('cio-events');
  webhook = await startWebhook(
    createPublisher({ projectId: project.projectId, topic: topicId, apiEndpoint: project.host }),
  );
});

afterAll(async () => {
  await webhook?.close();
  await project?.close();
});

function onlyMessage(messages: PulledMessage[]): PulledMessage {
  expect(messages).toHaveLength(1);
  return messages[0];
}

describe('signed events are published byte for byte', () => {
  const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

  it('has fixtures to send', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtures)('%s → 200, exact bytes and envelope attributes on the topic', async (file) => {
    const bytes = fs.readFileSync(path.join(FIXTURES, file));
    const event = JSON.parse(bytes.toString('utf8')) as {
      event_id: string;
      object_type: string;
      metric: string;
    };
    const sub = await project.subscribe(topicId);
    const timestamp = nowSeconds();
    const before = Date.now();

    const res = await post(webhook.url, bytes, { key: KEYS[0], timestamp });

    expect(res).toMatchObject({ status: 200, text: 'ok' });
    const message = onlyMessage(await sub.drain());
    expect(message.data.equals(bytes)).toBe(true);
    expect(message.orderingKey).toBe('');
    expect(message.attributes).toEqual({
      event_id: event.event_id,
      object_type: event.object_type,
      metric: event.metric,
      workspace: 'default',
      cio_timestamp: timestamp,
      received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const receivedAt = Date.parse(message.attributes.received_at);
    expect(receivedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(receivedAt).toBeLessThanOrEqual(Date.now());

    const log = webhook.logs.find((l) => l.event_id === event.event_id);
    expect(log).toMatchObject({
      severity: 'INFO',
      message: 'webhook request',
      outcome: 'published',
      status: 200,
      object_type: event.object_type,
      metric: event.metric,
      key_index: 0,
      latency_ms: expect.any(Number),
    });
    expect(JSON.stringify(log)).not.toMatch(/@example\.(org|com)/);
  });

  it('a body signed with the second key of the list is accepted, and the log says which key matched', async () => {
    const body = '{"event_id":"01ROTATION","object_type":"email","metric":"opened"}';
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, body, { key: KEYS[1] })).status).toBe(200);
    expect(onlyMessage(await sub.drain()).attributes.event_id).toBe('01ROTATION');
    expect(webhook.logs.find((l) => l.event_id === '01ROTATION')).toMatchObject({ key_index: 1 });
  });

  it('the same event pretty-printed is published as sent (bytes are never re-serialised)', async () => {
    const compact =
      '{"event_id":"01PRETTY","object_type":"email","metric":"sent","data":{"subject":"Café ☕ 👋"}}';
    const pretty = JSON.stringify(JSON.parse(compact), null, 2);
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, pretty, { key: KEYS[0] })).status).toBe(200);
    expect(onlyMessage(await sub.drain()).data.toString('utf8')).toBe(pretty);
  });

  it('an 8 MiB event (within one Pub/Sub message) is published whole', async () => {
    const head = '{"event_id":"01BIG","object_type":"email","metric":"sent","data":{"content":"';
    const tail = '"}}';
    const body = head + 'x'.repeat(8 * MiB - head.length - tail.length) + tail;
    expect(Buffer.byteLength(body)).toBe(8 * MiB);
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, body, { key: KEYS[0] })).status).toBe(200);
    const message = onlyMessage(await sub.drain());
    expect(message.data.equals(Buffer.from(body))).toBe(true);
    expect(message.attributes.event_id).toBe('01BIG');
  });
});

describe('several workspaces: the URL path names the workspace, and only its keys verify', () => {
  const WORKSPACE_KEYS = { eu: ['whsec-eu-a', 'whsec-eu-b'], staging: ['whsec-staging'] };
  const paths: Record<string, readonly string[]> = { '': KEYS, ...WORKSPACE_KEYS };
  const label = (p: string) => (p === '' ? 'default' : p);
  let multi: Served;

  beforeAll(async () => {
    multi = await startWebhook(
      createPublisher({ projectId: project.projectId, topic: topicId, apiEndpoint: project.host }),
      { workspaceSigningKeys: WORKSPACE_KEYS },
    );
  });
  afterAll(() => multi.close());

  const pairs = Object.entries(paths).flatMap(([pathLabel, own]) =>
    Object.entries(paths).flatMap(([keyLabel, keys]) =>
      keys.map((key) => [label(pathLabel), label(keyLabel), key, own.includes(key)] as const),
    ),
  );

  it.each(pairs)('POST /%s with a key of %s (%s) → %s', async (pathLabel, _keyLabel, key, ownKey) => {
    const sub = await project.subscribe(topicId);
    const body = JSON.stringify({ event_id: `ws-${pathLabel}-${key}`, object_type: 'email', metric: 'sent' });
    const url = new URL(pathLabel === 'default' ? '/' : `/${pathLabel}`, multi.url).toString();
    const res = await post(url, body, { key });
    const published = await sub.drain(ownKey ? undefined : 1500);
    if (ownKey) {
      expect(res).toMatchObject({ status: 200, text: 'ok' });
      expect(onlyMessage(published).attributes).toMatchObject({
        workspace: pathLabel,
        event_id: `ws-${pathLabel}-${key}`,
      });
    } else {
      // A key of one workspace never lets an event in as another's.
      expect(res).toMatchObject({ status: 401, text: 'invalid signature' });
      expect(published).toEqual([]);
    }
  });

  it('a trailing slash is the same workspace; an unknown label, a nested path or a query-only change is not', async () => {
    const body = JSON.stringify({ event_id: 'ws-paths', object_type: 'email', metric: 'sent' });
    expect((await post(new URL('/eu/', multi.url).toString(), body, { key: 'whsec-eu-a' })).status).toBe(200);
    for (const p of ['/us', '/eu/x', '/EU', '/default']) {
      expect(await post(new URL(p, multi.url).toString(), body, { key: KEYS[0] })).toMatchObject({
        status: 404,
        text: 'unknown workspace',
      });
    }
    expect(multi.logs.filter((l) => l.outcome === 'unknown_workspace').map((l) => l.path)).toEqual([
      '/us',
      '/eu/x',
      '/EU',
      '/default',
    ]);
  });
});

describe('signed bodies that are not events are published flagged, never refused', () => {
  it.each<[string, string | Buffer, string | null, Record<string, string>]>([
    ['not JSON (text/plain)', 'event_id=1', 'text/plain', { parse_error: 'invalid_json' }],
    [
      'invalid UTF-8 bytes',
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      'application/octet-stream',
      {
        parse_error: 'invalid_json',
      },
    ],
    ['a JSON array', '[1,2]', 'application/json', { parse_error: 'not_an_object' }],
    ['JSON null', 'null', 'application/octet-stream', { parse_error: 'not_an_object' }],
    [
      'an object without event_id',
      '{"object_type":"email","metric":"sent"}',
      'application/json',
      {
        parse_error: 'missing_event_id',
        object_type: 'email',
        metric: 'sent',
      },
    ],
    [
      'an empty event_id',
      '{"event_id":"","metric":"sent"}',
      'application/json',
      {
        parse_error: 'missing_event_id',
        metric: 'sent',
      },
    ],
    ['a numeric event_id', '{"event_id":42}', 'application/json', { parse_error: 'missing_event_id' }],
    [
      'an event_id over 1024 bytes',
      JSON.stringify({ event_id: 'e'.repeat(1025) }),
      'application/json',
      {
        parse_error: 'invalid_event_id',
      },
    ],
    [
      'an event_id with a lone surrogate',
      '{"event_id":"e\\ud800"}',
      'application/json',
      {
        parse_error: 'invalid_event_id',
      },
    ],
    [
      '__proto__ and constructor keys',
      '{"__proto__":{"event_id":"evil","polluted":1},"constructor":{"prototype":{"polluted":1}},"metric":"opened"}',
      'application/json',
      {
        parse_error: 'missing_event_id',
        metric: 'opened',
      },
    ],
    [
      '__proto__ in a body read from raw bytes',
      '{"__proto__":{"event_id":"evil"}}',
      'text/plain',
      {
        parse_error: 'missing_event_id',
      },
    ],
  ])('%s → 200 with parse_error, exact bytes', async (_, body, contentType, expected) => {
    const sub = await project.subscribe(topicId);
    const timestamp = nowSeconds();
    const res = await post(webhook.url, body, { key: KEYS[0], timestamp, contentType });
    expect(res.status).toBe(200);
    const message = onlyMessage(await sub.drain());
    expect(message.data.equals(Buffer.from(body))).toBe(true);
    expect(message.attributes).toEqual({
      ...expected,
      workspace: 'default',
      cio_timestamp: timestamp,
      received_at: expect.any(String),
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(webhook.logs.at(-1)).toMatchObject({
      severity: 'WARNING',
      outcome: 'published_unparseable',
      status: 200,
      parse_error: expected.parse_error,
    });
  });

  it('a signed empty body sent without Content-Type → 200 flagged', async () => {
    const sub = await project.subscribe(topicId);
    const res = await post(webhook.url, undefined, {
      headers: signedHeaders(KEYS[0], ''),
      contentType: null,
    });
    expect(res.status).toBe(200);
    const message = onlyMessage(await sub.drain());
    expect(message.data.length).toBe(0);
    expect(message.attributes.parse_error).toBe('invalid_json');
  });

  it('__proto__ beside a real event_id neither hides it nor lends it attributes', async () => {
    const body = '{"event_id":"01PROTO","__proto__":{"metric":"evil","object_type":"evil"}}';
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, body, { key: KEYS[0] })).status).toBe(200);
    const { attributes } = onlyMessage(await sub.drain());
    expect(attributes.event_id).toBe('01PROTO');
    expect(attributes).not.toHaveProperty('metric');
    expect(attributes).not.toHaveProperty('object_type');
    expect(attributes).not.toHaveProperty('parse_error');
  });

  it('deeply nested JSON does not crash it (object: published as the event; array: flagged)', async () => {
    const depth = 200_000;
    const deepObject = `{"event_id":"01DEEP","object_type":"email","metric":"sent","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const deepArray = '['.repeat(depth) + ']'.repeat(depth);
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, deepObject, { key: KEYS[0] })).status).toBe(200);
    expect((await post(webhook.url, deepArray, { key: KEYS[0] })).status).toBe(200);
    const messages = await sub.drain();
    const byEvent = new Map(messages.map((m) => [m.attributes.event_id ?? m.attributes.parse_error, m]));
    expect([...byEvent.keys()].sort()).toEqual(['01DEEP', 'not_an_object']);
    expect(byEvent.get('01DEEP')!.data.equals(Buffer.from(deepObject))).toBe(true);
  });

  it('oversized object_type and metric are cut to 1024 bytes on a character boundary, not refused', async () => {
    const body = JSON.stringify({
      event_id: '01LONG',
      object_type: 'é'.repeat(3000),
      metric: 'm'.repeat(1023) + '€',
    });
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, body, { key: KEYS[0] })).status).toBe(200);
    const { attributes } = onlyMessage(await sub.drain());
    expect(attributes.event_id).toBe('01LONG');
    expect(attributes.object_type).toBe('é'.repeat(512));
    expect(attributes.metric).toBe('m'.repeat(1023));
    expect(attributes).not.toHaveProperty('parse_error');
  });

  it('an event_id of exactly 1024 bytes is kept', async () => {
    const eventId = 'é'.repeat(512);
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, JSON.stringify({ event_id: eventId }), { key: KEYS[0] })).status).toBe(
      200,
    );
    expect(onlyMessage(await sub.drain()).attributes.event_id).toBe(eventId);
  });
});

describe('requests Customer.io did not sign, or cannot be accepted, publish nothing', () => {
  const body = '{"event_id":"01BAD","object_type":"email","metric":"delivered"}';
  const ts = () => Number(nowSeconds());

  it('each gets its status, a short fixed reason, and the topic stays empty', async () => {
    const sub = await project.subscribe(topicId);
    const good = signedHeaders(KEYS[0], body);
    const cases: Array<[string, Promise<{ status: number; text: string; headers: Headers }>]> = [
      ['GET', post(webhook.url, undefined, { method: 'GET', headers: good })],
      ['PUT', post(webhook.url, body, { method: 'PUT', headers: good })],
      ['no signature headers', post(webhook.url, body)],
      [
        'signature without timestamp',
        post(webhook.url, body, { headers: { 'x-cio-signature': good['x-cio-signature'] } }),
      ],
      ['unknown key', post(webhook.url, body, { key: 'whsec-someone-else' })],
      ['tampered body', post(webhook.url, body.replace('delivered', 'bounced'), { headers: good })],
      [
        'uppercase signature',
        post(webhook.url, body, {
          headers: { ...good, 'x-cio-signature': good['x-cio-signature'].toUpperCase() },
        }),
      ],
      [
        'repeated signature header',
        post(webhook.url, body, {
          headers: { ...good, 'x-cio-signature': `${good['x-cio-signature']}, ${good['x-cio-signature']}` },
        }),
      ],
      ['non-numeric timestamp', post(webhook.url, body, { key: KEYS[0], timestamp: 'now' })],
      ['8 days + 100 s old', post(webhook.url, body, { key: KEYS[0], timestamp: String(ts() - 691300) })],
      ['400 s in the future', post(webhook.url, body, { key: KEYS[0], timestamp: String(ts() + 400) })],
    ];
    const results = await Promise.all(cases.map(async ([name, res]) => ({ name, ...(await res) })));

    expect(results.map(({ name, status, text }) => ({ name, status, text }))).toEqual([
      { name: 'GET', status: 405, text: 'method not allowed' },
      { name: 'PUT', status: 405, text: 'method not allowed' },
      { name: 'no signature headers', status: 401, text: 'missing signature' },
      { name: 'signature without timestamp', status: 401, text: 'missing signature' },
      { name: 'unknown key', status: 401, text: 'invalid signature' },
      { name: 'tampered body', status: 401, text: 'invalid signature' },
      { name: 'uppercase signature', status: 401, text: 'malformed signature' },
      { name: 'repeated signature header', status: 401, text: 'malformed signature' },
      { name: 'non-numeric timestamp', status: 401, text: 'malformed signature' },
      { name: '8 days + 100 s old', status: 401, text: 'timestamp too old' },
      { name: '400 s in the future', status: 401, text: 'timestamp in the future' },
    ]);
    expect(results[0].headers.get('allow')).toBe('POST');
    expect(results[1].headers.get('allow')).toBe('POST');
    expect(await sub.drain()).toEqual([]);
  });

  it('logs a signature failure at WARNING with its reason code, and never the signature or a key', async () => {
    const headers = { 'x-cio-timestamp': nowSeconds(), 'x-cio-signature': 'ab'.repeat(32) };
    const from = webhook.logs.length;
    expect((await post(webhook.url, body, { headers })).status).toBe(401);
    const lines = webhook.logs.slice(from);
    expect(lines).toEqual([
      expect.objectContaining({
        severity: 'WARNING',
        outcome: 'rejected_signature',
        reason: 'mismatch',
        status: 401,
        latency_ms: expect.any(Number),
      }),
    ]);
    const text = JSON.stringify(lines);
    expect(text).not.toContain('ab'.repeat(32));
    for (const key of KEYS) expect(text).not.toContain(key);
  });

  it('distinguishes stale from future at the window edges (injected clock)', async () => {
    const now = 1_732_551_105;
    const edge = await startWebhook(
      createPublisher({ projectId: project.projectId, topic: topicId, apiEndpoint: project.host }),
      { maxAgeSeconds: 3600, maxFutureSeconds: 60 },
      { now: () => now * 1000 },
    );
    try {
      const sub = await project.subscribe(topicId);
      const at = async (timestamp: number) =>
        (await post(edge.url, body, { key: KEYS[0], timestamp: String(timestamp) })).status;
      expect([await at(now - 3600), await at(now + 60)]).toEqual([200, 200]);
      expect([await at(now - 3601), await at(now + 61)]).toEqual([401, 401]);
      expect(edge.logs.filter((l) => l.status === 401).map((l) => l.reason)).toEqual(['stale', 'future']);
      expect(await sub.drain()).toHaveLength(2);
    } finally {
      await edge.close();
    }
  });
});

describe('the signature is checked on the bytes as sent, whatever the headers call them', () => {
  const event = (id: string) => `{"event_id":"${id}","object_type":"email","metric":"delivered"}`;

  it.each<[string, string | null]>([
    ['a charset the framework refused with an HTML 415 (iso-8859-1)', 'application/json; charset=iso-8859-1'],
    ['no Content-Type at all (the framework kept no bytes: "invalid signature")', null],
    ['a form Content-Type', 'application/x-www-form-urlencoded'],
  ])('%s → 200, published byte for byte and labelled', async (_, contentType) => {
    const id = `01HDR${(contentType ?? 'none').replace(/\W/g, '').slice(0, 20)}`;
    const sub = await project.subscribe(topicId);
    const res = await post(webhook.url, event(id), { key: KEYS[0], contentType });
    expect(res).toMatchObject({ status: 200, text: 'ok' });
    const message = onlyMessage(await sub.drain());
    expect(message.data.toString()).toBe(event(id));
    expect(message.attributes).toMatchObject({ event_id: id, object_type: 'email', metric: 'delivered' });
  });

  it('a compressed body → 415 saying why, unread, in plain text; logged with its encoding', async () => {
    const body = zlib.gzipSync(event('01GZIP'));
    const sub = await project.subscribe(topicId);
    const res = await post(webhook.url, body, { key: KEYS[0], headers: { 'content-encoding': 'gzip' } });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.text).toMatch(/decompression bomb/);
    expect(webhook.logs.at(-1)).toMatchObject({
      severity: 'WARNING',
      outcome: 'compressed_body',
      status: 415,
      content_encoding: 'gzip',
    });
    expect(await sub.drain()).toEqual([]);
  });
});

interface Raw {
  status: number;
  text: string;
}

/**
 * A POST by node:http: `chunks` are written one by one (chunked unless `length` declares the size); with `hold`,
 * the request stays open after them until `finish(rest)`. A reply that comes before the body ends counts; an error
 * writing the rest after it (the server stopped reading) does not.
 */
function rawPost(
  url: string,
  headers: Record<string, string>,
  chunks: Buffer[],
  options: { length?: number; hold?: boolean } = {},
) {
  let finish: (rest: Buffer) => void = () => undefined;
  const reply = new Promise<Raw>((resolve, reject) => {
    let answered = false;
    const req = http.request(url, {
      method: 'POST',
      headers: { ...headers, ...(options.length !== undefined && { 'content-length': options.length }) },
    });
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() }));
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    for (const chunk of chunks) req.write(chunk);
    if (options.hold) finish = (rest) => void req.end(rest);
    else req.end();
  });
  return { reply, finish: (rest: Buffer) => finish(rest) };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; !condition();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('signed bodies too large for one Pub/Sub message are published smaller, never refused', () => {
  const large = (id: string, bulk: Record<string, unknown>) =>
    Buffer.from(
      JSON.stringify({
        event_id: id,
        object_type: 'email',
        metric: 'sent',
        timestamp: 1_750_000_000,
        data: { delivery_id: 'dlv-9', identifiers: { cio_id: 'c0ffee' }, ...bulk },
      }),
    );

  it('a 12 MiB sent event with Body Content → 200, without data.content and data.headers, which the attributes name', async () => {
    const body = large('01TRUNC', {
      content: 'x'.repeat(10 * MiB),
      headers: { 'X-Pad': ['y'.repeat(2 * MiB)] },
    });
    const sub = await project.subscribe(topicId);
    const timestamp = nowSeconds();
    const res = await post(webhook.url, body, { key: KEYS[0], timestamp });
    expect(res).toMatchObject({ status: 200, text: 'ok' });
    const message = onlyMessage(await sub.drain());
    expect(JSON.parse(message.data.toString())).toEqual({
      event_id: '01TRUNC',
      object_type: 'email',
      metric: 'sent',
      timestamp: 1_750_000_000,
      data: { delivery_id: 'dlv-9', identifiers: { cio_id: 'c0ffee' } },
    });
    expect(message.attributes).toEqual({
      event_id: '01TRUNC',
      object_type: 'email',
      metric: 'sent',
      workspace: 'default',
      cio_timestamp: timestamp,
      received_at: expect.any(String),
      truncated: 'data.content,data.headers',
      original_bytes: String(body.length),
    });
    expect(webhook.logs.at(-1)).toMatchObject({
      severity: 'WARNING',
      outcome: 'published_truncated',
      status: 200,
      event_id: '01TRUNC',
      truncated: 'data.content,data.headers',
      body_bytes: body.length,
      published_bytes: message.data.length,
    });
  });

  it('a signed 12 MiB body that is not JSON → 200, flagged, its identity (none) kept', async () => {
    const body = Buffer.alloc(12 * MiB, 'z');
    const sub = await project.subscribe(topicId);
    expect((await post(webhook.url, body, { key: KEYS[0], contentType: 'text/plain' })).status).toBe(200);
    const message = onlyMessage(await sub.drain());
    expect(message.data.toString()).toBe('{}');
    expect(message.attributes).toMatchObject({
      parse_error: 'invalid_json',
      truncated: 'body',
      original_bytes: String(body.length),
    });
    expect(webhook.logs.at(-1)).toMatchObject({ outcome: 'published_unparseable', truncated: 'body' });
  });

  it('the same 12 MiB event not signed by a key of ours → 413 (only a signed one is shrunk), nothing published', async () => {
    const body = large('01TRUNCUNSIGNED', { content: 'x'.repeat(12 * MiB) });
    const sub = await project.subscribe(topicId);
    expect(await post(webhook.url, body, { key: 'whsec-someone-else' })).toMatchObject({
      status: 413,
      text: 'body too large',
    });
    expect(webhook.logs.at(-1)).toMatchObject({
      severity: 'WARNING',
      outcome: 'body_too_large',
      reason: 'mismatch',
      body_bytes: body.length,
      max_message_bytes: 9 * MiB,
    });
    expect(await sub.drain()).toEqual([]);
    // Within one Pub/Sub message, the same failure is a 401.
    expect(
      (await post(webhook.url, large('01UNSIGNEDFITS', { content: 'x' }), { key: 'whsec-x' })).status,
    ).toBe(401);
  });
});

describe('bodies over CIO_MAX_BODY_BYTES, and more large bodies than the instance holds at once', () => {
  let small: Served;
  let budget: BodyBudget;
  const LIMIT = 160 * 1024;

  beforeAll(async () => {
    // 64 KiB small, 192 KiB for the rest: one 150 KiB body at a time.
    budget = new BodyBudget(192 * 1024, 64 * 1024);
    small = await startWebhook(
      createPublisher({ projectId: project.projectId, topic: topicId, apiEndpoint: project.host }),
      { maxBodyBytes: LIMIT },
      { budget },
    );
  });
  afterAll(() => small?.close());

  const padded = (id: string, bytes: number) => {
    const head = `{"event_id":"${id}","pad":"`;
    return Buffer.from(head + 'p'.repeat(bytes - head.length - 2) + '"}');
  };
  const signedBy = (body: Buffer) => {
    const timestamp = nowSeconds();
    return { 'x-cio-timestamp': timestamp, 'x-cio-signature': sign(KEYS[0], timestamp, body) };
  };

  it('over the limit, declared or chunked, signed or not → 413 (logged with the limit); at the limit → 200', async () => {
    const sub = await project.subscribe(topicId);
    const over = padded('01OVER', LIMIT + 1);
    const declared = rawPost(small.url, signedBy(over), [over], { length: over.length });
    expect(await declared.reply).toEqual({ status: 413, text: 'body too large' });
    const chunked = rawPost(small.url, signedBy(over), [over.subarray(0, LIMIT), over.subarray(LIMIT)]);
    expect(await chunked.reply).toEqual({ status: 413, text: 'body too large' });
    expect((await rawPost(small.url, {}, [over], { length: over.length }).reply).status).toBe(413);
    expect(small.logs.at(-1)).toMatchObject({
      severity: 'WARNING',
      outcome: 'body_too_large',
      status: 413,
      max_body_bytes: LIMIT,
    });
    const at = padded('01ATLIMIT', LIMIT);
    expect((await rawPost(small.url, signedBy(at), [at], { length: at.length }).reply).status).toBe(200);
    expect((await sub.drain()).map((m) => m.attributes.event_id)).toEqual(['01ATLIMIT']);
  });

  it('a large body beyond what the budget has left → 503 unread, while small events pass; once freed, 200', async () => {
    const sub = await project.subscribe(topicId);
    const first = padded('01HELD', 150 * 1024);
    const held = rawPost(small.url, signedBy(first), [first.subarray(0, 100 * 1024)], { hold: true });
    await until(() => budget.heldBytes > 64 * 1024, 'the held body to draw on the budget');

    const second = padded('01WAIT', 100 * 1024);
    const refused = await rawPost(small.url, signedBy(second), [second], { length: second.length }).reply;
    expect(refused).toEqual({ status: 503, text: 'temporarily unavailable' });
    expect(small.logs.at(-1)).toMatchObject({
      outcome: 'over_body_budget',
      status: 503,
      body_bytes: second.length,
    });
    const tiny = Buffer.from('{"event_id":"01TINY"}');
    expect((await rawPost(small.url, signedBy(tiny), [tiny], { length: tiny.length }).reply).status).toBe(
      200,
    );

    // The held body ends: published, and its share of the budget comes back.
    held.finish(first.subarray(100 * 1024));
    expect((await held.reply).status).toBe(200);
    await until(() => budget.heldBytes === 0, 'the budget to be given back');
    expect(
      (await rawPost(small.url, signedBy(second), [second], { length: second.length }).reply).status,
    ).toBe(200);
    const ids = (await sub.drain()).map((m) => m.attributes.event_id).sort();
    expect(ids).toEqual(['01HELD', '01TINY', '01WAIT']);
  });
  it('a sender that goes away mid-body: no reply, logged as client_aborted, its budget given back', async () => {
    const body = padded('01GONE', 150 * 1024);
    const req = http.request(small.url, {
      method: 'POST',
      headers: { ...signedBy(body), 'content-length': body.length },
    });
    req.on('error', () => undefined);
    req.write(body.subarray(0, 100 * 1024));
    await until(() => budget.heldBytes > 0, 'the body to draw on the budget');
    req.destroy();
    await until(() => small.logs.at(-1)?.outcome === 'client_aborted', 'the client_aborted line');
    expect(small.logs.at(-1)).toMatchObject({ severity: 'WARNING', body_bytes: expect.any(Number) });
    expect(small.logs.at(-1)).not.toHaveProperty('status');
    expect(budget.heldBytes).toBe(0);
  });
});

describe('when Pub/Sub cannot take the event, it answers 503 within its budget', () => {
  const body = '{"event_id":"01DOWN","object_type":"email","metric":"delivered"}';

  it('Pub/Sub unreachable (connection refused) → 503, logged at ERROR with the error', async () => {
    const down = await startWebhook(
      createPublisher({
        projectId: project.projectId,
        topic: topicId,
        apiEndpoint: `127.0.0.1:${await freePort()}`,
      }),
    );
    try {
      const res = await post(down.url, body, { key: KEYS[0] });
      expect(res).toMatchObject({ status: 503, text: 'temporarily unavailable' });
      expect(down.logs).toEqual([
        expect.objectContaining({
          severity: 'ERROR',
          status: 503,
          outcome: expect.stringMatching(/^publish_(failed|timeout)$/),
          event_id: '01DOWN',
          error: expect.objectContaining({ name: 'PublishError', message: expect.any(String) }),
        }),
      ]);
    } finally {
      // Resolves only once the client has stopped retrying: its retries are bounded by the same budget.
      await down.close();
    }
  });

  it('Pub/Sub accepting connections but never answering → 503 all the same', async () => {
    const sockets = new Set<net.Socket>();
    const blackHole = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as AddressInfo;
    const hung = await startWebhook(
      createPublisher({ projectId: project.projectId, topic: topicId, apiEndpoint: `127.0.0.1:${port}` }),
    );
    try {
      const res = await post(hung.url, body, { key: KEYS[0] });
      expect(res.status).toBe(503);
      expect(hung.logs).toEqual([
        expect.objectContaining({
          severity: 'ERROR',
          status: 503,
          outcome: expect.stringMatching(/^publish_(failed|timeout)$/),
          error: expect.objectContaining({ name: 'PublishError' }),
        }),
      ]);
    } finally {
      await hung.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    }
  });
});

describe('when the Pub/Sub client cannot build its connection (no usable Google credentials)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env.PUBSUB_EMULATOR_HOST = saved.PUBSUB_EMULATOR_HOST;
    if (saved.GOOGLE_APPLICATION_CREDENTIALS === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved.GOOGLE_APPLICATION_CREDENTIALS;
  });

  it('answers 503 naming the cause, and tries afresh on the next request instead of keeping the failure', async () => {
    // The production path (no emulator: TLS and Google credentials), offline: the credentials file is missing.
    delete process.env.PUBSUB_EMULATOR_HOST;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent-first/key.json';
    const noAuth = await startWebhook(createPublisher({ projectId: 'no-credentials', topic: topicId }));
    const body = (n: number) => `{"event_id":"01NOAUTH${n}","object_type":"email","metric":"delivered"}`;
    try {
      expect((await post(noAuth.url, body(1), { key: KEYS[0] })).status).toBe(503);
      // A client keeps its failed connection for good; the publisher must not, or a passing fault would last.
      process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent-second/key.json';
      expect((await post(noAuth.url, body(2), { key: KEYS[0] })).status).toBe(503);
      const errors = noAuth.logs.map((line) => (line.error as { message?: string } | undefined)?.message);
      expect(errors).toEqual([
        expect.stringContaining('nonexistent-first'),
        expect.stringContaining('nonexistent-second'),
      ]);
      expect(noAuth.logs).toEqual([
        expect.objectContaining({ severity: 'ERROR', status: 503, outcome: 'publish_failed' }),
        expect.objectContaining({ severity: 'ERROR', status: 503, outcome: 'publish_failed' }),
      ]);
    } finally {
      await noAuth.close();
    }
  });
});

describe('after a Pub/Sub outage', () => {
  /** A TCP relay to the emulator that can refuse connections, standing in for a Pub/Sub outage. */
  async function relay(target: string) {
    let up = false;
    const sockets = new Set<net.Socket>();
    const track = (socket: net.Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    };
    const server = net.createServer((client) => {
      track(client);
      if (!up) return void client.destroy();
      const [host, port] = target.split(':');
      const upstream = net.connect(Number(port), host);
      track(upstream);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      setUp(value: boolean) {
        up = value;
        if (!value) for (const socket of sockets) socket.destroy();
      },
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    };
  }

  it('answers 503 while it lasts, then publishes again (nothing accepted was lost)', async () => {
    const link = await relay(project.host);
    const flaky = await startWebhook(
      createPublisher({ projectId: project.projectId, topic: topicId, apiEndpoint: link.host }),
    );
    const sub = await project.subscribe(topicId);
    const event = (n: number) => `{"event_id":"01OUTAGE${n}","object_type":"email","metric":"delivered"}`;
    try {
      expect((await post(flaky.url, event(0), { key: KEYS[0] })).status).toBe(503);
      link.setUp(true);
      // Customer.io retries a 503; the client's reconnect backoff may cost a retry or two.
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 5 && statuses.at(-1) !== 200; attempt++) {
        statuses.push((await post(flaky.url, event(1), { key: KEYS[0] })).status);
      }
      expect(statuses.at(-1)).toBe(200);
      const after = await Promise.all(
        [2, 3, 4].map(async (n) => (await post(flaky.url, event(n), { key: KEYS[0] })).status),
      );
      expect(after).toEqual([200, 200, 200]);
      const ids = (await sub.drain()).map((m) => m.attributes.event_id);
      expect(ids).toEqual(expect.arrayContaining(['01OUTAGE1', '01OUTAGE2', '01OUTAGE3', '01OUTAGE4']));
    } finally {
      await flaky.close();
      await link.close();
    }
  });
});

describe('functions/webhook.ts, the deployed entry point, configured from the environment', () => {
  async function withEnv<T>(env: Record<string, string | undefined>, run: () => T | Promise<T>): Promise<T> {
    const saved = { ...process.env };
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    try {
      return await run();
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  }

  it('cioWebhook (registered by functions/index) verifies with the env keys and publishes to CIO_EVENTS_TOPIC', async () => {
    const topic = await project.createTopic('entry-events');
    const sub = await project.subscribe(topic);
    const env = {
      GOOGLE_CLOUD_PROJECT: project.projectId,
      CIO_WEBHOOK_SIGNING_KEYS: ' whsec-env-a , whsec-env-b ',
      CIO_EVENTS_TOPIC: topic,
      LOG_LEVEL: 'error',
    };
    await withEnv(env, async () => {
      // functions/index (imported above, as in production) loads functions/webhook.ts on first use.
      const server = getTestServer('cioWebhook');
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        const body = '{"event_id":"01ENTRY","object_type":"email","metric":"clicked"}';
        expect((await post(url, body, { key: 'whsec-env-b' })).status).toBe(200);
        expect((await post(url, body, { key: KEYS[0] })).status).toBe(401);
        const message = onlyMessage(await sub.drain());
        expect(message.data.toString()).toBe(body);
        expect(message.attributes.event_id).toBe('01ENTRY');
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  it.each([
    ['CIO_WEBHOOK_SIGNING_KEYS unset', undefined],
    ['CIO_WEBHOOK_SIGNING_KEYS blank', ' , '],
  ])(
    'refuses to start with %s: loading functions/index for the target throws ConfigError',
    async (_, keys) => {
      const env = {
        FUNCTION_TARGET: 'cioWebhook',
        GOOGLE_CLOUD_PROJECT: 'p',
        CIO_WEBHOOK_SIGNING_KEYS: keys,
      };
      await withEnv(env, () => {
        let thrown: unknown;
        // A fresh module registry: functions/index loads its FUNCTION_TARGET at startup, as on Cloud Functions.
        jest.isolateModules(() => {
          try {
            jest.requireActual('../../functions/index');
          } catch (err) {
            thrown = err;
          }
        });
        expect(thrown).toMatchObject({ name: 'ConfigError', variable: 'CIO_WEBHOOK_SIGNING_KEYS' });
      });
    },
  );
});

describe('the receiver stays tiny', () => {
  const root = path.join(__dirname, '..', '..');
  const FORBIDDEN = [
    'customerio-node',
    '@google-cloud/firestore',
    '@google-cloud/bigquery',
    '@duckdb/node-api',
  ];

  /** Packages reachable from a source file through its runtime imports (type-only imports load nothing). */
  function packagesReachableFrom(entry: string): Set<string> {
    const packages = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = fs.readFileSync(file, 'utf8');
      const specifiers = [
        ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm),
        ...source.matchAll(/require\(\s*'([^']+)'\s*\)/g),
      ].map((m) => m[1]);
      for (const spec of specifiers) {
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec) + '.ts');
        else if (!spec.startsWith('node:'))
          packages.add(
            spec
              .split('/')
              .slice(0, spec.startsWith('@') ? 2 : 1)
              .join('/'),
          );
      }
    };
    visit(entry);
    return packages;
  }

  it('functions/webhook.ts reaches the Pub/Sub client and none of Firestore, BigQuery, DuckDB or customerio-node', () => {
    const packages = packagesReachableFrom(path.join(root, 'functions', 'webhook.ts'));
    expect(packages).toContain('@google-cloud/pubsub');
    expect(FORBIDDEN.filter((p) => packages.has(p))).toEqual([]);
  });
});
