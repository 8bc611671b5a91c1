// readBody and BodyBudget on requests fed by hand (a Node IncomingMessage without a connection behind it).
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { BodyBudget, readBody, type BodyLimits, type BodyResult } from '../shared/request-body';

const KiB = 1024;

function request(headers: Record<string, string> = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.headers = headers;
  return req;
}

/** Starts reading; `result()` is what `done` got (undefined while reading). */
function read(req: IncomingMessage, limits: BodyLimits) {
  const results: BodyResult[] = [];
  readBody(req, limits, (r) => results.push(r));
  return {
    result: () => {
      expect(results.length).toBeLessThanOrEqual(1);
      return results[0];
    },
  };
}

/** Feeds chunks and, unless `open`, the end; lets the stream deliver them. */
async function feed(req: IncomingMessage, chunks: Buffer[], open = false): Promise<void> {
  for (const chunk of chunks) req.push(chunk);
  if (!open) req.push(null);
  await new Promise((resolve) => setImmediate(resolve));
}

describe('readBody', () => {
  it.each([
    ['one chunk', [Buffer.from('{"event_id":"01A"}')]],
    ['several chunks', [Buffer.from('{"event_'), Buffer.from('id":"01'), Buffer.from('A"}')]],
    ['no chunk at all', []],
    ['bytes that are not UTF-8', [Buffer.from([0xff, 0x00, 0xfe])]],
  ])('%s: the exact bytes, in order', async (_, chunks) => {
    const req = request();
    const reading = read(req, { maxBytes: KiB });
    await feed(req, chunks);
    const result = reading.result();
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.body.equals(Buffer.concat(chunks))).toBe(true);
  });

  it.each(['gzip', 'GZIP', 'deflate', 'br', 'zstd', 'x-custom', 'identity, gzip', 'gzip, identity'])(
    'Content-Encoding %s: refused as compressed, before anything is read',
    async (encoding) => {
      const req = request({ 'content-encoding': encoding });
      const reading = read(req, { maxBytes: KiB });
      expect(reading.result()).toEqual({ ok: false, failure: 'compressed', bytes: 0 });
      await feed(req, [Buffer.from('x')]);
      expect(req.readableLength).toBe(1);
    },
  );

  it.each(['identity', 'IDENTITY', ' identity ', '', 'identity, identity'])(
    'Content-Encoding "%s" means uncompressed',
    async (encoding) => {
      const req = request({ 'content-encoding': encoding });
      const reading = read(req, { maxBytes: KiB });
      await feed(req, [Buffer.from('{}')]);
      expect(reading.result()).toMatchObject({ ok: true });
    },
  );

  it('a declared Content-Length over the limit is refused before anything is read', async () => {
    const req = request({ 'content-length': String(KiB + 1) });
    const reading = read(req, { maxBytes: KiB });
    expect(reading.result()).toEqual({ ok: false, failure: 'too_large', bytes: KiB + 1 });
    await feed(req, [Buffer.alloc(KiB + 1)]);
    expect(req.readableLength).toBe(KiB + 1);
  });

  it('exactly the limit is read; one byte more, counted while reading (chunked), is refused and not kept', async () => {
    const exact = request();
    const ok = read(exact, { maxBytes: KiB });
    await feed(exact, [Buffer.alloc(KiB / 2), Buffer.alloc(KiB / 2)]);
    expect(ok.result()).toMatchObject({ ok: true });

    const over = request();
    const refused = read(over, { maxBytes: KiB });
    await feed(over, [Buffer.alloc(KiB / 2), Buffer.alloc(KiB / 2 + 1)], true);
    expect(refused.result()).toEqual({ ok: false, failure: 'too_large', bytes: KiB + 1 });
    // No longer listening: what follows is not collected, and `done` is not called again.
    await feed(over, [Buffer.alloc(KiB)]);
    expect(over.listenerCount('data')).toBe(0);
  });

  it('a client that goes away mid-body: aborted, and its share of the budget is given back', async () => {
    const budget = new BodyBudget(10 * KiB, KiB);
    const req = request({ 'content-length': String(4 * KiB) });
    const reading = read(req, { maxBytes: 8 * KiB, budget });
    await feed(req, [Buffer.alloc(KiB)], true);
    expect(budget.heldBytes).toBe(4 * KiB);
    req.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reading.result()).toEqual({ ok: false, failure: 'aborted', bytes: KiB });
    expect(budget.heldBytes).toBe(0);
  });

  it('throws when something already read the body (the framework parsers left on): it would wait forever', async () => {
    const req = request();
    req.resume();
    await feed(req, [Buffer.from('{}')]);
    expect(req.readableEnded).toBe(true);
    expect(() => readBody(req, { maxBytes: KiB }, () => undefined)).toThrow(/already read/);
  });
});

describe('readBody with a BodyBudget (bodies over smallBytes share totalBytes)', () => {
  it('small bodies never draw on it, even when it is spent', async () => {
    const budget = new BodyBudget(4 * KiB, KiB);
    expect(budget.reserve(4 * KiB)).toBe(true);
    const req = request({ 'content-length': String(KiB) });
    const reading = read(req, { maxBytes: 8 * KiB, budget });
    await feed(req, [Buffer.alloc(KiB)]);
    expect(reading.result()).toMatchObject({ ok: true });
  });

  it('a declared large body holds its size until released; meanwhile another that does not fit is refused unread', async () => {
    const budget = new BodyBudget(6 * KiB, KiB);
    const first = request({ 'content-length': String(4 * KiB) });
    const a = read(first, { maxBytes: 8 * KiB, budget });
    await feed(first, [Buffer.alloc(4 * KiB)]);
    const held = a.result();
    expect(held).toMatchObject({ ok: true });
    expect(budget.heldBytes).toBe(4 * KiB);

    const second = request({ 'content-length': String(3 * KiB) });
    expect(read(second, { maxBytes: 8 * KiB, budget }).result()).toEqual({
      ok: false,
      failure: 'over_budget',
      bytes: 3 * KiB,
    });
    expect(budget.heldBytes).toBe(4 * KiB);

    if (held.ok) {
      held.release();
      held.release(); // twice is harmless
    }
    expect(budget.heldBytes).toBe(0);
    const third = request({ 'content-length': String(3 * KiB) });
    const c = read(third, { maxBytes: 8 * KiB, budget });
    await feed(third, [Buffer.alloc(3 * KiB)]);
    expect(c.result()).toMatchObject({ ok: true });
  });

  it('a chunked body reserves as it grows past smallBytes, and is refused (its reservation returned) when it cannot', async () => {
    const budget = new BodyBudget(3 * KiB, KiB);
    expect(budget.reserve(KiB)).toBe(true); // someone else's
    const req = request();
    const reading = read(req, { maxBytes: 8 * KiB, budget });
    await feed(req, [Buffer.alloc(KiB)], true);
    expect(budget.heldBytes).toBe(KiB);
    await feed(req, [Buffer.alloc(KiB)], true);
    expect(budget.heldBytes).toBe(3 * KiB);
    await feed(req, [Buffer.alloc(KiB)], true);
    expect(reading.result()).toEqual({ ok: false, failure: 'over_budget', bytes: 3 * KiB });
    expect(budget.heldBytes).toBe(KiB);
  });
});
