import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { parseEvent, type CioEvent } from '../../shared/customerio/event';
import { rejectId, toEventRow, toRejectRow } from '../../shared/warehouse/row';
import { EVENTS_TABLE, REJECTS_TABLE } from '../../shared/warehouse/schema';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const RECEIVED_AT = '2024-11-25T16:30:00.000Z';
const RECEIVED = { workspace: 'default', receivedAt: RECEIVED_AT };

function event(body: unknown): CioEvent {
  const result = parseEvent(Buffer.from(JSON.stringify(body)));
  if (!result.ok) throw new Error(result.detail);
  return result.event;
}
const fixture = (name: string) => event(JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')));

describe('toEventRow', () => {
  it('has exactly the columns of EVENTS_TABLE, for every fixture', () => {
    const columns = EVENTS_TABLE.fields.map((f) => f.name).sort();
    for (const file of fs.readdirSync(FIXTURES)) {
      expect(Object.keys(toEventRow(fixture(file), RECEIVED, [])).sort()).toEqual(columns);
    }
  });

  it('maps an email bounce (newsletter) column by column', () => {
    const e = fixture('email-bounced-newsletter.json');
    expect(toEventRow(e, RECEIVED, ['identify:email_bounced'])).toEqual({
      event_id: '01JD2KB17F8G9H0J1K2M3N4P5Q',
      object_type: 'email',
      metric: 'bounced',
      event_timestamp: '2024-11-25T16:11:40.000Z',
      received_at: RECEIVED_AT,
      person_id: 'u-1003',
      person_email: 'cy@example.com',
      cio_id: null,
      customer_id: 'u-1003',
      delivery_id: 'dlv-Sc3CCCIVr5z1',
      action_id: null,
      campaign_id: null,
      broadcast_id: null,
      newsletter_id: 519,
      journey_id: null,
      transactional_message_id: null,
      recipient: 'cy@example.com',
      subject: 'Weekly digest',
      href: null,
      link_id: null,
      failure_message: '550 5.1.1 The email account that you tried to reach does not exist',
      data: JSON.stringify(e.data),
      actions: ['identify:email_bounced'],
      object_type_type: null,
      body: JSON.stringify({
        event_id: '01JD2KB17F8G9H0J1K2M3N4P5Q',
        object_type: 'email',
        metric: 'bounced',
        timestamp: 1732551100,
      }),
      truncated: null,
      workspace: 'default',
      source: null,
    });
  });

  it('keeps every top-level field, reads object_type_type, and says what the webhook truncated', () => {
    const e = event({
      event_id: 'e1',
      object_type: 'customer',
      metric: 'cio_subscription_preferences_changed',
      object_type_type: 'email',
      timestamp: '1732551100',
      brand_new_field: { nested: [1, 2] },
      data: { identifiers: { cio_id: 'c1' } },
    });
    const row = toEventRow(
      e,
      { workspace: 'default', receivedAt: RECEIVED_AT, truncated: 'data.content,data.headers' },
      [],
    );
    expect(row.object_type_type).toBe('email');
    expect(JSON.parse(row.body)).toEqual({
      event_id: 'e1',
      object_type: 'customer',
      metric: 'cio_subscription_preferences_changed',
      object_type_type: 'email',
      timestamp: '1732551100',
      brand_new_field: { nested: [1, 2] },
    });
    expect(row.truncated).toBe('data.content,data.headers');
  });

  it('carries the workspace the event came from', () => {
    const row = toEventRow(
      fixture('email-spammed.json'),
      { workspace: 'eu-brand', receivedAt: RECEIVED_AT },
      [],
    );
    expect(row.workspace).toBe('eu-brand');
  });

  it('maps a click (campaign, journey) column by column', () => {
    const e = event({
      ...JSON.parse(fs.readFileSync(path.join(FIXTURES, 'email-clicked.json'), 'utf8')),
    });
    const row = toEventRow(e, RECEIVED, []);
    expect(row).toEqual({
      event_id: '01JD2KA06E7F8G9H0J1K2M3N4P',
      object_type: 'email',
      metric: 'clicked',
      event_timestamp: '2024-11-25T16:10:00.000Z',
      received_at: RECEIVED_AT,
      person_id: 'u-1001',
      person_email: 'ana@example.org',
      cio_id: 'a1b2c3000001',
      customer_id: 'u-1001',
      delivery_id: 'dlv-Qk1AAAGTp3x9',
      action_id: 311,
      campaign_id: 27,
      broadcast_id: null,
      newsletter_id: null,
      journey_id: null,
      transactional_message_id: null,
      recipient: 'ana@example.org',
      subject: 'Your November summary',
      href: 'https://example.org/report?utm=cio',
      link_id: 5,
      failure_message: null,
      data: JSON.stringify(e.data),
      actions: [],
      object_type_type: null,
      body: JSON.stringify(e.topLevel),
      truncated: null,
      workspace: 'default',
      source: null,
    });
    expect(JSON.parse(row.data)).toMatchObject({ machine: false, link_id: 5 });
  });

  it('takes the email from email_address for customer events and a null identifiers.id as null', () => {
    const row = toEventRow(fixture('customer-subscribed.json'), RECEIVED, []);
    expect(row).toMatchObject({
      person_id: 'u-1001',
      person_email: 'ana@example.org',
      object_type: 'customer',
    });
    const spam = toEventRow(fixture('email-spammed.json'), RECEIVED, []);
    expect(spam).toMatchObject({ person_id: null, customer_id: null, cio_id: 'a1b2c3000004' });
  });

  it('stores journey_id as a string whether it came as a string or a number', () => {
    expect(toEventRow(event({ event_id: 'e', data: { journey_id: 12345 } }), RECEIVED, []).journey_id).toBe(
      '12345',
    );
    expect(toEventRow(fixture('email-sent-campaign.json'), RECEIVED, []).journey_id).toBe(
      '01JCZ0Q4R5S6T7V8W9X0Y1Z2A3',
    );
  });

  it('coerces numeric-string ids and nulls non-integers, keeping them in data', () => {
    const e = event({
      event_id: 'e',
      data: {
        campaign_id: '27',
        action_id: 3.5,
        broadcast_id: 'abc',
        newsletter_id: 2 ** 60,
        link_id: ' 7 ',
      },
    });
    const row = toEventRow(e, RECEIVED, []);
    expect(row).toMatchObject({
      campaign_id: 27,
      action_id: null,
      broadcast_id: null,
      newsletter_id: null,
      link_id: 7,
    });
    expect(JSON.parse(row.data)).toMatchObject({ action_id: 3.5, broadcast_id: 'abc' });
  });

  it('takes a push failure_message from recipients[] (distinct, joined) when data has none', () => {
    const push = (recipients: unknown[], extra: object = {}) =>
      toEventRow(
        event({
          event_id: 'p1',
          object_type: 'push',
          metric: 'bounced',
          timestamp: 1732551500,
          data: { recipients, ...extra },
        }),
        RECEIVED,
        [],
      ).failure_message;
    const gone = { device_id: 'a', failure_message: 'Unregistered device' };
    const bad = { device_id: 'b', failure_message: 'InvalidProviderToken' };
    expect(push([gone, { device_id: 'c' }, bad, { ...gone, device_id: 'd' }])).toBe(
      'Unregistered device; InvalidProviderToken',
    );
    expect(push([gone], { failure_message: 'top level' })).toBe('top level');
    expect(push([{ device_id: 'a' }, 'junk', null])).toBeNull();
  });

  it('leaves event_timestamp null without a timestamp and keeps sub-second precision', () => {
    expect(toEventRow(event({ event_id: 'e' }), RECEIVED, []).event_timestamp).toBeNull();
    expect(toEventRow(event({ event_id: 'e', timestamp: 1732551100.25 }), RECEIVED, []).event_timestamp).toBe(
      '2024-11-25T16:11:40.250Z',
    );
  });
});

describe('toRejectRow', () => {
  it('has exactly the columns of REJECTS_TABLE and ids the raw bytes by sha256', () => {
    const raw = Buffer.from('not json at all');
    const row = toRejectRow({
      raw,
      reason: 'not_json',
      detail: 'Unexpected token',
      eventId: undefined,
      messageId: 'm-1',
      attributes: { received_at: RECEIVED_AT },
      receivedAt: RECEIVED_AT,
      rejectedAt: new Date('2024-11-25T16:31:00Z'),
    });
    expect(Object.keys(row).sort()).toEqual(REJECTS_TABLE.fields.map((f) => f.name).sort());
    expect(row).toEqual({
      reject_id: createHash('sha256').update(raw).digest('hex'),
      reason: 'not_json',
      detail: 'Unexpected token',
      event_id: null,
      message_id: 'm-1',
      raw_body: raw.toString('base64'),
      attributes: JSON.stringify({ received_at: RECEIVED_AT }),
      received_at: RECEIVED_AT,
      rejected_at: '2024-11-25T16:31:00.000Z',
    });
    expect(rejectId(raw)).toBe(row.reject_id);
  });
});
