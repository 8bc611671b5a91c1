// functions/raw-bodies.ts, pinned against the installed functions-framework: what the framework does to request
// bodies as it ships (the reasons the patch exists: if an update changes one, look again at whether the patch is
// still needed), and that with functions/index loaded no parser of the framework reads a body, whatever its headers,
// so the function reads the exact bytes sent. cioProcessor's side is test/processor/pubsub-push.int.test.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { readBody, type BodyResult } from '../../shared/request-body';

type Framework = typeof import('@google-cloud/functions-framework');
type Testing = typeof import('@google-cloud/functions-framework/testing');

/** The framework in a fresh module registry, with or without functions/index (and so the patch). */
function loadFramework(withIndex: boolean): { framework: Framework; testing: Testing } {
  let loaded: { framework: Framework; testing: Testing } | undefined;
  jest.isolateModules(() => {
    if (withIndex) jest.requireActual('../../functions/index');
    loaded = {
      framework: jest.requireActual<Framework>('@google-cloud/functions-framework'),
      testing: jest.requireActual<Testing>('@google-cloud/functions-framework/testing'),
    };
  });
  return loaded!;
}

interface Seen {
  /** What the framework kept as `req.rawBody` (bytes), if anything. */
  rawBody?: number;
  /** `typeof req.body` */
  body: string;
  /** The stream was still unread when the handler ran. */
  unread: boolean;
}

interface Reply {
  status: number;
  contentType: string | undefined;
  text: string;
}

/** Serves `handler` under `name` with the given framework; returns a function that posts to it. */
async function serve(
  loaded: { framework: Framework; testing: Testing },
  name: string,
  handler: HttpFunction,
) {
  loaded.framework.http(name, handler);
  const server = loaded.testing.getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const post = (headers: Record<string, string>, body: Buffer) =>
    new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          headers: { ...headers, 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: res.headers['content-type'],
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { post, close };
}

const EVENT = Buffer.from('{"event_id":"01RAW","object_type":"email","metric":"delivered"}');
const BOMB = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));

describe('functions-framework as it ships (without functions/index), the reasons for functions/raw-bodies.ts', () => {
  let seen: Seen[];
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    server = await serve(loadFramework(false), 'probeAsShipped', (req, res) => {
      seen.push({
        ...(Buffer.isBuffer(req.rawBody) && { rawBody: req.rawBody.length }),
        body: typeof req.body,
        unread: !req.readableEnded,
      });
      res.send('reached');
    });
  });
  beforeEach(() => {
    seen = [];
  });
  afterAll(() => server?.close());

  it('answers 400 itself to application/json that does not parse; no handler runs', async () => {
    const reply = await server.post({ 'content-type': 'application/json' }, Buffer.from('{"event_id":'));
    expect(reply.status).toBe(400);
    expect(seen).toEqual([]);
  });

  it('answers 415 with an HTML page to application/json in a charset other than UTF-*; no handler runs', async () => {
    const reply = await server.post({ 'content-type': 'application/json; charset=iso-8859-1' }, EVENT);
    expect(reply).toMatchObject({ status: 415, contentType: expect.stringContaining('text/html') });
    expect(seen).toEqual([]);
  });

  it('keeps no bytes of a body sent without Content-Type', async () => {
    expect((await server.post({}, EVENT)).status).toBe(200);
    expect(seen).toEqual([{ body: 'undefined', unread: true }]);
  });

  it(`inflates ${BOMB.length} bytes of gzip to 8 MiB before any handler`, async () => {
    const reply = await server.post(
      { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
      BOMB,
    );
    expect(reply.status).toBe(200);
    expect(seen).toEqual([{ rawBody: 8 * 1024 * 1024, body: 'object', unread: false }]);
  });
});

describe('with functions/index loaded (as deployed), no framework parser reads a body', () => {
  let seen: Array<Seen & { read: BodyResult }>;
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    server = await serve(loadFramework(true), 'probeUnread', (req, res) => {
      const before = {
        ...(Buffer.isBuffer(req.rawBody) && { rawBody: req.rawBody.length }),
        body: typeof req.body,
        unread: !req.readableEnded,
      };
      readBody(req, { maxBytes: 16 * 1024 * 1024 }, (read) => {
        seen.push({ ...before, read });
        res.send('reached');
      });
    });
  });
  beforeEach(() => {
    seen = [];
  });
  afterAll(() => server?.close());

  it.each<[string, Record<string, string>, Buffer]>([
    ['application/json', { 'content-type': 'application/json' }, EVENT],
    ['invalid JSON', { 'content-type': 'application/json' }, Buffer.from('{"event_id":')],
    ['JSON in charset=iso-8859-1', { 'content-type': 'application/json; charset=iso-8859-1' }, EVENT],
    ['no Content-Type', {}, EVENT],
    ['text/plain; charset=bogus', { 'content-type': 'text/plain; charset=bogus' }, EVENT],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }, EVENT],
    ['application/octet-stream', { 'content-type': 'application/octet-stream' }, EVENT],
    ['application/cloudevents+json', { 'content-type': 'application/cloudevents+json' }, EVENT],
  ])('%s: the handler reads the exact bytes itself', async (_, headers, body) => {
    const reply = await server.post(headers, body);
    expect(reply).toMatchObject({ status: 200, text: 'reached' });
    expect(seen).toHaveLength(1);
    const [{ read, ...before }] = seen;
    expect(before).toEqual({ body: 'undefined', unread: true });
    expect(read.ok && read.body.equals(body)).toBe(true);
  });

  it('a gzip body reaches the handler unread and uninflated, for it to refuse', async () => {
    const reply = await server.post({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, BOMB);
    expect(reply.status).toBe(200);
    expect(seen).toEqual([
      { body: 'undefined', unread: true, read: { ok: false, failure: 'compressed', bytes: 0 } },
    ]);
  });
});
