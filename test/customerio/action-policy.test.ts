import fs from 'node:fs';
import path from 'node:path';
import {
  EngagementLimiter,
  decideActions,
  personToActOn,
  type Action,
  type Policy,
} from '../../shared/customerio/action-policy';
import { parseEvent, type CioEvent } from '../../shared/customerio/event';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const DEFAULT: Policy = { suppressOn: [], engagementAttributes: false, spamUnsubscribe: false };
const ALL: Policy = { suppressOn: ['bounced', 'spammed'], engagementAttributes: true, spamUnsubscribe: true };

function event(body: unknown): CioEvent {
  const result = parseEvent(Buffer.from(JSON.stringify(body)));
  if (!result.ok) throw new Error(result.detail);
  return result.event;
}
const fixture = (name: string) => event(JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')));

/** An email event with a person of both identifiers, its recipient their address. */
function email(metric: string, data: Record<string, unknown> = {}, identifiers: unknown = undefined) {
  return event({
    event_id: 'e',
    object_type: 'email',
    metric,
    timestamp: 1732551100,
    data: {
      identifiers: identifiers ?? { id: 'u-7', email: 'Ana@Example.org', cio_id: 'c0ffee' },
      recipient: 'ana@example.org',
      ...data,
    },
  });
}
const calls = (decision: ReturnType<typeof decideActions>): Action[] => {
  if (!('actions' in decision)) throw new Error(`skipped: ${decision.skipped}`);
  return decision.actions;
};
const keys = (decision: ReturnType<typeof decideActions>) =>
  calls(decision).map((a) => `${a.key} ${a.person}`);

describe('the person to act on', () => {
  const withIds = (identifiers: unknown) => email('bounced', {}, identifiers);

  it('is cio_<cio_id>, else the id, else nobody: never the email', () => {
    expect(personToActOn(withIds({ id: 'u-1', cio_id: 'c1', email: 'a@x.io' }))).toBe('cio_c1');
    expect(personToActOn(withIds({ id: 'u-1', cio_id: null, email: 'a@x.io' }))).toBe('u-1');
    expect(personToActOn(withIds({ id: 'u-1', cio_id: '  ' }))).toBe('u-1');
    expect(personToActOn(withIds({ id: 42 }))).toBe('42');
    expect(personToActOn(withIds({ id: '', email: 'a@x.io' }))).toBeUndefined();
    expect(personToActOn(withIds({ email: 'a@x.io' }))).toBeUndefined();
    expect(
      personToActOn(email('bounced', { identifiers: undefined, email_address: 'b@x.io' })),
    ).toBeUndefined();
  });
});

describe('decideActions: hard bounces', () => {
  it('mark the profile by cio_id with the time, reason and the address that bounced', () => {
    expect(calls(decideActions(fixture('email-bounced-newsletter.json'), DEFAULT))).toEqual([
      {
        key: 'identify:email_bounced',
        kind: 'identify',
        person: 'u-1003', // this ID-only workspace's event has no cio_id
        attributes: {
          email_bounced: true,
          email_bounced_at: 1732551100,
          email_bounce_reason: '550 5.1.1 The email account that you tried to reach does not exist',
          email_bounced_address: 'cy@example.com',
        },
      },
    ]);
    expect(keys(decideActions(email('bounced', { failure_message: '550 unknown user' }), DEFAULT))).toEqual([
      'identify:email_bounced cio_c0ffee',
    ]);
  });

  it('with no SMTP code at all are hard (Customer.io reports permanent failures as bounced)', () => {
    expect(keys(decideActions(email('bounced'), DEFAULT))).toEqual(['identify:email_bounced cio_c0ffee']);
    expect(
      keys(decideActions(email('bounced', { failure_message: 'mailbox unavailable' }), DEFAULT)),
    ).toEqual(['identify:email_bounced cio_c0ffee']);
  });

  it('also suppress, after the identify, only when bounced is in CIO_SUPPRESS_ON', () => {
    const bounce = email('bounced', { failure_message: '550 5.1.1 no such user' });
    expect(keys(decideActions(bounce, { ...DEFAULT, suppressOn: ['bounced'] }))).toEqual([
      'identify:email_bounced cio_c0ffee',
      'suppress cio_c0ffee',
    ]);
    expect(keys(decideActions(bounce, { ...DEFAULT, suppressOn: ['spammed'] }))).toEqual([
      'identify:email_bounced cio_c0ffee',
    ]);
  });

  it('leave out *_at and the reason when the event lacks them', () => {
    const bare = event({
      event_id: 'e',
      object_type: 'email',
      metric: 'bounced',
      data: { identifiers: { id: 'u' } },
    });
    expect(calls(decideActions(bare, DEFAULT))).toEqual([
      { key: 'identify:email_bounced', kind: 'identify', person: 'u', attributes: { email_bounced: true } },
    ]);
  });
});

describe('decideActions: soft bounces never touch the profile', () => {
  it.each([
    '452 4.2.2 Mailbox full',
    '421 Try again later',
    'smtp;450 4.7.1 greylisted, please retry',
    'Deferred: 4.4.7 message expired',
  ])('%s → skipped:soft_bounce, no suppress even when configured', (failure_message) => {
    expect(decideActions(email('bounced', { failure_message }), ALL)).toEqual({ skipped: 'soft_bounce' });
  });

  it('a 5xx anywhere makes it hard', () => {
    const mixed = email('bounced', {
      failure_message: '452 4.2.2 over quota; then 550 5.2.2 mailbox disabled',
    });
    expect(keys(decideActions(mixed, DEFAULT))).toEqual(['identify:email_bounced cio_c0ffee']);
  });
});

describe('decideActions: complaints', () => {
  it('mark the profile with attributes only by default (unsubscribed is global and would undo a re-subscribe)', () => {
    expect(calls(decideActions(fixture('email-spammed.json'), DEFAULT))).toEqual([
      {
        key: 'identify:email_complained',
        kind: 'identify',
        person: 'cio_a1b2c3000004',
        attributes: {
          email_complained: true,
          email_complained_at: 1732551200,
          email_complained_address: 'di@example.com',
        },
      },
    ]);
  });

  it('also unsubscribe only with CIO_SPAM_UNSUBSCRIBE=true, under a key of its own', () => {
    expect(calls(decideActions(email('spammed'), { ...DEFAULT, spamUnsubscribe: true }))).toEqual([
      {
        key: 'identify:email_complained_unsubscribed',
        kind: 'identify',
        person: 'cio_c0ffee',
        attributes: {
          email_complained: true,
          email_complained_at: 1732551100,
          email_complained_address: 'ana@example.org',
          unsubscribed: true,
        },
      },
    ]);
  });

  it('also suppress only when spammed is in CIO_SUPPRESS_ON', () => {
    expect(keys(decideActions(email('spammed'), { ...DEFAULT, suppressOn: ['spammed'] }))).toEqual([
      'identify:email_complained cio_c0ffee',
      'suppress cio_c0ffee',
    ]);
    expect(keys(decideActions(email('spammed'), { ...DEFAULT, suppressOn: ['bounced'] }))).toEqual([
      'identify:email_complained cio_c0ffee',
    ]);
  });
});

describe('decideActions: the address that failed must be the person’s', () => {
  it.each(['bounced', 'spammed'])(
    '%s to another address than identifiers.email → skipped:recipient_mismatch',
    (metric) => {
      const other = email(metric, { recipient: 'billing@example.org', failure_message: '550 no such user' });
      expect(decideActions(other, ALL)).toEqual({ skipped: 'recipient_mismatch' });
    },
  );

  it('compares addresses without case; acts when either side is missing', () => {
    expect(keys(decideActions(email('spammed', { recipient: 'ANA@example.ORG' }), DEFAULT))).toEqual([
      'identify:email_complained cio_c0ffee',
    ]);
    expect(keys(decideActions(email('spammed', { recipient: undefined }), DEFAULT))).toEqual([
      'identify:email_complained cio_c0ffee',
    ]);
    const noEmail = email('bounced', {}, { cio_id: 'c0ffee' });
    expect(calls(decideActions(noEmail, DEFAULT))[0]).toMatchObject({
      attributes: { email_bounced_address: 'ana@example.org' },
    });
  });
});

describe('decideActions: nobody to act on', () => {
  it.each(['bounced', 'spammed'])(
    '%s with neither cio_id nor id → skipped:no_person (never the email)',
    (metric) => {
      expect(decideActions(email(metric, {}, { email: 'ana@example.org' }), ALL)).toEqual({
        skipped: 'no_person',
      });
    },
  );

  it('a soft bounce or a mismatch is said before the missing person', () => {
    const nobody = { email: 'ana@example.org' };
    expect(decideActions(email('bounced', { failure_message: '452 full' }, nobody), ALL)).toEqual({
      skipped: 'soft_bounce',
    });
    expect(decideActions(email('spammed', { recipient: 'x@y.z' }, nobody), ALL)).toEqual({
      skipped: 'recipient_mismatch',
    });
  });
});

describe('decideActions: unsubscribes, engagement and everything else', () => {
  it('never writes an unsubscribe back, whatever the configuration', () => {
    expect(decideActions(fixture('email-unsubscribed.json'), ALL)).toEqual({ actions: [] });
    expect(
      decideActions(event({ event_id: 'e', object_type: 'customer', metric: 'unsubscribed' }), ALL),
    ).toEqual({
      actions: [],
    });
  });

  it('sets engagement only when enabled; proxied opens count, prefetched opens and machine clicks never', () => {
    const click = fixture('email-clicked.json');
    expect(decideActions(click, DEFAULT)).toEqual({ actions: [] });
    expect(calls(decideActions(click, ALL))).toEqual([
      {
        key: 'identify:email_engaged',
        kind: 'identify',
        person: 'cio_a1b2c3000001',
        attributes: { last_email_engaged_at: 1732551000 },
      },
    ]);
    expect(decideActions(fixture('email-opened-prefetched.json'), ALL)).toEqual({ actions: [] });
    expect(decideActions(email('clicked', { machine: true }), ALL)).toEqual({ actions: [] });
    expect(keys(decideActions(email('opened', { proxied: true }), ALL))).toEqual([
      'identify:email_engaged cio_c0ffee',
    ]);
    expect(decideActions(email('opened', {}, { email: 'a@b.c' }), ALL)).toEqual({ skipped: 'no_person' });
  });

  it('leaves non-email bounces, every other fixture and unknown metrics to the warehouse', () => {
    for (const [object_type, metric] of [
      ['sms', 'bounced'],
      ['push', 'bounced'],
      ['whatsapp', 'bounced'],
      ['in_app', 'clicked'],
      ['email', 'deferred'],
      ['email', 'dropped'],
      ['email', 'brand_new_metric'],
      ['hologram', 'bounced'],
    ]) {
      const other = event({
        event_id: 'e',
        object_type,
        metric,
        timestamp: 1,
        data: { identifiers: { id: 'u' } },
      });
      expect(decideActions(other, ALL)).toEqual({ actions: [] });
    }
    for (const file of fs.readdirSync(FIXTURES)) {
      if (/bounced|spammed|clicked/.test(file) && file.startsWith('email')) continue;
      expect(decideActions(fixture(file), ALL)).toEqual({ actions: [] });
    }
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
