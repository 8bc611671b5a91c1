// The realistic event generator behind `send --generate` (and the chaos suite).
import { generateEvents, METRICS_BY_OBJECT_TYPE } from '../../scripts/cli/generate-events';

type Event = {
  event_id: string;
  object_type: string;
  metric: string;
  timestamp: number;
  data: Record<string, unknown>;
};

const parse = (body: string) => JSON.parse(body) as Event;

it('is reproducible from a seed and start time, and differs across seeds', () => {
  const a = generateEvents({ count: 50, duplicateShare: 0.2, seed: 7, startMs: 1_732_550_400_000 });
  const b = generateEvents({ count: 50, duplicateShare: 0.2, seed: 7, startMs: 1_732_550_400_000 });
  const c = generateEvents({ count: 50, duplicateShare: 0.2, seed: 8, startMs: 1_732_550_400_000 });
  expect(a).toEqual(b);
  expect(a.map((e) => e.body)).not.toEqual(c.map((e) => e.body));
});

it('places every duplicate after its original, with identical bytes', () => {
  const events = generateEvents({ count: 400, duplicateShare: 0.25, seed: 3 });
  expect(events).toHaveLength(400);
  expect(events.filter((e) => e.duplicate)).toHaveLength(100);
  const firstSeen = new Map<string, string>();
  for (const e of events) {
    if (!e.duplicate) {
      expect(firstSeen.has(e.eventId)).toBe(false); // originals have unique ids
      firstSeen.set(e.eventId, e.body);
    } else {
      expect(firstSeen.get(e.eventId)).toBe(e.body);
    }
  }
});

it('uses ULID-shaped, time-ordered ids and unix-seconds timestamps', () => {
  const start = Date.UTC(2026, 0, 1);
  const events = generateEvents({ count: 100, seed: 11, startMs: start }).map((e) => parse(e.body));
  const ids = events.map((e) => e.event_id);
  for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  expect([...ids].map((id) => id.slice(0, 10))).toEqual(ids.map((id) => id.slice(0, 10)).sort());
  for (const e of events) {
    expect(e.timestamp).toBeGreaterThanOrEqual(start / 1000);
    expect(e.timestamp).toBeLessThan(start / 1000 + 100);
  }
});

it('covers every object_type/metric pair and gives each metric its payload fields', () => {
  const events = generateEvents({ count: 2000, seed: 5 }).map((e) => parse(e.body));
  const pairs = new Set(events.map((e) => `${e.object_type}/${e.metric}`));
  for (const [type, metrics] of Object.entries(METRICS_BY_OBJECT_TYPE)) {
    for (const metric of metrics) expect(pairs).toContain(`${type}/${metric}`);
  }
  for (const e of events) {
    expect(e.data.identifiers).toEqual(expect.objectContaining({ cio_id: expect.stringMatching(/^c10/) }));
    if (e.object_type === 'customer') {
      expect(e.data.email_address).toEqual(expect.stringMatching(/@example\.com$/));
      continue;
    }
    expect(e.data.delivery_id).toEqual(expect.stringMatching(/^dlv-/));
    if (e.metric === 'clicked') expect(e.data.href).toEqual(expect.stringMatching(/^https:/));
    if (e.object_type === 'email') expect(typeof e.data.subject).toBe('string');
    if (e.object_type === 'push') expect(Array.isArray(e.data.recipients)).toBe(true);
    if (e.metric === 'bounced' && e.object_type !== 'push')
      expect(typeof e.data.failure_message).toBe('string');
    if (e.metric === 'replied') expect(typeof e.data.inbound_event_id).toBe('string');
  }
  // Realistic proportions: opens and deliveries dominate, complaints are rare.
  const count = (metric: string) => events.filter((e) => e.metric === metric).length;
  expect(count('opened')).toBeGreaterThan(count('bounced') * 5);
  expect(count('spammed')).toBeLessThan(count('delivered') / 10);
});

describe('what trips a receiver up', () => {
  const stream = generateEvents({ count: 6000, seed: 21 }).map((e) => parse(e.body));
  const email = (metric: string) => stream.filter((e) => e.object_type === 'email' && e.metric === metric);
  const ids = (e: Event) => e.data.identifiers as Record<string, unknown>;

  it('identifies people as multi-identifier workspaces do: cio_id always, id only for some', () => {
    expect(stream.every((e) => typeof ids(e).cio_id === 'string')).toBe(true);
    expect(stream.some((e) => ids(e).id === null)).toBe(true);
    expect(stream.some((e) => typeof ids(e).id === 'string')).toBe(true);
  });

  it('identifies people as ID-only workspaces do: the id and nothing else', () => {
    const idOnly = generateEvents({ count: 500, seed: 4, identifiers: 'id_only' }).map((e) => parse(e.body));
    for (const e of idOnly) expect(Object.keys(ids(e))).toEqual(['id']);
  });

  it('has soft and hard bounces, and bounces and complaints for an address that is not the person’s', () => {
    const messages = email('bounced').map((e) => String(e.data.failure_message));
    expect(messages.some((m) => m.startsWith('452 4.'))).toBe(true);
    expect(messages.some((m) => m.startsWith('550 5.'))).toBe(true);
    const mismatched = [...email('bounced'), ...email('spammed')].filter(
      (e) => e.data.recipient !== ids(e).email,
    );
    expect(mismatched.length).toBeGreaterThan(0);
  });

  it('has human, proxied and prefetched opens, and machine clicks', () => {
    const opens = email('opened');
    expect(opens.some((e) => e.data.proxied === false && e.data.prefetched === false)).toBe(true);
    expect(opens.some((e) => e.data.proxied === true && e.data.prefetched === false)).toBe(true);
    expect(opens.some((e) => e.data.prefetched === true)).toBe(true);
    expect(email('clicked').some((e) => e.data.machine === true)).toBe(true);
  });

  it('carries message content on request, and bodies of a requested size', () => {
    expect(email('sent').every((e) => e.data.content === undefined)).toBe(true);
    const withContent = generateEvents({ count: 400, seed: 9, withContent: true }).map((e) => parse(e.body));
    const sends = withContent.filter((e) => e.object_type === 'email' && e.metric === 'sent');
    expect(sends.length).toBeGreaterThan(0);
    for (const e of sends)
      expect(e.data).toMatchObject({ content: expect.any(String), headers: expect.any(Object) });
    const large = generateEvents({ count: 400, seed: 9, largeBodies: { count: 2, bytes: 10_500_000 } });
    const sizes = large.map((e) => Buffer.byteLength(e.body)).filter((n) => n > 1_000_000);
    expect(sizes).toEqual([10_500_000, 10_500_000]);
  });
});
