// fitOneMessage: a signed body too large for one Pub/Sub message is published smaller, never refused.
import { messageAttributes, parseJson, readEnvelope } from '../../shared/webhook/envelope';
import { fitOneMessage } from '../../shared/webhook/oversize';
import { MAX_MESSAGE_BYTES, messageBytes, type OutgoingMessage } from '../../shared/webhook/publisher';

const MiB = 1024 * 1024;
const RECEIVED = new Date(1_750_000_000_000);

/** What the handler does with a signed body: label it, then fit it. */
function fit(raw: Buffer): OutgoingMessage {
  const json = parseJson(raw);
  const envelope = readEnvelope(raw, json);
  return fitOneMessage(
    { data: raw, attributes: messageAttributes(envelope, '1750000000', RECEIVED, 'default') },
    json,
    envelope,
  );
}

const event = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      event_id: '01BIG',
      object_type: 'email',
      metric: 'sent',
      timestamp: 1_749_999_000,
      data,
      ...extra,
    }),
  );

const DELIVERY = {
  delivery_id: 'dlv-1',
  identifiers: { id: 'u-1', cio_id: 'c0ffee', email: 'jo@example.com' },
  recipient: 'jo@example.com',
  subject: 'Hello',
};

function expectPublishable(message: OutgoingMessage) {
  expect(messageBytes(message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  for (const value of Object.values(message.attributes))
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(1024);
}

describe('fitOneMessage', () => {
  it('leaves a message that fits alone, bytes untouched (the largest real events included)', () => {
    const raw = event({ ...DELIVERY, content: 'x'.repeat(8 * MiB) });
    const message = fit(raw);
    expect(message.data).toBe(raw);
    expect(message.attributes).not.toHaveProperty('truncated');
    expect(message.attributes).not.toHaveProperty('original_bytes');
  });

  it('over the limit: without data.content, everything else kept in order, the removal and the size said', () => {
    const raw = event({
      ...DELIVERY,
      content: '<html>' + 'x'.repeat(12 * MiB) + '</html>',
      after: [1, 'two'],
    });
    const message = fit(raw);
    expectPublishable(message);
    expect(message.attributes).toMatchObject({
      event_id: '01BIG',
      object_type: 'email',
      metric: 'sent',
      truncated: 'data.content',
      original_bytes: String(raw.length),
    });
    expect(message.attributes).not.toHaveProperty('parse_error');
    const original = JSON.parse(raw.toString()) as { data: Record<string, unknown> };
    delete original.data.content;
    expect(message.data.toString()).toBe(JSON.stringify(original));
  });

  it.each([
    [
      'content and headers',
      { content: 'x'.repeat(6 * MiB), headers: { 'X-Big': ['y'.repeat(6 * MiB)] } },
      'data.content,data.headers',
    ],
    ['headers alone', { headers: { 'X-Big': ['y'.repeat(10 * MiB)] } }, 'data.headers'],
    [
      'a small content beside huge headers',
      { content: 'hi', headers: { 'X-Big': ['y'.repeat(10 * MiB)] } },
      'data.content,data.headers',
    ],
  ])('names what it removed: %s', (_, bulk, truncated) => {
    const message = fit(event({ ...DELIVERY, ...bulk }));
    expectPublishable(message);
    expect(message.attributes.truncated).toBe(truncated);
    expect(JSON.parse(message.data.toString())).toMatchObject({ event_id: '01BIG', data: DELIVERY });
  });

  it('keeps only the identity when removing content and headers is not enough', () => {
    const raw = event({
      ...DELIVERY,
      content: 'small',
      recipients: Array.from({ length: 700_000 }, (_, i) => `r${i}@x.io`),
    });
    expect(raw.length).toBeGreaterThan(MAX_MESSAGE_BYTES);
    const message = fit(raw);
    expectPublishable(message);
    expect(message.attributes).toMatchObject({
      event_id: '01BIG',
      truncated: 'body',
      original_bytes: String(raw.length),
    });
    expect(JSON.parse(message.data.toString())).toEqual({
      event_id: '01BIG',
      object_type: 'email',
      metric: 'sent',
      timestamp: 1_749_999_000,
    });
  });

  it('keeps only the identity of an event without content or headers, whatever made it large', () => {
    const message = fit(event(DELIVERY, { unexpected: 'z'.repeat(10 * MiB) }));
    expect(message.attributes.truncated).toBe('body');
    expect(JSON.parse(message.data.toString())).toMatchObject({
      event_id: '01BIG',
      timestamp: 1_749_999_000,
    });
  });

  it('a signed body that is not an event: flagged as before, and nothing of it kept', () => {
    const raw = Buffer.from('not json ' + 'x'.repeat(10 * MiB));
    const message = fit(raw);
    expectPublishable(message);
    expect(message.attributes).toMatchObject({
      parse_error: 'invalid_json',
      truncated: 'body',
      original_bytes: String(raw.length),
    });
    expect(message.data.toString()).toBe('{}');
  });

  it('an invalid event_id is not carried into the identity (it stays flagged)', () => {
    const message = fit(event(DELIVERY, { event_id: 'e'.repeat(2000), unexpected: 'z'.repeat(10 * MiB) }));
    expect(message.attributes).toMatchObject({ parse_error: 'invalid_event_id', truncated: 'body' });
    expect(JSON.parse(message.data.toString())).not.toHaveProperty('event_id');
  });

  it('"__proto__" keys stay plain keys of the shrunk event', () => {
    const raw = Buffer.from(
      `{"event_id":"01PROTO","data":{"__proto__":{"polluted":"yes"},"content":"${'x'.repeat(10 * MiB)}"}}`,
    );
    const message = fit(raw);
    expect(message.attributes.truncated).toBe('data.content');
    expect(message.data.toString()).toBe('{"event_id":"01PROTO","data":{"__proto__":{"polluted":"yes"}}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('an event nested deeper than JSON.stringify can recurse keeps its identity instead of failing', () => {
    const depth = 200_000;
    const raw = Buffer.from(
      `{"event_id":"01DEEP","metric":"sent","data":{"content":"${'x'.repeat(10 * MiB)}","deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
    );
    const message = fit(raw);
    expect(message.attributes.truncated).toBe('body');
    expect(JSON.parse(message.data.toString())).toEqual({ event_id: '01DEEP', metric: 'sent' });
  });
});
