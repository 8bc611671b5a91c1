// The bad-input corpus for cioWebhook: hostile or malformed HTTP requests, each with the status the README's webhook
// table says it must get, and what must (or must not) reach Pub/Sub. Data only:
// test/webhook/hostile-input.int.test.ts sends every case over a raw socket to the real functions-framework server.
//
// The rule every expectation follows: Customer.io signs every request, sends `Content-Type: application/json`,
// UTF-8, uncompressed, with well-formed HTTP/1.1 framing, to the function's URL. So
// - a request it did not sign (no key of ours, or outside the window) gets 401 and publishes nothing;
// - a request signed by a configured key gets 200 and its exact bytes are published (flagged `parse_error` when they
//   are not an event), whatever its Content-Type, charset or other headers say, or 413 above CIO_MAX_BODY_BYTES;
//   never 400;
// - not POST: 405. A signed case with any other status carries a `note` saying why Customer.io cannot send it.
import { createHmac } from 'node:crypto';
import zlib from 'node:zlib';

/** HMAC-SHA256 over `v0:<timestamp>:<body>`, lowercase hex: how Customer.io signs (README "The webhook"). */
export function sign(key: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', key).update(`v0:${timestamp}:`).update(body).digest('hex');
}

export type Header = readonly [name: string, value: string];

export interface HostileRequest {
  method: string;
  /** The request-target of the request line. */
  target: string;
  /** Sent in this order, repeated names included. The sender adds Host, Connection: close and the framing header. */
  headers: readonly Header[];
  body: Buffer;
  /** `content-length` (correct), `chunked` (16 KiB chunks), or `none` (no body, no framing header). */
  framing: 'content-length' | 'chunked' | 'none';
  /** Bytes written verbatim instead of a request built from the fields above (framing attacks). */
  wire?: Buffer;
  /** The client shuts its sending side after writing (otherwise it keeps it open until the reply). */
  halfClose?: true;
}

export interface Expectation {
  status: number;
  /** Published exactly once, with `request.body` as its data, byte for byte. */
  published: boolean;
  /** Attributes of the published message: a string must be equal, null must be absent. */
  attributes?: Readonly<Record<string, string | null>>;
}

export interface HostileCase {
  group: string;
  name: string;
  /** Signed by a configured key over exactly these bytes and this timestamp, inside the window. */
  signed: boolean;
  request: HostileRequest;
  expect: Expectation;
  /** Why the status is right although the request is signed and the answer is not 200 (see the header). */
  note?: string;
  /** Sits within a second of the timestamp window's edges: only meaningful with the server clock pinned. */
  clockEdge?: boolean;
}

export interface CorpusContext {
  /** The server's clock, whole unix seconds. */
  nowSeconds: number;
  /** The configured signing keys (at least two: rotation). */
  keys: readonly string[];
  maxBodyBytes: number;
  maxAgeSeconds: number;
  maxFutureSeconds: number;
}

type Attributes = Record<string, string | null>;

const NO_LABELS: Attributes = { event_id: null, object_type: null, metric: null, workspace: 'default' };
const CIO_NEVER_COMPRESSES =
  'Customer.io sends uncompressed bodies; inflating one before its signature is checked invites a decompression ' +
  'bomb, so shared/request-body.ts refuses every Content-Encoding but identity, unread, and the reply says why';

export function buildHostileCorpus(ctx: CorpusContext): HostileCase[] {
  const [key, rotatedKey] = ctx.keys;
  const now = String(ctx.nowSeconds);
  const cases: HostileCase[] = [];
  let group = '';
  let serial = 0;

  /** A fresh event_id: every published body in the corpus is distinct, so each message maps to its case. */
  const nextId = () => `01HOSTILE${String(++serial).padStart(4, '0')}`;
  /** A realistic event with a fresh event_id. */
  const event = (extra: Record<string, unknown> = {}) => {
    const id = nextId();
    const body = JSON.stringify({
      event_id: id,
      object_type: 'email',
      metric: 'delivered',
      timestamp: ctx.nowSeconds - 60,
      data: { delivery_id: `d-${serial}`, identifiers: { id: `u-${serial}` }, recipient: 'jo@example.com' },
      ...extra,
    });
    return { id, body: Buffer.from(body) };
  };
  const labelled = (id: string, ts = now): Attributes => ({
    event_id: id,
    object_type: 'email',
    metric: 'delivered',
    workspace: 'default',
    cio_timestamp: ts,
    parse_error: null,
  });
  const flagged = (parseError: string, more: Attributes = {}): Attributes => ({
    ...NO_LABELS,
    cio_timestamp: now,
    parse_error: parseError,
    ...more,
  });

  const signature = (sig: string, ts: string): Header[] => [
    ['X-CIO-Timestamp', ts],
    ['X-CIO-Signature', sig],
  ];
  const signedBy = (k: string, body: Buffer, ts = now) => signature(sign(k, ts, body), ts);

  interface RequestOptions {
    method?: string;
    target?: string;
    contentType?: string | null;
    framing?: HostileRequest['framing'];
    extra?: Header[];
  }
  const request = (body: Buffer, headers: Header[], options: RequestOptions = {}): HostileRequest => {
    const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
    return {
      method: options.method ?? 'POST',
      target: options.target ?? '/',
      headers: [
        ...(contentType === null ? [] : [['Content-Type', contentType] as const]),
        ...(options.extra ?? []),
        ...headers,
      ],
      body,
      framing: options.framing ?? 'content-length',
    };
  };

  const add = (c: Omit<HostileCase, 'group'>) => cases.push({ group, ...c });
  /** A signed request: 200 and its bytes published, labelled as given. */
  const accepted = (
    name: string,
    req: HostileRequest,
    attributes: Attributes,
    extra: Partial<HostileCase> = {},
  ) =>
    add({ name, signed: true, request: req, expect: { status: 200, published: true, attributes }, ...extra });
  /** 401, nothing published. */
  const unsigned = (name: string, req: HostileRequest, extra: Partial<HostileCase> = {}) =>
    add({ name, signed: false, request: req, expect: { status: 401, published: false }, ...extra });
  /** A signed event posted as Customer.io would, with overrides. */
  const signedEvent = (options: RequestOptions = {}, extra: Record<string, unknown> = {}) => {
    const e = event(extra);
    return { ...e, req: request(e.body, signedBy(key, e.body), options) };
  };

  /**
   * An event sent with these headers instead of Customer.io's Content-Type, twice: signed (200, published as sent)
   * and unsigned (401, never published). The headers change nothing: only the signature decides.
   */
  const headerVariant = (name: string, headers: Header[], options: Pick<RequestOptions, 'framing'> = {}) => {
    const e = event();
    accepted(
      `${name}, signed`,
      request(e.body, signedBy(key, e.body), { ...options, contentType: null, extra: headers }),
      labelled(e.id),
    );
    unsigned(
      `${name}, unsigned`,
      request(event().body, [], { ...options, contentType: null, extra: headers }),
    );
  };

  // ---------------------------------------------------------------------------------------------------------------
  group = 'baseline';
  {
    const e = signedEvent();
    accepted('a signed event, as Customer.io sends it', e.req, labelled(e.id));
    const r = event();
    accepted(
      'signed with the second key of the list (rotation)',
      request(r.body, signedBy(rotatedKey, r.body)),
      {
        ...labelled(r.id),
      },
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'signature headers';
  {
    const { body } = event();
    const good = sign(key, now, body);
    const send = (headers: Header[]) => request(body, headers);
    unsigned('no signature headers at all', send([]));
    unsigned('signature without timestamp', send([['X-CIO-Signature', good]]));
    unsigned('timestamp without signature', send([['X-CIO-Timestamp', now]]));
    unsigned('empty signature value', send(signature('', now)));
    unsigned('empty timestamp value', send(signature(good, '')));
    unsigned('whitespace-only signature value (trimmed to empty)', send(signature('   ', now)));
    // Node joins a repeated unknown header into one "a, b" string (only set-cookie becomes an array).
    unsigned(
      'signature header sent twice with the same valid value (Node joins them: "sig, sig")',
      send([...signature(good, now), ['X-CIO-Signature', good]]),
    );
    unsigned(
      'signature header twice: a bogus one, then the valid one',
      send([['X-CIO-Signature', 'ab'.repeat(32)], ...signature(good, now)]),
    );
    unsigned(
      'signature header twice: the valid one, then a bogus one',
      send([...signature(good, now), ['X-CIO-Signature', 'ab'.repeat(32)]]),
    );
    unsigned(
      'timestamp header sent twice with the same value',
      send([...signature(good, now), ['X-CIO-Timestamp', now]]),
    );
    unsigned('uppercase hex signature', send(signature(good.toUpperCase(), now)));
    unsigned(
      'mixed-case hex signature',
      send(signature(good.slice(0, 32) + good.slice(32).toUpperCase(), now)),
    );
    unsigned('63 hex digits', send(signature(good.slice(0, 63), now)));
    unsigned('65 hex digits', send(signature(`${good}0`, now)));
    unsigned('64 characters with a non-hex digit', send(signature(`g${good.slice(1)}`, now)));
    unsigned('"v0=" prefix', send(signature(`v0=${good}`, now)));
    unsigned('"sha256=" prefix', send(signature(`sha256=${good}`, now)));
    unsigned('"v0:" prefix', send(signature(`v0:${good}`, now)));
    unsigned('base64 digest', send(signature(Buffer.from(good, 'hex').toString('base64'), now)));
    unsigned('a space inside the signature', send(signature(`${good.slice(0, 32)} ${good.slice(32)}`, now)));
    unsigned('64 zeros', send(signature('0'.repeat(64), now)));
    unsigned(
      'HMAC-SHA1 hex (40 digits)',
      send(signature(createHmac('sha1', key).update(`v0:${now}:`).update(body).digest('hex'), now)),
    );
    unsigned(
      'HMAC-SHA512 hex (128 digits)',
      send(signature(createHmac('sha512', key).update(`v0:${now}:`).update(body).digest('hex'), now)),
    );
    unsigned('signature for a different body', send(signature(sign(key, now, `${body} `), now)));
    unsigned(
      'signature for a different timestamp',
      send(signature(sign(key, String(ctx.nowSeconds - 1), body), now)),
    );
    unsigned('signature with a key that is not configured', send(signedBy('whsec-someone-else', body)));
    unsigned('signature with a configured key plus a space', send(signedBy(` ${key}`, body)));
    unsigned('signature with the two keys concatenated', send(signedBy(`${key},${rotatedKey}`, body)));
    unsigned('signature over "v1:<ts>:<body>"', send(signature(hmac(key, `v1:${now}:`, body), now)));
    unsigned(
      'signature over "<ts>:<body>" (no scheme prefix)',
      send(signature(hmac(key, `${now}:`, body), now)),
    );
    unsigned('signature over the body alone', send(signature(hmac(key, '', body), now)));
    unsigned(
      'signature of an empty body sent with a non-empty body',
      send(signature(sign(key, now, ''), now)),
    );
    unsigned(
      'body one byte shorter than what was signed',
      request(body.subarray(0, -1), signature(good, now)),
    );
    {
      const pretty = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
      unsigned(
        'pretty-printed body with the compact body signature (JSON re-serialised does not verify)',
        request(pretty, signature(good, now)),
      );
    }
    unsigned(
      'timestamp in full-width digits (UTF-8 in a header)',
      send(signature(sign(key, '１７００', body), '１７００')),
    );
    // HTTP strips optional whitespace around header values, so these are the exact Customer.io values.
    {
      const e = event();
      accepted(
        'spaces and tabs around both header values (HTTP strips them)',
        request(e.body, signature(` \t${sign(key, now, e.body)}\t `, `  ${now} `)),
        labelled(e.id),
      );
    }
    {
      const e = event();
      accepted(
        'header names in capitals (X-CIO-SIGNATURE): names are case-insensitive',
        request(e.body, [
          ['X-CIO-TIMESTAMP', now],
          ['X-CIO-SIGNATURE', sign(key, now, e.body)],
        ]),
        labelled(e.id),
      );
    }
    add({
      name: 'signature header of 20 KB (Node refuses oversized headers before any code of ours)',
      signed: false,
      request: send(signature('a'.repeat(20_000), now)),
      expect: { status: 431, published: false },
    });
    add({
      name: 'NUL byte in the signature header (Node refuses the request line up)',
      signed: false,
      request: wireRequest(request(body, signature(`${good.slice(0, 10)}\0${good.slice(11)}`, now))),
      expect: { status: 400, published: false },
    });
    add({
      name: 'obsolete line folding in the signature header',
      signed: false,
      request: wireRequest(
        request(body, [
          ['X-CIO-Timestamp', now],
          ['X-CIO-Signature', `${good.slice(0, 32)}\r\n ${good.slice(32)}`],
        ]),
      ),
      expect: { status: 400, published: false },
    });
    add({
      name: 'space before the colon of the signature header',
      signed: false,
      request: wireRequest(
        request(body, [
          ['X-CIO-Timestamp', now],
          ['X-CIO-Signature ', good],
        ]),
      ),
      expect: { status: 400, published: false },
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'timestamps';
  {
    /** Signed correctly over this verbatim timestamp: only the timestamp rule decides. */
    const at = (ts: string) => {
      const e = event();
      return { ...e, req: request(e.body, signedBy(key, e.body, ts)) };
    };
    for (const [name, ts] of [
      ['0 (the epoch)', '0'],
      ['-1', '-1'],
      ['negative now', `-${now}`],
      ['now with a fraction (.0)', `${now}.0`],
      ['now with a fraction (.5)', `${now}.5`],
      ['exponent (1.7e9)', '1.7e9'],
      ['exponent (now e0)', `${now}e0`],
      ['a plus sign', `+${now}`],
      ['hexadecimal', `0x${ctx.nowSeconds.toString(16)}`],
      ['milliseconds (13 digits)', `${now}000`],
      ['three leading zeros (13 digits)', `000${now}`],
      ['20 digits', '9'.repeat(20)],
      ['12 digits (year 33658, far future)', '999999999999'],
      ['the word "now"', 'now'],
      ['ISO-8601', new Date(ctx.nowSeconds * 1000).toISOString()],
      ['an HTTP date', new Date(ctx.nowSeconds * 1000).toUTCString()],
      ['a space inside', `${now.slice(0, 5)} ${now.slice(5)}`],
      ['one day past the window', String(ctx.nowSeconds - ctx.maxAgeSeconds - 86_400)],
      ['one hour ahead', String(ctx.nowSeconds + 3600)],
    ] as const) {
      unsigned(`timestamp: ${name}`, at(ts).req);
    }
    {
      // Signed verbatim: "0<now>" is another string to sign, and only a key holder can produce it.
      const padded = at(`0${now}`);
      accepted(
        'timestamp: one leading zero (signed verbatim, same second)',
        padded.req,
        labelled(padded.id, `0${now}`),
      );
      const padded2 = at(`00${now}`);
      accepted('timestamp: two leading zeros (12 digits)', padded2.req, labelled(padded2.id, `00${now}`));
    }
    {
      const e = event();
      unsigned(
        'stale timestamp with a wrong signature (a forgery, not a clock problem)',
        request(e.body, signature(sign('whsec-someone-else', '100', e.body), '100')),
      );
    }
    const oldest = String(ctx.nowSeconds - ctx.maxAgeSeconds);
    const newest = String(ctx.nowSeconds + ctx.maxFutureSeconds);
    const edge = at(oldest);
    accepted('timestamp: exactly CIO_SIGNATURE_MAX_AGE_SECONDS old', edge.req, labelled(edge.id, oldest), {
      clockEdge: true,
    });
    unsigned('timestamp: 1 s older than the window', at(String(ctx.nowSeconds - ctx.maxAgeSeconds - 1)).req, {
      clockEdge: true,
    });
    const ahead = at(newest);
    accepted(
      'timestamp: exactly CIO_SIGNATURE_MAX_FUTURE_SECONDS ahead',
      ahead.req,
      labelled(ahead.id, newest),
      {
        clockEdge: true,
      },
    );
    unsigned(
      'timestamp: 1 s further ahead than the window',
      at(String(ctx.nowSeconds + ctx.maxFutureSeconds + 1)).req,
      {
        clockEdge: true,
      },
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'content encodings';
  {
    const refused = (name: string, encoding: string, wire: Buffer, signedOver: Buffer | undefined) =>
      add({
        name,
        signed: signedOver !== undefined,
        request: request(wire, signedOver === undefined ? [] : signedBy(key, signedOver), {
          extra: [['Content-Encoding', encoding]],
        }),
        expect: { status: 415, published: false },
        ...(signedOver !== undefined && { note: CIO_NEVER_COMPRESSES }),
      });
    const plain = event().body;
    const gzipped = zlib.gzipSync(plain);
    refused('gzip, signed over the decompressed bytes', 'gzip', gzipped, plain);
    refused('gzip, signed over the compressed bytes', 'gzip', gzipped, gzipped);
    refused('gzip, unsigned', 'gzip', gzipped, undefined);
    refused('GZIP in capitals', 'GZIP', gzipped, plain);
    refused(
      'gzip header, garbage data, signed',
      'gzip',
      Buffer.from('not gzip at all'),
      Buffer.from('not gzip at all'),
    );
    refused('gzip, truncated stream, signed', 'gzip', gzipped.subarray(0, 20), gzipped.subarray(0, 20));
    refused('deflate, signed over the decompressed bytes', 'deflate', zlib.deflateSync(plain), plain);
    refused('br, signed over the decompressed bytes', 'br', zlib.brotliCompressSync(plain), plain);
    refused('zstd, signed over the decompressed bytes', 'zstd', zlib.zstdCompressSync(plain), plain);
    refused('unknown encoding "compress", signed', 'compress', plain, plain);
    refused('unknown encoding "x-custom", unsigned', 'x-custom', plain, undefined);
    refused('stacked encodings "gzip, gzip", signed', 'gzip, gzip', zlib.gzipSync(gzipped), plain);
    // 64 KiB on the wire, 64 MiB inflated: before the fix the framework buffered all of it, signed or not.
    refused(
      'gzip bomb: 64 KiB that inflate to 64 MiB, unsigned',
      'gzip',
      zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)),
      undefined,
    );
    {
      const e = event();
      accepted(
        'Content-Encoding: identity (means uncompressed)',
        request(e.body, signedBy(key, e.body), { extra: [['Content-Encoding', 'identity']] }),
        labelled(e.id),
      );
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'charsets and bytes';
  {
    let e = signedEvent({ contentType: 'application/json; charset=utf-8' });
    accepted('application/json; charset=utf-8', e.req, labelled(e.id));
    e = signedEvent({ contentType: 'application/json;charset=UTF-8' });
    accepted('application/json;charset=UTF-8', e.req, labelled(e.id));
    // The charset parameter changes nothing: the bytes are verified and published as sent, and read as UTF-8 for
    // the labels, as the processor reads them (RFC 8259: JSON between systems is UTF-8).
    e = signedEvent({ contentType: 'application/json; charset=utf-16' });
    accepted('charset=utf-16 on a UTF-8 body', e.req, labelled(e.id));
    {
      const id = nextId();
      const body = Buffer.from(
        JSON.stringify({ event_id: id, object_type: 'email', metric: 'delivered' }),
        'utf16le',
      );
      // Not UTF-8 JSON: published flagged, and the processor parks the bytes (not_json).
      accepted(
        'charset=utf-16le on a real UTF-16LE body',
        request(body, signedBy(key, body), { contentType: 'application/json; charset=utf-16le' }),
        flagged('invalid_json'),
      );
    }
    for (const charset of [
      'latin1',
      'iso-8859-1',
      'windows-1252',
      'us-ascii',
      'utf-32',
      'shift_jis',
      'bogus',
      '"utf-8"',
      '',
    ]) {
      headerVariant(`application/json; charset=${charset}`, [
        ['Content-Type', `application/json; charset=${charset}`],
      ]);
    }
    {
      const id = nextId();
      // A Latin-1 byte (é = 0xE9) where UTF-8 is expected: decoded lossily for the labels; the processor parks it.
      const body = Buffer.concat([
        Buffer.from(`{"event_id":"${id}","object_type":"email","metric":"delivered","data":{"subject":"caf`),
        Buffer.from([0xe9]),
        Buffer.from('"}}'),
      ]);
      accepted(
        'a real ISO-8859-1 body declared as charset=iso-8859-1',
        request(body, signedBy(key, body), { contentType: 'application/json; charset=iso-8859-1' }),
        labelled(id),
      );
    }
    {
      const id = nextId();
      const body = Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(JSON.stringify({ event_id: id })),
      ]);
      // The labels drop the BOM, as the processor's TextDecoder does, whatever the Content-Type.
      accepted('UTF-8 byte order mark before the JSON', request(body, signedBy(key, body)), {
        event_id: id,
        parse_error: null,
      });
      const asText = Buffer.concat([body, Buffer.from(' ')]);
      accepted(
        'UTF-8 byte order mark, sent as text/plain',
        request(asText, signedBy(key, asText), { contentType: 'text/plain' }),
        { event_id: id, parse_error: null },
      );
    }
    {
      const id = nextId();
      const body = Buffer.concat([
        Buffer.from(`{"event_id":"${id}","data":{"subject":"`),
        Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]), // invalid byte, overlong '/', CESU surrogate
        Buffer.from('"}}'),
      ]);
      // Decoded lossily (U+FFFD) for the labels; the processor's strict decoder parks it as not_json.
      accepted(
        'invalid UTF-8 (0xFF, overlong, CESU-8 surrogate) inside a string value',
        request(body, signedBy(key, body)),
        {
          event_id: id,
          parse_error: null,
        },
      );
    }
    {
      const body = Buffer.from([0xff, 0xfe, 0xfd, 0x00, 0x80]);
      accepted(
        'a body of invalid UTF-8 bytes only',
        request(body, signedBy(key, body)),
        flagged('invalid_json'),
      );
      const nul = Buffer.from(`{"event_id":"01NUL\0RAW"}`);
      accepted(
        'a raw NUL byte inside a JSON string (not valid JSON)',
        request(nul, signedBy(key, nul)),
        flagged('invalid_json'),
      );
      const nuls = Buffer.alloc(64);
      accepted(
        '64 NUL bytes as application/octet-stream',
        request(nuls, signedBy(key, nuls), { contentType: 'application/octet-stream' }),
        flagged('invalid_json'),
      );
    }
    {
      const body = Buffer.from(
        JSON.stringify({ event_id: '01ESC\u0000APED', object_type: 'email\u0000', metric: 'x\u001f' }),
      );
      accepted(
        'escaped NUL and control characters in event_id and labels',
        request(body, signedBy(key, body)),
        {
          event_id: '01ESC\u0000APED',
          object_type: 'email\u0000',
          metric: 'x\u001f',
          parse_error: null,
        },
      );
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'body sizes and framing';
  {
    const sized = (bytes: number) => {
      const e = event();
      const head = e.body.subarray(0, -1);
      const pad = bytes - head.length - ',"pad":""}'.length;
      return { id: e.id, body: Buffer.concat([head, Buffer.from(`,"pad":"${'x'.repeat(pad)}"}`)]) };
    };
    const atLimit = sized(ctx.maxBodyBytes);
    accepted(
      'exactly CIO_MAX_BODY_BYTES, signed',
      request(atLimit.body, signedBy(key, atLimit.body)),
      labelled(atLimit.id),
    );
    const chunkedAtLimit = sized(ctx.maxBodyBytes);
    accepted(
      'exactly CIO_MAX_BODY_BYTES, chunked, signed',
      request(chunkedAtLimit.body, signedBy(key, chunkedAtLimit.body), { framing: 'chunked' }),
      labelled(chunkedAtLimit.id),
    );
    const over = sized(ctx.maxBodyBytes + 1).body;
    const tooLarge = { status: 413, published: false };
    add({
      name: 'CIO_MAX_BODY_BYTES + 1, signed',
      signed: true,
      request: request(over, signedBy(key, over)),
      expect: tooLarge,
    });
    add({
      name: 'CIO_MAX_BODY_BYTES + 1, unsigned',
      signed: false,
      request: request(over, []),
      expect: tooLarge,
    });
    add({
      name: 'CIO_MAX_BODY_BYTES + 1, chunked (no Content-Length), signed',
      signed: true,
      request: request(over, signedBy(key, over), { framing: 'chunked' }),
      expect: tooLarge,
    });
    const huge = Buffer.alloc(4 * ctx.maxBodyBytes, 'x');
    add({
      name: '4 × CIO_MAX_BODY_BYTES as text/plain, unsigned',
      signed: false,
      request: request(huge, [], { contentType: 'text/plain' }),
      expect: tooLarge,
    });
    const e = signedEvent({ framing: 'chunked' });
    accepted('a small signed event, chunked', e.req, labelled(e.id));

    // Framing that is not HTTP/1.1 as Customer.io's client writes it: Node or the framework refuse it with 400
    // before any code of ours runs. Signed or not makes no difference, and nothing is published.
    const framing = (name: string, head: string, body: Buffer, signedOver?: Buffer, halfClose?: true) => {
      const auth = [`X-CIO-Timestamp: ${now}`, `X-CIO-Signature: ${sign(key, now, signedOver ?? body)}`];
      const wire = Buffer.concat([
        Buffer.from(
          [
            'POST / HTTP/1.1',
            'Host: 127.0.0.1',
            'Connection: close',
            'Content-Type: application/json',
            ...auth,
            head,
            '',
            '',
          ].join('\r\n'),
        ),
        body,
      ]);
      add({
        name,
        signed: true,
        request: {
          method: 'POST',
          target: '/',
          headers: [],
          body,
          framing: 'none',
          wire,
          ...(halfClose && { halfClose }),
        },
        expect: { status: 400, published: false },
        note: 'malformed HTTP framing: Customer.io writes well-formed HTTP/1.1',
      });
    };
    const b = event().body;
    framing(
      'Content-Length larger than the body (client then closes its side)',
      `Content-Length: ${b.length + 100}`,
      b,
      b,
      true,
    );
    framing(
      'Content-Length and Transfer-Encoding: chunked together (request smuggling)',
      `Content-Length: ${b.length}\r\nTransfer-Encoding: chunked`,
      chunk(b),
      b,
    );
    framing(
      'two different Content-Length headers',
      `Content-Length: ${b.length}\r\nContent-Length: ${b.length + 1}`,
      b,
    );
    framing('the same Content-Length twice', `Content-Length: ${b.length}\r\nContent-Length: ${b.length}`, b);
    framing('non-numeric Content-Length', `Content-Length: ${b.length}x`, b);
    framing('negative Content-Length', 'Content-Length: -1', b);
    framing(
      'invalid chunk size',
      'Transfer-Encoding: chunked',
      Buffer.concat([Buffer.from('zz\r\n'), b, Buffer.from('\r\n0\r\n\r\n')]),
      b,
    );
  }
  {
    // Node removes the chunked transfer coding and leaves any other to the application, which applies none: the
    // handler verifies the bytes as sent, which here are the signed ones.
    const e = event();
    const head = [
      'POST / HTTP/1.1',
      'Host: 127.0.0.1',
      'Connection: close',
      'Content-Type: application/json',
      ...signedBy(key, e.body).map(([name, value]) => `${name}: ${value}`),
      'Transfer-Encoding: gzip, chunked',
      '',
      '',
    ].join('\r\n');
    const wire = Buffer.concat([Buffer.from(head), chunk(e.body)]);
    accepted(
      'Transfer-Encoding: gzip, chunked around uncompressed signed bytes',
      { method: 'POST', target: '/', headers: [], body: e.body, framing: 'none', wire },
      labelled(e.id),
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'deep nesting';
  {
    const LEVELS = 100_000;
    const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const deepArrays = (id: string) =>
      Buffer.from(
        `{"event_id":"${id}","object_type":"email","metric":"delivered","data":{"deep":${arrays(LEVELS)}}}`,
      );
    {
      const id = nextId();
      const body = deepArrays(id);
      accepted(`data nested ${LEVELS} arrays deep`, request(body, signedBy(key, body)), labelled(id));
    }
    {
      const id = nextId();
      const body = Buffer.from(
        `{"event_id":"${id}","object_type":"email","metric":"delivered","data":${'{"a":'.repeat(LEVELS)}1${'}'.repeat(LEVELS)}}`,
      );
      accepted(`data nested ${LEVELS} objects deep`, request(body, signedBy(key, body)), labelled(id));
    }
    const top = Buffer.from(arrays(LEVELS));
    accepted(
      `${LEVELS} nested arrays as the whole body`,
      request(top, signedBy(key, top)),
      flagged('not_an_object'),
    );
    const open = Buffer.from('['.repeat(LEVELS));
    accepted(`${LEVELS} unclosed brackets`, request(open, signedBy(key, open)), flagged('invalid_json'));
    const noId = Buffer.from(`${'{"a":'.repeat(LEVELS)}1${'}'.repeat(LEVELS)}`);
    accepted(
      `${LEVELS} nested objects without event_id`,
      request(noId, signedBy(key, noId)),
      flagged('missing_event_id'),
    );
    unsigned(`data nested ${LEVELS} deep, unsigned`, request(deepArrays('01UNSIGNEDDEEP'), []));
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'prototype pollution';
  {
    const polluting = (id: string, json: string) => Buffer.from(`{"event_id":"${id}",${json}}`);
    let id = nextId();
    let body = polluting(id, '"__proto__":{"polluted":"yes","object_type":"inherited"}');
    accepted(
      '"__proto__" key with an object (labels read own keys only)',
      request(body, signedBy(key, body)),
      {
        event_id: id,
        object_type: null,
        parse_error: null,
      },
    );
    id = nextId();
    body = polluting(id, '"constructor":{"prototype":{"polluted":"yes"}},"metric":"opened"');
    accepted('"constructor.prototype" keys', request(body, signedBy(key, body)), {
      event_id: id,
      metric: 'opened',
      parse_error: null,
    });
    body = Buffer.from('{"__proto__":{"event_id":"01INHERITED","polluted":"yes"}}');
    accepted(
      'event_id only under "__proto__" (not an own key)',
      request(body, signedBy(key, body)),
      flagged('missing_event_id'),
    );
    id = nextId();
    body = polluting(id, '"__proto__":null,"toString":"x","hasOwnProperty":"y","valueOf":{"a":1}');
    accepted('"__proto__": null and shadowed Object methods', request(body, signedBy(key, body)), {
      event_id: id,
      parse_error: null,
    });
    id = nextId();
    body = polluting(id, '"__proto__":{"polluted":"yes"}');
    accepted(
      '"__proto__" JSON as text/plain',
      request(body, signedBy(key, body), { contentType: 'text/plain' }),
      { event_id: id, parse_error: null },
    );
    const form = Buffer.from(
      '__proto__[polluted]=yes&constructor[prototype][polluted]=yes&__proto__.polluted=yes&a[__proto__][polluted]=yes',
    );
    accepted(
      '"__proto__" and "constructor[prototype]" in a form body (qs with allowPrototypes)',
      request(form, signedBy(key, form), { contentType: 'application/x-www-form-urlencoded' }),
      flagged('invalid_json'),
    );
    unsigned(
      '"__proto__" JSON, unsigned',
      request(polluting('01UNSIGNEDPROTO', '"__proto__":{"polluted":"yes"}'), []),
    );
    unsigned(
      '"__proto__" form, unsigned',
      request(Buffer.from(`${form.toString()}&x=1`), [], {
        contentType: 'application/x-www-form-urlencoded',
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'content types';
  {
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      'application/octet-stream',
      'application/vnd.api+json',
      'application/cloudevents+json',
      'APPLICATION/JSON',
      'application/json;',
      'application/json; charset',
    ]) {
      headerVariant(`event as ${contentType}`, [['Content-Type', contentType]]);
    }
    headerVariant('Content-Type twice (text/plain, then application/json)', [
      ['Content-Type', 'text/plain'],
      ['Content-Type', 'application/json'],
    ]);
    // Content-Type missing, empty, malformed, repeated or in odd case: the body is what is signed.
    headerVariant('no Content-Type', []);
    headerVariant('no Content-Type, chunked', [], { framing: 'chunked' });
    headerVariant('empty Content-Type', [['Content-Type', '']]);
    headerVariant('unparseable Content-Type "{{{"', [['Content-Type', '{{{']]);
    headerVariant('Content-Type "*/*"', [['Content-Type', '*/*']]);
    headerVariant('Content-Type "application/json, text/plain" (a list)', [
      ['Content-Type', 'application/json, text/plain'],
    ]);
    headerVariant('Content-Type of 8 KB', [['Content-Type', `application/json; x=${'y'.repeat(8000)}`]]);
    headerVariant('Application/JSON; Charset=UTF-8 (parameters in odd case)', [
      ['Content-Type', 'Application/JSON; Charset=UTF-8'],
    ]);
    headerVariant('application/json; CHARSET="UTF-8"; Boundary=x; FOO=bar (quoted, extra parameters)', [
      ['Content-Type', 'application/json; CHARSET="UTF-8"; Boundary=x; FOO=bar'],
    ]);
    headerVariant('application/json ; charset = utf-8 (spaces around "=")', [
      ['Content-Type', 'application/json ; charset = utf-8'],
    ]);
    headerVariant('charset given twice (utf-8, then latin1)', [
      ['Content-Type', 'application/json; charset=utf-8; charset=latin1'],
    ]);
    headerVariant('Content-Type twice, identical', [
      ['Content-Type', 'application/json'],
      ['Content-Type', 'application/json'],
    ]);
    headerVariant('Content-Type twice: text/plain; charset=latin1, then application/json', [
      ['Content-Type', 'text/plain; charset=latin1'],
      ['Content-Type', 'application/json'],
    ]);
    headerVariant('content-type in lowercase and CONTENT-TYPE in capitals', [
      ['content-type', 'application/json'],
      ['CONTENT-TYPE', 'text/html; charset=utf-16'],
    ]);
    headerVariant('Content-Encoding: IDENTITY in capitals', [
      ['Content-Type', 'application/json'],
      ['Content-Encoding', 'IDENTITY'],
    ]);
    headerVariant('Content-Encoding empty', [
      ['Content-Type', 'application/json'],
      ['Content-Encoding', ''],
    ]);
    headerVariant('Content-Encoding: identity twice', [
      ['Content-Type', 'application/json'],
      ['Content-Encoding', 'identity'],
      ['Content-Encoding', 'identity'],
    ]);
    {
      const empty = Buffer.alloc(0);
      accepted(
        'no Content-Type, signed empty body',
        request(empty, signedBy(key, empty), { contentType: null }),
        flagged('invalid_json'),
      );
      accepted(
        'no Content-Type and no body framing at all, signed empty body',
        request(empty, signedBy(key, empty), { contentType: null, framing: 'none' }),
        flagged('invalid_json'),
      );
    }
    // What the framework's form parser refused (qs parameter and depth limits) or rejected by charset: plain bytes.
    const manyParams = Buffer.from(Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&'));
    accepted(
      'form body with 1001 parameters',
      request(manyParams, signedBy(key, manyParams), { contentType: 'application/x-www-form-urlencoded' }),
      flagged('invalid_json'),
    );
    const deepForm = Buffer.from(`a${'[b]'.repeat(40)}=1`);
    accepted(
      'form body nested 40 brackets deep',
      request(deepForm, signedBy(key, deepForm), { contentType: 'application/x-www-form-urlencoded' }),
      flagged('invalid_json'),
    );
    headerVariant('application/x-www-form-urlencoded; charset=utf-16', [
      ['Content-Type', 'application/x-www-form-urlencoded; charset=utf-16'],
    ]);
    headerVariant('text/plain; charset=bogus', [['Content-Type', 'text/plain; charset=bogus']]);
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'methods';
  {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE']) {
      const e = event();
      const withBody = method !== 'GET' && method !== 'HEAD' && method !== 'TRACE';
      add({
        name: `${method} with a valid signature`,
        signed: true,
        request: request(
          withBody ? e.body : Buffer.alloc(0),
          signedBy(key, withBody ? e.body : Buffer.alloc(0)),
          {
            method,
            framing: withBody ? 'content-length' : 'none',
          },
        ),
        expect: { status: 405, published: false },
      });
    }
    add({
      name: 'GET without any header',
      signed: false,
      request: request(Buffer.alloc(0), [], { method: 'GET', framing: 'none', contentType: null }),
      expect: { status: 405, published: false },
    });
    const e = event();
    add({
      name: 'lowercase "post" (methods are case-sensitive)',
      signed: true,
      request: request(e.body, signedBy(key, e.body), { method: 'post' }),
      expect: { status: 400, published: false },
      note: 'Node refuses an unknown method before the framework; Customer.io sends POST',
    });
    // Not a path, so no route of the framework's matches: Express answers with its own HTML 404, the one reply not
    // written by cioWebhook (Customer.io posts to the function's URL, a path).
    add({
      name: 'OPTIONS * (asterisk-form target)',
      signed: false,
      request: request(Buffer.alloc(0), [], {
        method: 'OPTIONS',
        target: '*',
        framing: 'none',
        contentType: null,
      }),
      expect: { status: 404, published: false },
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'paths';
  {
    // `/` is the default workspace (a query string changes nothing); `/<label>` a configured workspace's; any other
    // path names no workspace: 404 before the body is read, whatever its signature.
    for (const target of ['/?x=1&y=2', 'http://evil.example/']) {
      const e = signedEvent({ target });
      accepted(`POST to ${target}`, e.req, labelled(e.id));
    }
    for (const target of [
      '/anything',
      '/eu',
      '/a/b/c?x=1&y=2',
      '/%2e%2e/%2e%2e/etc/passwd',
      '//double//slashes',
      `/${'p'.repeat(8000)}`,
      'http://evil.example/x',
    ]) {
      const e = signedEvent({ target });
      add({
        name: `POST to ${target.length > 40 ? `a ${target.length}-character path` : target}, signed`,
        signed: true,
        request: e.req,
        expect: { status: 404, published: false },
        note: 'no workspace has this path (this handler serves the default workspace only)',
      });
    }
    for (const target of ['/favicon.ico', '/robots.txt']) {
      const e = signedEvent({ target });
      add({
        name: `POST to ${target}, signed`,
        signed: true,
        request: e.req,
        expect: { status: 404, published: false },
        note: 'functions-framework answers 404 for these two paths itself; Customer.io posts to the configured function URL',
      });
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  group = 'signed bodies that are not events';
  {
    const raw = (
      name: string,
      text: string | Buffer,
      attributes: Attributes,
      contentType?: string | null,
    ) => {
      const body = Buffer.isBuffer(text) ? text : Buffer.from(text);
      accepted(name, request(body, signedBy(key, body), { contentType }), attributes);
    };
    raw('empty body (application/json, which the framework parses as {})', '', flagged('invalid_json'));
    raw('whitespace only', ' \t\r\n ', flagged('invalid_json'));
    raw('empty array', '[]', flagged('not_an_object'));
    raw('array of events', '[{"event_id":"01INARRAY"}]', flagged('not_an_object'));
    raw('a JSON string', '"01STRING"', flagged('not_an_object'));
    raw('a JSON number', '42', flagged('not_an_object'));
    raw('JSON null', 'null', flagged('not_an_object'));
    raw('JSON true', 'true', flagged('not_an_object'));
    raw('empty object', '{}', flagged('missing_event_id'));
    raw('Infinity (not JSON)', 'Infinity', flagged('invalid_json'));
    raw('trailing garbage after the object', '{"event_id":"01TRAILING"} junk', flagged('invalid_json'));
    raw('two objects back to back', '{"event_id":"01A"}{"event_id":"01B"}', flagged('invalid_json'));
    raw('JSON with a comment', '{"event_id":"01COMMENT"} // hi', flagged('invalid_json'));
    raw('single-quoted JSON', "{'event_id':'01QUOTES'}", flagged('invalid_json'));
    raw('truncated JSON', '{"event_id":"01CUT","object_type":"em', flagged('invalid_json'));
    raw(
      'form-encoded event',
      'event_id=01FORM&metric=sent',
      flagged('invalid_json'),
      'application/x-www-form-urlencoded',
    );
    for (const [name, value] of [
      ['empty', '""'],
      ['number', '42'],
      ['null', 'null'],
      ['array', '["01X"]'],
      ['object', '{"id":"01X"}'],
      ['boolean', 'true'],
    ] as const) {
      raw(
        `event_id ${name}`,
        `{"event_id":${value},"object_type":"email","metric":"sent"}`,
        flagged('missing_event_id', {
          object_type: 'email',
          metric: 'sent',
        }),
      );
    }
    raw(
      'event_id of 1025 bytes',
      JSON.stringify({ event_id: 'e'.repeat(1025) }),
      flagged('invalid_event_id'),
    );
    raw(
      'event_id of 5 KB',
      JSON.stringify({ event_id: 'e'.repeat(5000), metric: 'sent' }),
      flagged('invalid_event_id', { metric: 'sent' }),
    );
    raw('event_id of 1024 bytes (512 × é)', JSON.stringify({ event_id: 'é'.repeat(512) }), {
      event_id: 'é'.repeat(512),
      parse_error: null,
    });
    raw('event_id with a lone surrogate', '{"event_id":"01LONE\\ud800"}', flagged('invalid_event_id'));
    // The webhook only labels; the processor decides (it parks a blank event_id as invalid_event).
    raw('event_id of spaces only', '{"event_id":"   "}', { event_id: '   ', parse_error: null });
    raw('event_id given twice (JSON.parse keeps the last)', '{"event_id":"01FIRST","event_id":"01LAST"}', {
      event_id: '01LAST',
      parse_error: null,
    });
    raw(
      'object_type of 5 KB (cut to 1024 bytes)',
      JSON.stringify({ event_id: '01LONGTYPE', object_type: 'o'.repeat(5000) }),
      {
        event_id: '01LONGTYPE',
        object_type: 'o'.repeat(1024),
        parse_error: null,
      },
    );
    raw(
      'metric of 5 KB in 3-byte characters (cut on a character boundary)',
      JSON.stringify({ event_id: '01LONGMETRIC', metric: '€'.repeat(1700) }),
      {
        event_id: '01LONGMETRIC',
        metric: '€'.repeat(341),
        parse_error: null,
      },
    );
    raw(
      'object_type and metric that are not strings',
      '{"event_id":"01TYPES","object_type":7,"metric":{"a":1}}',
      {
        event_id: '01TYPES',
        object_type: null,
        metric: null,
        parse_error: null,
      },
    );
    raw(
      '10 000 keys',
      JSON.stringify(
        Object.fromEntries([
          ['event_id', '01MANYKEYS'],
          ...Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]),
        ]),
      ),
      {
        event_id: '01MANYKEYS',
        parse_error: null,
      },
    );
    raw('a timestamp of 1e400 (Infinity once parsed)', '{"event_id":"01INF","timestamp":1e400}', {
      event_id: '01INF',
      parse_error: null,
    });
  }

  return cases;
}

function hmac(key: string, prefix: string, body: Buffer): string {
  return createHmac('sha256', key).update(prefix).update(body).digest('hex');
}

/** One chunk of `body`, then the last chunk: a chunked message body. */
function chunk(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
}

/** The same request written out by hand, for header bytes a client library would refuse to send. */
function wireRequest(req: HostileRequest): HostileRequest {
  const head = [
    `${req.method} ${req.target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...req.headers.map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${req.body.length}`,
    '',
    '',
  ].join('\r\n');
  return { ...req, wire: Buffer.concat([Buffer.from(head, 'latin1'), req.body]) };
}

/** The request as bytes on the wire (what the test client writes). */
export function toWire(req: HostileRequest, host: string): Buffer {
  if (req.wire !== undefined) return req.wire;
  const framing =
    req.framing === 'content-length'
      ? [`Content-Length: ${req.body.length}`]
      : req.framing === 'chunked'
        ? ['Transfer-Encoding: chunked']
        : [];
  const head = [
    `${req.method} ${req.target} HTTP/1.1`,
    `Host: ${host}`,
    'Connection: close',
    ...req.headers.map(([name, value]) => `${name}: ${value}`),
    ...framing,
    '',
    '',
  ].join('\r\n');
  let body = req.body;
  if (req.framing === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += 16 * 1024) {
      const piece = body.subarray(at, at + 16 * 1024);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    body = Buffer.concat(parts);
  }
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}
