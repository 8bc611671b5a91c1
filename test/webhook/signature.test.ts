import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { verifyRequestSignature } from 'customerio-node';
import vectors from '../fixtures/signature-vectors.json';
import { verifySignature, type HeaderValue, type SignaturePolicy } from '../../shared/webhook/signature';

const DAY = 86400;
const hexDigit = fc.constantFrom(...'0123456789abcdef');
const DEFAULT_WINDOW = { maxAgeSeconds: 8 * DAY, maxFutureSeconds: 300 };

function policy(keys: string[]): SignaturePolicy {
  return { keys, ...DEFAULT_WINDOW };
}

function sign(key: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', key).update(`v0:${timestamp}:`).update(body).digest('hex');
}

function verify(
  signature: HeaderValue,
  timestamp: HeaderValue,
  body: string | Buffer,
  keys: string[],
  nowSeconds: number,
) {
  return verifySignature({ signature, timestamp, body: Buffer.from(body) }, policy(keys), nowSeconds * 1000);
}

describe('the published vectors', () => {
  it.each(vectors.map((v) => [v.source, v] as const))(
    '%s verifies, as it does with customerio-node',
    (_, v) => {
      const now = Number(v.timestamp);
      expect(verify(v.signature, v.timestamp, v.body, [v.key], now)).toEqual({
        ok: true,
        keyIndex: 0,
        timestamp: v.timestamp,
      });
      expect(
        verifyRequestSignature({
          signingSecret: v.key,
          timestamp: v.timestamp,
          body: v.body,
          signature: v.signature,
        }),
      ).toBe(true);
    },
  );

  it('the golden vector from customerio-node is among them', () => {
    expect(vectors[0]).toMatchObject({
      key: 'signing-secret',
      timestamp: '1614265384',
      signature: '6f55cf23f9b73a2ff07733fe04421f64ce9ec5e409696edda6b2a80311944230',
    });
  });

  it('a pretty-printed body does not verify with the compact body signature (bytes, not JSON, are signed)', () => {
    const compact = vectors.find((v) => v.source.includes('compact'))!;
    const pretty = vectors.find((v) => v.source.includes('pretty'))!;
    expect(JSON.parse(pretty.body)).toEqual(JSON.parse(compact.body));
    const now = Number(compact.timestamp);
    expect(verify(compact.signature, compact.timestamp, pretty.body, [compact.key], now)).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
    expect(verify(pretty.signature, pretty.timestamp, pretty.body, [pretty.key], now).ok).toBe(true);
  });

  it('multi-byte UTF-8 is signed as bytes: the same text in Latin-1 does not verify', () => {
    const v = vectors.find((x) => x.source.includes('UTF-8'))!;
    expect(Buffer.byteLength(v.body)).toBeGreaterThan(v.body.length);
    const now = Number(v.timestamp);
    expect(verify(v.signature, v.timestamp, Buffer.from(v.body, 'utf8'), [v.key], now).ok).toBe(true);
    expect(verify(v.signature, v.timestamp, Buffer.from(v.body, 'latin1'), [v.key], now)).toMatchObject({
      reason: 'mismatch',
    });
  });
});

describe('key rotation', () => {
  const v = vectors[1];
  const now = Number(v.timestamp);

  it('accepts the signature when the signing key is the first of the list', () => {
    expect(verify(v.signature, v.timestamp, v.body, [v.key, 'the-next-key'], now)).toEqual({
      ok: true,
      keyIndex: 0,
      timestamp: v.timestamp,
    });
  });

  it('accepts the signature when the signing key is the second of the list, and says so', () => {
    expect(verify(v.signature, v.timestamp, v.body, ['the-next-key', v.key], now)).toEqual({
      ok: true,
      keyIndex: 1,
      timestamp: v.timestamp,
    });
  });

  it('rejects as mismatch when no key of the list signed it', () => {
    expect(verify(v.signature, v.timestamp, v.body, ['old-key', 'new-key'], now)).toEqual({
      ok: false,
      reason: 'mismatch',
      detail: expect.any(String),
    });
  });
});

describe('malformed and missing headers are classified, never thrown', () => {
  const key = 'whsec-k';
  const ts = '1732551105';
  const now = Number(ts);
  const body = '{"event_id":"e1"}';
  const good = sign(key, ts, body);

  it.each<[string, string, HeaderValue, HeaderValue]>([
    ['no signature header', 'unsigned', undefined, ts],
    ['no timestamp header', 'unsigned', good, undefined],
    ['neither header', 'unsigned', undefined, undefined],
    ['an empty signature', 'unsigned', '', ts],
    ['an empty timestamp', 'unsigned', good, ''],
    ['an array-valued signature (repeated header)', 'malformed', [good, good], ts],
    ['an array-valued signature with one element', 'malformed', [good], ts],
    ['an array-valued timestamp', 'malformed', good, [ts]],
    ['a repeated header joined by Node', 'malformed', `${good}, ${good}`, ts],
    ['a signature one hex digit short', 'malformed', good.slice(1), ts],
    ['a signature one hex digit long', 'malformed', good + '0', ts],
    ['a SHA-1-length signature', 'malformed', good.slice(0, 40), ts],
    ['a signature with a non-hex digit', 'malformed', 'g' + good.slice(1), ts],
    ['an uppercase-hex signature (rejected on purpose)', 'malformed', good.toUpperCase(), ts],
    ['a prefixed signature', 'malformed', `sha256=${good}`, ts],
    ['a signature with surrounding space', 'malformed', ` ${good}`, ts],
    ['a base64 signature', 'malformed', Buffer.from(good, 'hex').toString('base64'), ts],
    ['a huge signature header', 'malformed', 'a'.repeat(100_000), ts],
    ['a non-numeric timestamp', 'malformed', good, 'yesterday'],
    ['a fractional timestamp', 'malformed', good, `${ts}.5`],
    ['a negative timestamp', 'malformed', good, `-${ts}`],
    ['an exponent timestamp', 'malformed', good, '1.7e9'],
    ['a millisecond-precision-length timestamp (13 digits)', 'malformed', good, `${ts}000`],
    ['a timestamp with surrounding space', 'malformed', good, ` ${ts}`],
    ['a huge timestamp header', 'malformed', good, '9'.repeat(100_000)],
  ])('%s → %s', (_, reason, signature, timestamp) => {
    const result = verify(signature, timestamp, body, [key], now);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('uppercase hex is otherwise the right digest (so its rejection is the deliberate rule, not a wrong value)', () => {
    expect(Buffer.from(good.toUpperCase(), 'hex').equals(Buffer.from(good, 'hex'))).toBe(true);
    expect(
      verifyRequestSignature({ signingSecret: key, timestamp: ts, body, signature: good.toUpperCase() }),
    ).toBe(false);
  });

  it('the detail names the header, never its value', () => {
    const result = verify('zz' + good.slice(2), ts, body, [key], now);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.detail).toContain('X-CIO-Signature');
      expect(result.detail).not.toContain(good.slice(2));
    }
  });

  it('a well-formed signature for another body, timestamp or key is a mismatch', () => {
    expect(verify(good, ts, body + ' ', [key], now)).toMatchObject({ reason: 'mismatch' });
    expect(verify(good, String(now - 1), body, [key], now)).toMatchObject({ reason: 'mismatch' });
    expect(verify(good, ts, body, ['whsec-other'], now)).toMatchObject({ reason: 'mismatch' });
  });

  it('the timestamp is signed verbatim: leading zeros make a different string to sign', () => {
    const padded = `0${ts}`;
    expect(verify(sign(key, padded, body), padded, body, [key], now).ok).toBe(true);
    expect(verify(good, padded, body, [key], now)).toMatchObject({ reason: 'mismatch' });
  });

  it('an empty body is signed like any other', () => {
    expect(verify(sign(key, ts, ''), ts, '', [key], now).ok).toBe(true);
  });
});

describe('timestamp window', () => {
  const key = 'whsec-k';
  const body = '{"event_id":"e1"}';
  const ts = 1732551105;
  const check = (nowSeconds: number, window = DEFAULT_WINDOW) =>
    verifySignature(
      { signature: sign(key, String(ts), body), timestamp: String(ts), body: Buffer.from(body) },
      { keys: [key], ...window },
      nowSeconds * 1000,
    );

  it('defaults: accepts exactly 8 days old, rejects 8 days + 1 s as stale', () => {
    expect(check(ts + 691200).ok).toBe(true);
    expect(check(ts + 691201)).toMatchObject({ ok: false, reason: 'stale' });
  });

  it('defaults: accepts exactly 300 s ahead, rejects 301 s as future', () => {
    expect(check(ts - 300).ok).toBe(true);
    expect(check(ts - 301)).toMatchObject({ ok: false, reason: 'future' });
  });

  it('honours a configured window', () => {
    const window = { maxAgeSeconds: 60, maxFutureSeconds: 0 };
    expect(check(ts + 60, window).ok).toBe(true);
    expect(check(ts + 61, window)).toMatchObject({ reason: 'stale' });
    expect(check(ts, window).ok).toBe(true);
    expect(check(ts - 1, window)).toMatchObject({ reason: 'future' });
  });

  it('counts whole seconds: 999 ms past the edge is still inside', () => {
    expect(
      verifySignature(
        { signature: sign(key, String(ts), body), timestamp: String(ts), body: Buffer.from(body) },
        { keys: [key], ...DEFAULT_WINDOW },
        (ts + 691200) * 1000 + 999,
      ).ok,
    ).toBe(true);
  });

  it('a stale timestamp with a wrong signature is a mismatch: stale always means genuinely signed', () => {
    const result = verifySignature(
      { signature: sign('whsec-other', String(ts), body), timestamp: String(ts), body: Buffer.from(body) },
      { keys: [key], ...DEFAULT_WINDOW },
      (ts + 10 * DAY) * 1000,
    );
    expect(result).toMatchObject({ reason: 'mismatch' });
  });
});

describe('agrees with customerio-node verifyRequestSignature', () => {
  const key = fc.string({ minLength: 1, maxLength: 40 });
  const timestamp = fc.integer({ min: 1_500_000_000, max: 2_000_000_000 }).map(String);
  const body = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));

  it('on correctly signed requests (random keys, timestamps, arbitrary bytes)', () => {
    fc.assert(
      fc.property(key, timestamp, body, (k, ts, b) => {
        const signature = sign(k, ts, b);
        const ours = verifySignature({ signature, timestamp: ts, body: b }, policy([k]), Number(ts) * 1000);
        const theirs = verifyRequestSignature({ signingSecret: k, timestamp: ts, body: b, signature });
        return ours.ok === true && theirs === true;
      }),
    );
  });

  it('on tampered signatures (one hex digit changed)', () => {
    fc.assert(
      fc.property(key, timestamp, body, fc.nat(63), hexDigit, (k, ts, b, i, d) => {
        const good = sign(k, ts, b);
        const signature = good.slice(0, i) + d + good.slice(i + 1);
        const ours = verifySignature({ signature, timestamp: ts, body: b }, policy([k]), Number(ts) * 1000);
        const theirs = verifyRequestSignature({ signingSecret: k, timestamp: ts, body: b, signature });
        return ours.ok === theirs && ours.ok === (signature === good);
      }),
    );
  });
});

it('never throws, whatever the headers and body', () => {
  const header = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 100 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.string({ unit: hexDigit, minLength: 64, maxLength: 64 }),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  fc.assert(
    fc.property(
      header,
      header,
      fc.uint8Array({ maxLength: 200 }),
      fc.double(),
      (signature, timestamp, body, now) => {
        const result = verifySignature(
          { signature, timestamp, body: Buffer.from(body) },
          policy(['k1', 'k2']),
          now,
        );
        return result.ok === false && typeof result.reason === 'string';
      },
    ),
  );
});
