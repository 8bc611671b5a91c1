// Property-based fuzzing of the code that reads untrusted input: the webhook's signature verifier and envelope reader,
// the processor's push-envelope decoder and event parser. Each property runs a bounded number of times from a fixed
// seed (FUZZ_SEED=<n> explores another); a failure prints the seed and the shrunk counterexample.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { parseEvent, type ParsedEvent } from '../shared/customerio/event';
import { decodePushEnvelope, type DecodedEnvelope } from '../shared/processor/push-envelope';
import { toEventRow } from '../shared/warehouse/row';
import { verifySignature, type HeaderValue, type SignaturePolicy } from '../shared/webhook/signature';
import { MAX_ATTRIBUTE_BYTES, messageAttributes, readEnvelope } from '../shared/webhook/envelope';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
const run = <T>(property: fc.IProperty<T>, numRuns = 300) => fc.assert(property, { seed: SEED, numRuns });

const hmac = (key: string, ts: string, body: Buffer) =>
  createHmac('sha256', key).update(`v0:${ts}:`).update(body).digest('hex');
const utf8RoundTrips = (text: string) => Buffer.from(text, 'utf8').toString('utf8') === text;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------------------------------
// Arbitraries
const bytes = (maxLength = 512) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
const hexDigit = fc.constantFrom(...'0123456789abcdef');
/** Any UTF-16 code unit sequence, lone surrogates included (what a JS string can hold and JSON can escape). */
const anyUnits = (maxLength = 40) =>
  fc.string({
    unit: fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    ),
    maxLength,
  });
/** Strings around Pub/Sub's 1024-byte attribute limit, in 1-, 2-, 3- and 4-byte characters. */
const nearLimit = fc
  .tuple(fc.constantFrom('e', 'é', '€', '😀'), fc.integer({ min: -3, max: 3 }))
  .map(([ch, delta]) => ch.repeat(Math.max(1, Math.floor(1024 / Buffer.byteLength(ch)) + delta)));
const hostileString = fc.oneof(
  fc.string({ maxLength: 30 }),
  anyUnits(),
  nearLimit,
  fc.constantFrom('', ' ', '\u0000', '__proto__', 'constructor', '\ufeff'),
);
const hostileValue = fc.oneof(hostileString, fc.jsonValue({ maxDepth: 3 }));
/** Objects shaped like events, with every field missing, mistyped or hostile now and then. */
const eventLike = fc.record(
  {
    event_id: hostileValue,
    object_type: hostileValue,
    metric: hostileValue,
    timestamp: fc.oneof(
      fc.integer(),
      fc.double(),
      fc.integer({ min: -1e12, max: 1e12 }).map(String),
      fc.constantFrom('1e400', '-0', '1732551100.5', 'NaN'),
      hostileValue,
    ),
    data: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }))),
  },
  { requiredKeys: [] },
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), eventLike);
/** JSON text for `value`, sometimes pretty-printed, sometimes with an own `"__proto__"` key spliced in. */
const jsonText = (value: unknown) =>
  fc.tuple(fc.boolean(), fc.boolean()).map(([pretty, proto]) => {
    const text = JSON.stringify(value, null, pretty ? 2 : undefined) ?? 'null';
    return proto && text.startsWith('{') && text !== '{}'
      ? `{"__proto__":{"event_id":"inherited","polluted":1},${text.slice(1)}`
      : text;
  });

// ---------------------------------------------------------------------------------------------------------------------
describe('verifySignature (the webhook verifier)', () => {
  const header: fc.Arbitrary<HeaderValue> = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 80 }),
    anyUnits(80),
    fc.string({ unit: hexDigit, minLength: 62, maxLength: 66 }),
    fc.integer({ min: -1, max: 1e13 }).map(String),
    fc.array(fc.string({ maxLength: 70 }), { maxLength: 3 }),
  );
  const keys = fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), {
    minLength: 1,
    maxLength: 4,
  });
  const window = fc.record({
    maxAgeSeconds: fc.integer({ min: 60, max: 31 * 86_400 }),
    maxFutureSeconds: fc.integer({ min: 0, max: 86_400 }),
  });
  const nowMs = fc.integer({ min: 0, max: 4_000_000_000_000 });

  /** An independent statement of the rule: docs/customerio.md, "Signature"; docs/architecture.md, "The webhook". */
  function expected(sig: HeaderValue, ts: HeaderValue, body: Buffer, policy: SignaturePolicy, now: number) {
    if (sig === undefined || sig === '' || ts === undefined || ts === '')
      return { ok: false, reason: 'unsigned' };
    if (typeof sig !== 'string' || typeof ts !== 'string') return { ok: false, reason: 'malformed' };
    if (!/^[0-9a-f]{64}$/.test(sig) || !/^[0-9]{1,12}$/.test(ts)) return { ok: false, reason: 'malformed' };
    const keyIndex = policy.keys.findIndex((k) => hmac(k, ts, body) === sig);
    if (keyIndex < 0) return { ok: false, reason: 'mismatch' };
    const age = Math.floor(now / 1000) - Number(ts);
    if (age > policy.maxAgeSeconds) return { ok: false, reason: 'stale' };
    if (-age > policy.maxFutureSeconds) return { ok: false, reason: 'future' };
    return { ok: true, keyIndex, timestamp: ts };
  }
  const outcome = (r: ReturnType<typeof verifySignature>) =>
    r.ok ? { ok: true, keyIndex: r.keyIndex, timestamp: r.timestamp } : { ok: false, reason: r.reason };

  it('never throws on arbitrary headers (strings, arrays, absent), bodies, keys and clocks, and agrees with the rule', () => {
    run(
      fc.property(header, header, bytes(), keys, window, nowMs, (sig, ts, body, k, w, now) => {
        const policy = { keys: k, ...w };
        expect(outcome(verifySignature({ signature: sig, timestamp: ts, body }, policy, now))).toEqual(
          expected(sig, ts, body, policy, now),
        );
      }),
      500,
    );
  });

  /** A request correctly signed by one of the keys, its timestamp anywhere from past the window to beyond it. */
  const signedRequest = fc
    .record({
      keys,
      window,
      now: nowMs,
      body: bytes(),
      pick: fc.nat(),
      // Anywhere from past the window to beyond it, or within 2 s of one of its edges.
      where: fc.oneof(
        fc.double({ min: -1.1, max: 1.1, noNaN: true }),
        fc.tuple(fc.constantFrom('oldest', 'newest'), fc.integer({ min: -2, max: 2 })),
      ),
    })
    .map(({ keys: k, window: w, now, body, pick, where }) => {
      const nowSeconds = Math.floor(now / 1000);
      const seconds =
        typeof where === 'number'
          ? nowSeconds + Math.round(where * (where < 0 ? w.maxAgeSeconds : w.maxFutureSeconds))
          : where[0] === 'oldest'
            ? nowSeconds - w.maxAgeSeconds + where[1]
            : nowSeconds + w.maxFutureSeconds + where[1];
      const ts = String(Math.max(0, seconds));
      const key = k[pick % k.length];
      return { policy: { keys: k, ...w }, now, body, ts, key, signature: hmac(key, ts, body) };
    });

  it('a correct HMAC by any configured key verifies exactly when the timestamp is inside the window', () => {
    run(
      fc.property(signedRequest, ({ policy, now, body, ts, key, signature }) => {
        const result = verifySignature({ signature, timestamp: ts, body }, policy, now);
        const age = Math.floor(now / 1000) - Number(ts);
        const inside = age <= policy.maxAgeSeconds && -age <= policy.maxFutureSeconds;
        expect(result.ok).toBe(inside);
        if (result.ok) expect(hmac(policy.keys[result.keyIndex], ts, body)).toBe(hmac(key, ts, body));
        else expect(result.reason).toBe(age > policy.maxAgeSeconds ? 'stale' : 'future');
      }),
      500,
    );
  });

  const inWindow = signedRequest
    .map((r) => ({ ...r, ts: String(Math.floor(r.now / 1000)) }))
    .map((r) => ({
      ...r,
      signature: hmac(r.key, r.ts, r.body),
    }));
  const flip = (text: string, bit: number) => {
    const b = Buffer.from(text, 'latin1');
    b[Math.floor(bit / 8) % b.length] ^= 1 << (bit % 8);
    return b.toString('latin1');
  };

  it('one flipped bit anywhere in the body, the signature or the timestamp fails', () => {
    run(
      fc.property(
        inWindow,
        fc.nat(),
        fc.constantFrom('body', 'signature', 'digest', 'timestamp'),
        (r, bit, where) => {
          expect(
            verifySignature({ signature: r.signature, timestamp: r.ts, body: r.body }, r.policy, r.now).ok,
          ).toBe(true);
          let { signature, ts, body } = r;
          if (where === 'body') {
            if (body.length === 0) return;
            body = Buffer.from(body);
            body[Math.floor(bit / 8) % body.length] ^= 1 << (bit % 8);
          } else if (where === 'signature') signature = flip(signature, bit);
          else if (where === 'digest')
            signature = flip(Buffer.from(signature, 'hex').toString('latin1'), bit);
          else ts = flip(ts, bit);
          if (where === 'digest') signature = Buffer.from(signature, 'latin1').toString('hex');
          const result = verifySignature({ signature, timestamp: ts, body }, r.policy, r.now);
          expect(result.ok).toBe(false);
        },
      ),
      500,
    );
  });

  it('a correct signature or timestamp in an array (a repeated header) never verifies', () => {
    run(
      fc.property(inWindow, fc.integer({ min: 1, max: 3 }), fc.boolean(), (r, copies, inSignature) => {
        const signature = inSignature ? Array<string>(copies).fill(r.signature) : r.signature;
        const timestamp = inSignature ? r.ts : Array<string>(copies).fill(r.ts);
        expect(verifySignature({ signature, timestamp, body: r.body }, r.policy, r.now)).toMatchObject({
          ok: false,
          reason: 'malformed',
        });
      }),
      200,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
describe('readEnvelope + messageAttributes (the webhook envelope reader)', () => {
  const RECEIVED = new Date(1_750_000_000_123);
  const ALLOWED = [
    'workspace',
    'event_id',
    'object_type',
    'metric',
    'cio_timestamp',
    'received_at',
    'parse_error',
  ];

  /** Pub/Sub's limits: ≤ 100 attributes, keys ≤ 256 bytes and not `goog*`, values ≤ 1024 bytes of valid UTF-8. */
  function expectPublishable(attributes: Record<string, string>) {
    const keys = Object.keys(attributes);
    expect(keys.length).toBeLessThanOrEqual(100);
    expect(keys.filter((k) => !ALLOWED.includes(k))).toEqual([]);
    for (const [key, value] of Object.entries(attributes)) {
      expect(typeof value).toBe('string');
      expect(key.startsWith('goog')).toBe(false);
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(MAX_ATTRIBUTE_BYTES);
      expect(utf8RoundTrips(value)).toBe(true);
    }
    expect(attributes.received_at).toBe(RECEIVED.toISOString());
    expect(attributes.cio_timestamp).toBe('1750000000');
  }

  it('never throws on arbitrary bytes, and its attributes are always publishable', () => {
    run(
      fc.property(
        fc.oneof(
          bytes(2048),
          fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)),
        ),
        (raw) => {
          expectPublishable(messageAttributes(readEnvelope(raw), '1750000000', RECEIVED, 'default'));
        },
      ),
      500,
    );
  });

  it('on arbitrary JSON: the same answer with or without the body already parsed, and event_id exactly when valid', () => {
    run(
      fc.property(
        anyJson.chain((value) => jsonText(value).map((text) => ({ text }))),
        ({ text }) => {
          const raw = Buffer.from(text, 'utf8');
          const parsed: unknown = JSON.parse(text);
          const envelope = readEnvelope(raw);
          expect(readEnvelope(raw, { ok: true, value: parsed })).toEqual(envelope);
          const attributes = messageAttributes(envelope, '1750000000', RECEIVED, 'default');
          expectPublishable(attributes);

          const own = (key: string) =>
            isPlainObject(parsed) && Object.hasOwn(parsed, key) ? parsed[key] : undefined;
          const id = own('event_id');
          const valid =
            typeof id === 'string' &&
            id !== '' &&
            utf8RoundTrips(id) &&
            Buffer.byteLength(id) <= MAX_ATTRIBUTE_BYTES;
          if (valid) {
            expect(attributes.event_id).toBe(id);
            expect(attributes).not.toHaveProperty('parse_error');
          } else {
            expect(attributes).not.toHaveProperty('event_id');
            expect(['not_an_object', 'missing_event_id', 'invalid_event_id']).toContain(
              attributes.parse_error,
            );
            expect(attributes.parse_error === 'not_an_object').toBe(!isPlainObject(parsed));
          }
          // Labels are cut to fit, never invented: a label that fits is kept as is.
          for (const key of ['object_type', 'metric'] as const) {
            const value = own(key);
            if (typeof value !== 'string' || value === '') expect(attributes).not.toHaveProperty(key);
            else if (utf8RoundTrips(value) && Buffer.byteLength(value) <= MAX_ATTRIBUTE_BYTES)
              expect(attributes[key]).toBe(value);
            else expect(Buffer.from(value, 'utf8').toString('utf8').startsWith(attributes[key])).toBe(true);
          }
        },
      ),
      500,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
describe('parseEvent (the processor event parser)', () => {
  /** What the processor may rely on for an accepted event: it can claim, act on and store it. */
  function expectUsable(result: ParsedEvent, raw: Buffer) {
    if (!result.ok) {
      expect(['not_json', 'not_an_object', 'invalid_event']).toContain(result.reason);
      expect(typeof result.detail).toBe('string');
      expect(result.detail.length).toBeGreaterThan(0);
      return;
    }
    const { event } = result;
    expect(typeof event.eventId).toBe('string');
    expect(event.eventId.trim()).not.toBe('');
    expect(event.eventId.length).toBeLessThanOrEqual(1024);
    for (const label of [event.objectType, event.metric])
      expect(['string', 'undefined']).toContain(typeof label);
    if (event.timestamp !== undefined) expect(Number.isFinite(event.timestamp)).toBe(true);
    expect(isPlainObject(event.data)).toBe(true);
    const body = JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>;
    expect(event.eventId).toBe(body.event_id);
    // The warehouse row is built from it without throwing.
    expect(() =>
      toEventRow(event, { workspace: 'default', receivedAt: '2025-01-01T00:00:00.000Z' }, []),
    ).not.toThrow();
  }

  it('never throws on arbitrary bytes: a usable event or a classified rejection', () => {
    run(
      fc.property(
        fc.oneof(
          bytes(1024),
          fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)),
        ),
        (raw) => {
          const result = parseEvent(raw);
          expectUsable(result, raw);
          if (!result.ok && result.reason !== 'not_json')
            expect(() => JSON.parse(raw.toString())).not.toThrow();
        },
      ),
      500,
    );
  });

  it('on arbitrary JSON: a usable event or a classified rejection, and not_an_object exactly for non-objects', () => {
    run(
      fc.property(
        anyJson.chain((value) => jsonText(value)),
        (text) => {
          const raw = Buffer.from(text, 'utf8');
          const result = parseEvent(raw);
          expectUsable(result, raw);
          const parsed: unknown = JSON.parse(text);
          expect(!result.ok && result.reason === 'not_an_object').toBe(!isPlainObject(parsed));
          expect(!result.ok && result.reason === 'not_json').toBe(false);
        },
      ),
      500,
    );
  });

  it('found by the property below: data nested past BigQuery JSON’s 500 levels is rejected, not retried forever', () => {
    // Before: parseEvent accepted it, toEventRow's JSON.stringify threw RangeError (from ~4 400 levels), and the
    // processor nacked the message until it was dead-lettered, calling the Track API on every delivery.
    const event = (levels: number) =>
      Buffer.from(`{"event_id":"01DEEP","data":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`);
    expect(parseEvent(event(500))).toMatchObject({ ok: true });
    expect(parseEvent(event(501))).toEqual({
      ok: false,
      reason: 'invalid_event',
      detail: 'data is nested deeper than 500 levels',
      eventId: '01DEEP',
    });
    expect(parseEvent(event(100_000))).toMatchObject({ ok: false, reason: 'invalid_event' });
  });

  it('an event whose data is nested deep is a classified rejection or a storable event', () => {
    run(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), (depth, arrays) => {
        const nested = arrays
          ? '['.repeat(depth) + ']'.repeat(depth)
          : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
        const raw = Buffer.from(
          `{"event_id":"01DEEP","object_type":"email","metric":"sent","data":{"n":${nested}}}`,
        );
        expectUsable(parseEvent(raw), raw);
      }),
      200,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
describe('decodePushEnvelope (the processor push-envelope decoder)', () => {
  function expectClassified(result: DecodedEnvelope) {
    const attributes = result.ok ? result.message.attributes : result.attributes;
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    for (const value of Object.values(attributes)) expect(typeof value).toBe('string');
    if (result.ok) {
      expect(Buffer.isBuffer(result.message.data)).toBe(true);
      const attempt = result.message.deliveryAttempt;
      expect(attempt === undefined || Number.isInteger(attempt)).toBe(true);
    } else {
      expect(['envelope_invalid', 'data_not_base64']).toContain(result.reason);
      expect(Buffer.isBuffer(result.raw)).toBe(true);
    }
  }

  const body = fc.oneof(
    fc.constant(undefined),
    fc.string(),
    fc.jsonValue({ maxDepth: 4 }),
    fc.record(
      {
        message: fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.record(
            {
              data: fc.oneof(
                bytes(64).map((b) => b.toString('base64')),
                hostileValue,
              ),
              attributes: fc.oneof(fc.dictionary(fc.string(), hostileValue), hostileValue),
              messageId: hostileValue,
              message_id: hostileValue,
              publishTime: hostileValue,
            },
            { requiredKeys: [] },
          ),
        ),
        subscription: hostileValue,
        deliveryAttempt: fc.oneof(fc.integer(), fc.double(), hostileValue),
      },
      { requiredKeys: [] },
    ),
  );

  it('never throws on arbitrary parsed bodies and raw bytes: a message or a classified rejection', () => {
    run(
      fc.property(body, fc.option(bytes(256), { nil: undefined }), (parsed, raw) => {
        expectClassified(decodePushEnvelope(parsed, raw));
      }),
      500,
    );
  });

  it('with the body unparsed by the framework (invalid JSON), it reads the raw bytes the same way', () => {
    run(
      fc.property(body, (parsed) => {
        const raw = Buffer.from(JSON.stringify(parsed) ?? '', 'utf8');
        const reparsed: unknown = raw.length > 0 ? JSON.parse(raw.toString()) : undefined;
        const fromRaw = decodePushEnvelope(undefined, raw);
        expectClassified(fromRaw);
        expect(fromRaw).toEqual(decodePushEnvelope(reparsed, raw));
      }),
      300,
    );
  });

  it('round-trips what Pub/Sub push sends: the exact data bytes and string attributes', () => {
    const attributes = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '__proto__'),
      fc.string({ maxLength: 50 }),
    );
    run(
      fc.property(
        bytes(2048),
        attributes,
        fc.string({ minLength: 1 }),
        fc.option(fc.nat(100), { nil: undefined }),
        (data, attrs, id, attempt) => {
          const envelope = {
            message: {
              data: data.toString('base64'),
              attributes: attrs,
              messageId: id,
              publishTime: '2025-01-01T00:00:00Z',
            },
            subscription: 'projects/p/subscriptions/s',
            ...(attempt !== undefined && { deliveryAttempt: attempt }),
          };
          const raw = Buffer.from(JSON.stringify(envelope));
          const result = decodePushEnvelope(JSON.parse(raw.toString()), raw);
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.message.data.equals(data)).toBe(true);
          expect(result.message.attributes).toEqual(attrs);
          expect(result.message.messageId).toBe(id);
          expect(result.message.deliveryAttempt).toBe(attempt);
        },
      ),
      300,
    );
  });
});
