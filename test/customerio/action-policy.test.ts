import fs from 'node:fs';
import path from 'node:path';
import { EngagementLimiter, decideActions, type Policy } from '../../shared/customerio/action-policy';
import { parseEvent, type CioEvent } from '../../shared/customerio/event';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const DEFAULT: Policy = { suppressOn: [], engagementAttributes: false };
const ALL: Policy = { suppressOn: ['bounced', 'spammed'], engagementAttributes: true };

function event(body: unknown): CioEvent {
  const result = parseEvent(Buffer.from(JSON.stringify(body)));
  if (!result.ok) throw new Error(result.detail);
  return result.event;
}
const fixture = (name: string) => event(JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')));

describe('decideActions', () => {
  it('marks a bounced email address with attributes from the event', () => {
    expect(decideActions(fixture('email-bounced-newsletter.json'), DEFAULT)).toEqual([
      {
        key: 'identify:email_bounced',
        kind: 'identify',
        person: 'u-1003',
        attributes: {
          email_bounced: true,
          email_bounced_at: 1732551100,
          email_bounce_reason: '550 5.1.1 The email account that you tried to reach does not exist',
        },
      },
    ]);
  });

  it('unsubscribes a complaining person, addressed by cio_id when the id is null', () => {
    expect(decideActions(fixture('email-spammed.json'), DEFAULT)).toEqual([
      {
        key: 'identify:email_complained',
        kind: 'identify',
        person: 'cio_a1b2c3000004',
        attributes: { unsubscribed: true, email_complained: true, email_complained_at: 1732551200 },
      },
    ]);
  });

  it('suppresses after the identify only for the metrics in CIO_SUPPRESS_ON', () => {
    const bounce = fixture('email-bounced-newsletter.json');
    expect(decideActions(bounce, { ...DEFAULT, suppressOn: ['bounced'] }).map((a) => a.key)).toEqual([
      'identify:email_bounced',
      'suppress',
    ]);
    expect(decideActions(bounce, { ...DEFAULT, suppressOn: ['spammed'] }).map((a) => a.key)).toEqual([
      'identify:email_bounced',
    ]);
    expect(decideActions(fixture('email-spammed.json'), ALL).map((a) => a.key)).toEqual([
      'identify:email_complained',
      'suppress',
    ]);
  });

  it('never writes an unsubscribe back, whatever the configuration', () => {
    expect(decideActions(fixture('email-unsubscribed.json'), ALL)).toEqual([]);
    expect(
      decideActions(event({ event_id: 'e', object_type: 'customer', metric: 'unsubscribed' }), ALL),
    ).toEqual([]);
  });

  it('sets engagement only when enabled, and not for prefetched opens or machine clicks', () => {
    const click = fixture('email-clicked.json');
    expect(decideActions(click, DEFAULT)).toEqual([]);
    expect(decideActions(click, ALL)).toEqual([
      {
        key: 'identify:email_engaged',
        kind: 'identify',
        person: 'u-1001',
        attributes: { last_email_engaged_at: 1732551000 },
      },
    ]);
    expect(decideActions(fixture('email-opened-prefetched.json'), ALL)).toEqual([]);
    const machine = event({
      event_id: 'e',
      object_type: 'email',
      metric: 'clicked',
      timestamp: 1,
      data: { machine: true },
    });
    expect(decideActions(machine, ALL)).toEqual([]);
    const humanOpen = event({
      event_id: 'e',
      object_type: 'email',
      metric: 'opened',
      timestamp: 5,
      data: { proxied: true },
    });
    expect(decideActions(humanOpen, ALL).map((a) => a.key)).toEqual(['identify:email_engaged']);
  });

  it('leaves non-email bounces, every other fixture and unknown metrics to the warehouse', () => {
    for (const [object_type, metric] of [
      ['sms', 'bounced'],
      ['push', 'bounced'],
      ['whatsapp', 'bounced'],
      ['in_app', 'clicked'],
      ['email', 'deferred'],
      ['email', 'brand_new_metric'],
      ['hologram', 'bounced'],
    ]) {
      expect(decideActions(event({ event_id: 'e', object_type, metric, timestamp: 1 }), ALL)).toEqual([]);
    }
    for (const file of fs.readdirSync(FIXTURES)) {
      if (/bounced|spammed|clicked/.test(file) && file.startsWith('email')) continue;
      expect(decideActions(fixture(file), ALL)).toEqual([]);
    }
  });

  it('leaves out *_at and the reason when the event lacks them, and keeps the person undefined when unknown', () => {
    expect(decideActions(event({ event_id: 'e', object_type: 'email', metric: 'bounced' }), DEFAULT)).toEqual(
      [
        {
          key: 'identify:email_bounced',
          kind: 'identify',
          person: undefined,
          attributes: { email_bounced: true },
        },
      ],
    );
  });

  it('is deterministic: the same event always asks for the same calls', () => {
    const bounce = fixture('email-bounced-newsletter.json');
    expect(decideActions(bounce, ALL)).toEqual(decideActions(bounce, ALL));
  });
});

describe('EngagementLimiter', () => {
  it('grants one identify per person per window of event time, never an older one', () => {
    const limiter = new EngagementLimiter(3600);
    expect(limiter.acquire('p', 1000)).toBe(true);
    expect(limiter.acquire('p', 1000 + 3599)).toBe(false);
    expect(limiter.acquire('p', 500)).toBe(false);
    expect(limiter.acquire('q', 1000)).toBe(true);
    expect(limiter.acquire('p', 1000 + 3600)).toBe(true);
  });

  it('forgets a released grant, and the least recent person when full', () => {
    const limiter = new EngagementLimiter(3600, 2);
    expect(limiter.acquire('a', 10)).toBe(true);
    limiter.release('a', 10);
    expect(limiter.acquire('a', 10)).toBe(true);
    limiter.acquire('b', 10);
    limiter.acquire('c', 10);
    expect(limiter.acquire('a', 11)).toBe(true);
    expect(limiter.acquire('c', 11)).toBe(false);
  });
});
