import fs from 'node:fs';
import path from 'node:path';
import { parseEvent, personEmail, type CioEvent } from '../../shared/customerio/event';
import { decodePushEnvelope, receivedAtOf } from '../../shared/processor/push-envelope';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const parse = (body: unknown) =>
  parseEvent(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
const ok = (body: unknown): CioEvent => {
  const result = parse(body);
  if (!result.ok) throw new Error(`expected a valid event, got ${result.reason}: ${result.detail}`);
  return result.event;
};

describe('parseEvent', () => {
  it.each(fs.readdirSync(FIXTURES))('accepts the fixture %s', (file) => {
    const raw = fs.readFileSync(path.join(FIXTURES, file));
    const body = JSON.parse(raw.toString()) as { event_id: string; metric: string; timestamp: number };
    const event = ok(raw.toString());
    expect(event.eventId).toBe(body.event_id);
    expect(event.metric).toBe(body.metric);
    expect(event.timestamp).toBe(body.timestamp);
  });

  it('accepts unknown object types and metrics and a minimal event', () => {
    const event = ok({ event_id: 'e1', object_type: 'carrier_pigeon', metric: 'landed' });
    expect(event).toEqual({
      eventId: 'e1',
      objectType: 'carrier_pigeon',
      metric: 'landed',
      timestamp: undefined,
      topLevel: { event_id: 'e1', object_type: 'carrier_pigeon', metric: 'landed' },
      data: {},
    });
    expect(ok({ event_id: 'e2', data: null, timestamp: null }).data).toEqual({});
  });

  it('reads a numeric-string timestamp', () => {
    expect(ok({ event_id: 'e', timestamp: '1732551100' }).timestamp).toBe(1732551100);
  });

  it.each([
    ['not JSON', '{"event_id":', 'not_json'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'not_json'],
    ['an array', '[1,2]', 'not_an_object'],
    ['null', 'null', 'not_an_object'],
    ['a string', '"hi"', 'not_an_object'],
    ['no event_id', { metric: 'sent' }, 'invalid_event'],
    ['a numeric event_id', { event_id: 5 }, 'invalid_event'],
    ['a blank event_id', { event_id: '  ' }, 'invalid_event'],
    ['a numeric metric', { event_id: 'e', metric: 5 }, 'invalid_event'],
    ['an object object_type', { event_id: 'e', object_type: {} }, 'invalid_event'],
    ['a word timestamp', { event_id: 'e', timestamp: 'yesterday' }, 'invalid_event'],
    [
      'a timestamp past year 9999 in seconds and in milliseconds',
      { event_id: 'e', timestamp: 1e15 },
      'invalid_event',
    ],
    ['an array data', { event_id: 'e', data: [] }, 'invalid_event'],
  ])('rejects %s', (_name, body, reason) => {
    const result = Buffer.isBuffer(body) ? parseEvent(body) : parse(body);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.detail).not.toBe('');
    }
  });

  it('keeps the event_id of an invalid event for the reject row', () => {
    const result = parse({ event_id: 'e9', metric: 7 });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_event', eventId: 'e9' });
  });
});

describe('the person', () => {
  const withIds = (identifiers: unknown, extra: object = {}) =>
    ok({ event_id: 'e', data: { identifiers, ...extra } });

  it('has an email from identifiers.email, else email_address', () => {
    expect(personEmail(withIds({ email: 'a@x.io' }, { email_address: 'b@x.io' }))).toBe('a@x.io');
    expect(personEmail(withIds({ id: 'u' }, { email_address: 'b@x.io' }))).toBe('b@x.io');
  });
});

describe('decodePushEnvelope', () => {
  const envelope = (message: unknown, extra: object = {}) => ({
    message,
    subscription: 'projects/p/subscriptions/s',
    ...extra,
  });

  it('decodes data, attributes, ids and the delivery attempt', () => {
    const body = envelope(
      {
        data: Buffer.from('{"event_id":"e"}').toString('base64'),
        attributes: { event_id: 'e', received_at: '2024-11-25T16:00:01.5Z' },
        messageId: '123',
        publishTime: '2024-11-25T16:00:02.123456789Z',
      },
      { deliveryAttempt: 3 },
    );
    const result = decodePushEnvelope(body, Buffer.from(JSON.stringify(body)));
    expect(result).toEqual({
      ok: true,
      message: {
        data: Buffer.from('{"event_id":"e"}'),
        attributes: { event_id: 'e', received_at: '2024-11-25T16:00:01.5Z' },
        messageId: '123',
        publishTime: '2024-11-25T16:00:02.123456789Z',
        deliveryAttempt: 3,
      },
    });
  });

  it('parses the raw body when the framework did not (invalid or non-JSON content type)', () => {
    const body = envelope({ data: 'e30=', message_id: '9', publish_time: '2024-11-25T16:00:00Z' });
    const result = decodePushEnvelope(undefined, Buffer.from(JSON.stringify(body)));
    expect(result).toMatchObject({ ok: true, message: { data: Buffer.from('{}'), messageId: '9' } });
  });

  it.each([
    ['not JSON', undefined, Buffer.from('{{{'), 'envelope_invalid'],
    ['no message', { subscription: 's' }, undefined, 'envelope_invalid'],
    ['a string message', { message: 'hi' }, undefined, 'envelope_invalid'],
    ['numeric data', { message: { data: 5 } }, undefined, 'envelope_invalid'],
    ['array attributes', { message: { data: '', attributes: [] } }, undefined, 'envelope_invalid'],
    ['bad base64', { message: { data: 'not base64!', messageId: 'm' } }, undefined, 'data_not_base64'],
    ['unpadded base64', { message: { data: 'e30' } }, undefined, 'data_not_base64'],
  ])('rejects %s', (_name, body, raw, reason) => {
    const result = decodePushEnvelope(body, raw ?? Buffer.from(JSON.stringify(body)));
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('parks the undecodable data string itself, with the message id', () => {
    const body = { message: { data: 'not base64!', messageId: 'm7', attributes: { a: 'b' } } };
    const result = decodePushEnvelope(body, Buffer.from(JSON.stringify(body)));
    expect(result).toMatchObject({
      ok: false,
      raw: Buffer.from('not base64!'),
      messageId: 'm7',
      attributes: { a: 'b' },
    });
  });

  it('takes received_at from the attribute, else the publish time, else the fallback', () => {
    const fallback = new Date('2030-01-01T00:00:00Z');
    expect(receivedAtOf({ received_at: '2024-11-25T16:00:01.5Z' }, '2024-11-25T17:00:00Z', fallback)).toBe(
      '2024-11-25T16:00:01.500Z',
    );
    expect(receivedAtOf({ received_at: 'garbage' }, '2024-11-25T17:00:00.123456Z', fallback)).toBe(
      '2024-11-25T17:00:00.123Z',
    );
    expect(receivedAtOf({}, undefined, fallback)).toBe('2030-01-01T00:00:00.000Z');
  });
});
