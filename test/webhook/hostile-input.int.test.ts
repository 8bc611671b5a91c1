// The bad-input corpus (test/support/hostile-corpus.ts) sent over raw sockets to the real functions-framework server
// (functions/index loaded, as deployed: the framework reads no body, the handler reads the bytes), publishing to the
// Pub/Sub emulator. Twice: once to a handler built like functions/webhook.ts with its clock pinned (so the timestamp
// window's edges are exact), once to the deployed `cioWebhook` target itself, configured from the environment.
// Each case gets its status; requests that must not publish run first and leave the topic empty; then every
// accepted case must have published exactly its bytes, and nothing else may have been published.
import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import '../../functions/index';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadWebhookConfig } from '../../shared/config';
import { createLogger } from '../../shared/log';
import { createPublisher, type Publisher } from '../../shared/webhook/publisher';
import { createWebhookHandler } from '../../shared/webhook/handler';
import { OUTCOMES, UNAUTHORIZED } from '../../shared/webhook/outcome';
import { buildHostileCorpus, toWire, type CorpusContext, type HostileCase } from '../support/hostile-corpus';
import { TestProject, type PulledMessage, type TestSubscription } from '../support/pubsub';

const KEYS = ['whsec-hostile-primary', 'whsec-hostile-rotated'];
const MAX_BODY_BYTES = 1024 * 1024;
/** 999 ms into a second: the window counts whole seconds, so the edges must hold at the end of one too. */
const PINNED_MS = 1_750_000_000_999;
/** Every reply text of cioWebhook's own. */
const HANDLER_REPLIES = new Set([
  ...Object.values(OUTCOMES).flatMap((o) => (o.reply === undefined ? [] : [o.reply])),
  ...Object.values(UNAUTHORIZED),
]);
/** Paths functions-framework answers itself (404, empty), before any handler. */
const FRAMEWORK_PATHS = ['/favicon.ico', '/robots.txt'];
/** The statuses cioWebhook answers with; any other comes from Node or the framework, before the handler. */
const HANDLER_STATUSES = new Set<number | undefined>(Object.values(OUTCOMES).map((o) => o.status));

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses the one response a `Connection: close` exchange returns. */
function parseReply(bytes: Buffer): Reply {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no HTTP response (${bytes.length} bytes received)`);
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!status) throw new Error(`not an HTTP status line: ${statusLine}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ;) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, lineEnd).toString(), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status: Number(status[1]), headers, body: body.toString('utf8') };
}

/**
 * Writes the bytes and reads until the server closes (every request says `Connection: close`): no client library
 * normalises anything. Half-closing would make Node abort a request whose reply is still being worked on.
 */
function sendRaw(port: number, bytes: Buffer, halfClose = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    // A generous wait, not a speed assertion: every case must be answered on its own.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no reply within 30 s'));
    }, 30_000);
    socket.on('data', (data: Buffer) => chunks.push(data));
    // A server that refuses a request may reset the connection after replying: the reply is what counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseReply(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(bytes);
    if (halfClose) socket.end();
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let project: TestProject;
const prototypesBefore = snapshotPrototypes();

function snapshotPrototypes(): Record<string, string[]> {
  return {
    Object: Object.getOwnPropertyNames(Object.prototype).sort(),
    Array: Object.getOwnPropertyNames(Array.prototype).sort(),
    Function: Object.getOwnPropertyNames(Function.prototype).sort(),
    String: Object.getOwnPropertyNames(String.prototype).sort(),
  };
}

beforeAll(() => {
  project = TestProject.create('hostile-input');
});

afterAll(async () => {
  await project?.close();
});

describe('the corpus itself', () => {
  const cases = corpusFor(Math.floor(PINNED_MS / 1000));

  it('has at least 100 cases, each named once', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const names = cases.map((c) => `${c.group}: ${c.name}`);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('follows the rule: unsigned → never published; signed → 200, 405 (not POST), 413 (too large) or a documented reason', () => {
    const undocumented = cases.filter((c) => {
      if (!c.signed) return c.expect.published;
      const { status } = c.expect;
      if (status === 200) return !c.expect.published;
      if (status === 405) return c.request.method === 'POST';
      if (status === 413 && c.request.body.length > MAX_BODY_BYTES) return false;
      return c.note === undefined;
    });
    expect(undocumented.map((c) => c.name)).toEqual([]);
    expect(cases.filter((c) => c.expect.status === 400 && !c.note && c.signed)).toEqual([]);
  });

  it('cases that publish the same bytes expect the same attributes (so each message can be checked)', () => {
    const byBytes = new Map<string, HostileCase[]>();
    for (const c of cases.filter((c) => c.expect.published)) {
      const key = digest(c.request.body);
      byBytes.set(key, [...(byBytes.get(key) ?? []), c]);
    }
    const conflicting = [...byBytes.values()].filter(
      (group) => new Set(group.map((c) => JSON.stringify(c.expect.attributes))).size > 1,
    );
    expect(conflicting.map((group) => group.map((c) => c.name))).toEqual([]);
  });
});

function corpusFor(nowSeconds: number): HostileCase[] {
  const config = loadWebhookConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_WEBHOOK_SIGNING_KEYS: KEYS.join(',') });
  const ctx: CorpusContext = {
    nowSeconds,
    keys: KEYS,
    maxBodyBytes: MAX_BODY_BYTES,
    maxAgeSeconds: config.maxAgeSeconds,
    maxFutureSeconds: config.maxFutureSeconds,
  };
  return buildHostileCorpus(ctx);
}

interface Target {
  port: number;
  subscription: TestSubscription;
  close(): Promise<void>;
}

interface Sent {
  kase: HostileCase;
  reply: Reply;
}

/**
 * Sends `cases` to the server `start` brings up: first those that must not publish (then the topic must be empty),
 * then those that must, then every message is matched to its case.
 */
function runCorpus(
  cases: HostileCase[],
  start: (topic: string) => Promise<Omit<Target, 'subscription'>>,
  pinned: boolean,
) {
  let target: Target;
  const sent: Sent[] = [];
  const refused = cases.filter((c) => !c.expect.published);
  const accepted = cases.filter((c) => c.expect.published);

  beforeAll(async () => {
    const topic = await project.createTopic('hostile-events');
    const subscription = await project.subscribe(topic);
    target = { ...(await start(topic)), subscription };
  });

  afterAll(async () => {
    await target?.close();
  });

  const send = async (c: HostileCase) => {
    const reply = await sendRaw(
      target.port,
      toWire(c.request, `127.0.0.1:${target.port}`),
      c.request.halfClose,
    );
    sent.push({ kase: c, reply });
    expect(reply.status).toBe(c.expect.status);
    if (reply.status === 405) expect(reply.headers.allow).toBe('POST');
    // Our handler's replies are short, fixed and plain text; nothing about keys or the expected signature. Node
    // (malformed HTTP) and the framework (its two ignored paths) answer with no body at all; the one framework
    // page left is Express's 404 for a request-target that is not a path (see the corpus).
    const frameworkTarget = c.request.target === '*' || FRAMEWORK_PATHS.includes(c.request.target ?? '/');
    if (HANDLER_STATUSES.has(reply.status) && !frameworkTarget) {
      // A reply to HEAD has its headers only.
      if (c.request.method !== 'HEAD') expect(HANDLER_REPLIES).toContain(reply.body);
      expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    } else if (c.request.target !== '*') {
      expect(reply.body).toBe('');
    }
    for (const key of KEYS) expect(reply.body).not.toContain(key);
  };

  describe('requests that must not publish', () => {
    it.each(refused.map((c) => [`${c.group}: ${c.name} → ${c.expect.status}`, c] as const))('%s', (_, c) =>
      send(c),
    );

    it('left the topic empty: nothing unsigned, refused or oversized was published', async () => {
      expect(sent.length).toBe(refused.length);
      expect(await target.subscription.drain(60_000)).toEqual([]);
    });
  });

  describe('signed requests that must be published', () => {
    it.each(accepted.map((c) => [`${c.group}: ${c.name} → ${c.expect.status}`, c] as const))('%s', (_, c) =>
      send(c),
    );

    it('published each one exactly once, byte for byte, labelled as expected, and nothing else', async () => {
      const messages = await target.subscription.drain(60_000);
      const expected = new Map<string, HostileCase[]>();
      for (const c of accepted) {
        const key = digest(c.request.body);
        expected.set(key, [...(expected.get(key) ?? []), c]);
      }
      const received = new Map<string, PulledMessage[]>();
      for (const m of messages) {
        const key = digest(m.data);
        received.set(key, [...(received.get(key) ?? []), m]);
      }
      const counts = (map: Map<string, unknown[]>, names: (key: string) => string) =>
        [...map.entries()]
          .map(([key, list]) => ({ case: names(key), count: list.length }))
          .sort((a, b) => a.case.localeCompare(b.case));
      const nameOf = (key: string) =>
        expected
          .get(key)
          ?.map((c) => c.name)
          .join(' | ') ?? `unexpected bytes ${key}`;
      expect(counts(received, nameOf)).toEqual(counts(expected, nameOf));

      for (const [key, list] of received) {
        const { attributes } = expected.get(key)![0].expect;
        for (const message of list) {
          expect(message.orderingKey).toBe('');
          for (const [name, value] of Object.entries(attributes ?? {})) {
            if (value === null) expect({ [name]: message.attributes[name] }).toEqual({ [name]: undefined });
            else expect({ [name]: message.attributes[name] }).toEqual({ [name]: value });
          }
          expect(message.attributes.received_at).toEqual(
            pinned
              ? new Date(PINNED_MS).toISOString()
              : expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          );
          for (const value of Object.values(message.attributes))
            expect(Buffer.byteLength(value)).toBeLessThanOrEqual(1024);
        }
      }
    });
  });
}

describe('through a webhook handler with its clock pinned (window edges to the second)', () => {
  const logs: string[] = [];
  runCorpus(
    corpusFor(Math.floor(PINNED_MS / 1000)),
    async (topic) => {
      const config = loadWebhookConfig({
        GOOGLE_CLOUD_PROJECT: project.projectId,
        CIO_WEBHOOK_SIGNING_KEYS: KEYS.join(','),
        CIO_EVENTS_TOPIC: topic,
        CIO_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      });
      const publisher: Publisher = createPublisher({
        projectId: project.projectId,
        topic,
        apiEndpoint: project.host,
      });
      const logger = createLogger('debug', { function: 'cioWebhook' }, (line) => logs.push(line));
      functions.http(
        'cioWebhookPinnedClock',
        createWebhookHandler({ config, publisher, logger, now: () => PINNED_MS }),
      );
      const server = getTestServer('cioWebhookPinnedClock');
      const port = await listen(server);
      return {
        port,
        close: async () => {
          await close(server);
          await publisher.close();
        },
      };
    },
    true,
  );

  it('logged no signing key and no signature it was sent', () => {
    expect(logs.length).toBeGreaterThan(100);
    const text = logs.join('\n');
    for (const key of KEYS) expect(text).not.toContain(key);
    expect(text).not.toMatch(/[0-9a-f]{64}/i);
  });
});

describe('through the deployed cioWebhook target (functions/index), configured from the environment', () => {
  const env = {
    CIO_WEBHOOK_SIGNING_KEYS: KEYS.join(','),
    CIO_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    LOG_LEVEL: 'error',
  };
  const saved: Record<string, string | undefined> = {};
  runCorpus(
    // Real clock: the cases within a second of the window's edges run above only.
    corpusFor(Math.floor(Date.now() / 1000)).filter((c) => !c.clockEdge),
    async (topic) => {
      const all: Record<string, string> = {
        ...env,
        GOOGLE_CLOUD_PROJECT: project.projectId,
        CIO_EVENTS_TOPIC: topic,
      };
      for (const [name, value] of Object.entries(all)) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
      // functions/webhook.ts reads the environment on the first request (lazy target), made here.
      const server = getTestServer('cioWebhook');
      const port = await listen(server);
      return {
        port,
        close: async () => {
          await close(server);
          for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
          }
        },
      };
    },
    false,
  );
});

it('what Node makes of repeated headers: X-CIO-* joined with ", " (so never an array), Content-Type first wins', async () => {
  const seen: Array<Record<string, unknown>> = [];
  functions.http('repeatedHeadersProbe', (req, res) => {
    seen.push({
      signature: req.headers['x-cio-signature'],
      timestamp: req.headers['x-cio-timestamp'],
      contentType: req.headers['content-type'],
      cookie: req.headers['set-cookie'],
      distinct: req.headersDistinct['x-cio-signature'],
    });
    res.send('seen');
  });
  const server = getTestServer('repeatedHeadersProbe');
  const port = await listen(server);
  try {
    const reply = await sendRaw(
      port,
      toWire(
        {
          method: 'POST',
          target: '/',
          headers: [
            ['Content-Type', 'application/json'],
            ['Content-Type', 'text/plain'],
            ['X-CIO-Signature', 'aa'],
            ['X-CIO-Timestamp', '1'],
            ['x-cio-signature', 'bb'],
            ['X-CIO-Timestamp', '2'],
            ['Set-Cookie', 'a=1'],
            ['Set-Cookie', 'b=2'],
          ],
          body: Buffer.from('{}'),
          framing: 'content-length',
        },
        `127.0.0.1:${port}`,
      ),
    );
    expect(reply.status).toBe(200);
    expect(seen).toEqual([
      {
        signature: 'aa, bb',
        timestamp: '1, 2',
        contentType: 'application/json',
        cookie: ['a=1', 'b=2'],
        distinct: ['aa', 'bb'],
      },
    ]);
  } finally {
    await close(server);
  }
});

// Last: after every case above (JSON and form bodies with "__proto__" and "constructor.prototype" keys included).
it('no request polluted a built-in prototype', () => {
  expect(snapshotPrototypes()).toEqual(prototypesBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
});
