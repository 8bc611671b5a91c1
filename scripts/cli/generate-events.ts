// A stream of realistic Customer.io reporting events: every object_type/metric pair Customer.io documents, in
// roughly the proportions a real workspace produces (opens and deliveries dominate), with the payload fields each
// metric carries, plus a share of duplicates (the same bytes re-sent, as Customer.io's retries do). What trips a
// receiver up is in it too: identifiers as the workspace kind sends them (multi-identifier workspaces always send
// cio_id, and people may have no id; ID-only workspaces send only the id), soft and hard bounces, bounces and
// complaints for an address that is not the person's current one, prefetched and proxied opens, machine clicks,
// and on request message bodies (`with_content`) up to sizes near Pub/Sub's 10 MB message limit.
// Deterministic for a given seed and start time, so a chaos run can be replayed exactly.

export interface GeneratedEvent {
  eventId: string;
  objectType: string;
  metric: string;
  /** The exact bytes to POST. A duplicate carries the same bytes as its original. */
  body: string;
  duplicate: boolean;
}

export interface GenerateOptions {
  /** Requests in the stream, duplicates included. */
  count: number;
  /** Share of the requests (0..1) that re-send an earlier event. */
  duplicateShare?: number;
  seed?: number;
  /** Unix ms of the first event; events follow each other by a few hundred ms. */
  startMs?: number;
  /** Distinct people the events are about. */
  people?: number;
  /** How the workspace identifies people (default `multi`). */
  identifiers?: WorkspaceIdentifiers;
  /** Email `sent` events carry the message (data.content, data.headers), as with the webhook's "Body content". */
  withContent?: boolean;
  /** Email `sent` events whose content makes the body about this many bytes (e.g. near Pub/Sub's 10 MB). */
  largeBodies?: { count: number; bytes: number };
}

/**
 * - `multi`: multi-identifier workspaces always send `cio_id`, and `id` only for people who have one;
 * - `id_only`: ID-only workspaces send only `id`.
 */
export type WorkspaceIdentifiers = 'multi' | 'id_only';

const SUBSCRIPTION = ['subscribed', 'unsubscribed', 'cio_subscription_preferences_changed'];

/**
 * The object type and metric pairs Customer.io documents (docs/customerio.md, "Object types and metrics"; a test holds
 * the two equal): subscription metrics exist on every channel and on customer.
 */
export const METRICS_BY_OBJECT_TYPE: Readonly<Record<string, readonly string[]>> = {
  customer: SUBSCRIPTION,
  email: [
    ...SUBSCRIPTION,
    ...['drafted', 'attempted', 'sent', 'failed', 'delivered', 'opened', 'clicked', 'converted'],
    ...['bounced', 'dropped', 'spammed', 'undeliverable', 'deferred'],
  ],
  push: [
    ...SUBSCRIPTION,
    ...['drafted', 'attempted', 'sent', 'failed', 'delivered', 'opened', 'clicked', 'converted'],
    ...['bounced', 'dropped', 'undeliverable'],
  ],
  in_app: [
    ...SUBSCRIPTION,
    'drafted',
    'attempted',
    'sent',
    'failed',
    'opened',
    'clicked',
    'converted',
    'undeliverable',
  ],
  sms: [
    ...SUBSCRIPTION,
    ...['drafted', 'attempted', 'sent', 'failed', 'delivered', 'clicked', 'converted'],
    ...['bounced', 'dropped', 'undeliverable', 'replied'],
  ],
  whatsapp: [
    ...SUBSCRIPTION,
    ...['drafted', 'attempted', 'sent', 'failed', 'delivered', 'opened', 'clicked', 'converted'],
    ...['bounced', 'dropped', 'undeliverable', 'replied'],
  ],
  slack: [...SUBSCRIPTION, 'drafted', 'attempted', 'sent', 'failed', 'clicked', 'converted', 'undeliverable'],
  webhook: [
    ...SUBSCRIPTION,
    'drafted',
    'attempted',
    'sent',
    'failed',
    'clicked',
    'converted',
    'undeliverable',
  ],
};

const TYPE_WEIGHT: Record<string, number> = {
  email: 10,
  push: 3,
  in_app: 2,
  sms: 2,
  whatsapp: 1,
  customer: 1,
  webhook: 0.5,
  slack: 0.3,
};
const METRIC_WEIGHT: Record<string, number> = {
  opened: 25,
  delivered: 20,
  sent: 20,
  clicked: 6,
  attempted: 3,
  converted: 1,
  drafted: 1,
  failed: 1,
  bounced: 1,
  subscribed: 1,
  unsubscribed: 0.5,
  dropped: 0.5,
  undeliverable: 0.5,
  deferred: 0.5,
  replied: 0.5,
  cio_subscription_preferences_changed: 0.3,
  spammed: 0.1,
};

const FAILURES: Record<string, readonly string[]> = {
  bounced: [
    // hard (a 5xx reply or 5.x.x status, or no code at all)
    '550 5.1.1 The email account that you tried to reach does not exist',
    '552 5.2.2 Mailbox full',
    '554 5.7.1 Message rejected due to local policy',
    'The recipient domain does not exist',
    // soft (4xx / 4.x.x only): the address may work tomorrow
    '452 4.2.2 The email account that you tried to reach is over quota',
    '421 4.7.0 Try again later, closing connection',
    '450 4.2.1 The user you are trying to contact is receiving mail too quickly',
  ],
  dropped: ['Address previously bounced', 'Recipient is suppressed'],
  attempted: ['421 4.7.0 Try again later', 'Connection timed out'],
  failed: ["Liquid error: undefined variable 'customer.first_name'", 'HTTP 502 Bad Gateway'],
  undeliverable: ['No valid recipient address', 'Device token not registered'],
};

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** mulberry32: small, fast, good enough for test data, and reproducible from a 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Picker {
  constructor(readonly random: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
  one<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  chars(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.random() * alphabet.length)];
    return out;
  }
  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    const total = items.reduce((sum, item) => sum + weight(item), 0);
    let r = this.random() * total;
    for (const item of items) {
      r -= weight(item);
      if (r < 0) return item;
    }
    return items[items.length - 1];
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** ULID shape (time-ordered, 26 Crockford characters), like Customer.io's event ids. */
function ulid(pick: Picker, ms: number): string {
  let time = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + pick.chars(CROCKFORD, 16);
}

type Data = Record<string, unknown>;

interface Person {
  id: string | null;
  email: string;
  cioId: string;
}

function person(pick: Picker, people: number): Person {
  const n = pick.int(1, people);
  return {
    // In a multi-identifier workspace about one person in five was created from an email alone: no id.
    id: n % 5 === 0 ? null : `u-${n}`,
    email: `person-${n}@example.com`,
    cioId: `c10${n.toString(16).padStart(9, '0')}`,
  };
}

function identifiersOf(who: Person, kind: WorkspaceIdentifiers): Data {
  if (kind === 'id_only') return { id: who.id ?? `u-${who.cioId}` };
  return { id: who.id, email: who.email, cio_id: who.cioId };
}

function origin(pick: Picker): Data {
  const kind = pick.weighted(['campaign', 'broadcast', 'newsletter', 'transactional'] as const, (k) =>
    k === 'campaign' ? 6 : k === 'transactional' ? 2 : 1,
  );
  switch (kind) {
    case 'campaign':
      return {
        action_id: pick.int(1, 400),
        campaign_id: pick.int(1, 60),
        // Documented as a string, sometimes sent as a number.
        journey_id: pick.chance(0.8) ? ulid(pick, 1730000000000) : pick.int(1, 5000),
      };
    case 'broadcast':
      return { action_id: pick.int(1, 400), broadcast_id: pick.int(1, 20), trigger_id: pick.int(1, 50) };
    case 'newsletter':
      return { newsletter_id: pick.int(100, 700), content_id: pick.int(1000, 3000) };
    case 'transactional':
      return { transactional_message_id: pick.int(1, 12) };
  }
}

function recipient(pick: Picker, objectType: string, metric: string, who: Person): Data {
  switch (objectType) {
    case 'email':
      // A transactional `to`, or an address the person has changed since: the failure is not their current address's.
      if ((metric === 'bounced' || metric === 'spammed') && pick.chance(0.15)) {
        return { recipient: `billing-${pick.int(1, 999)}@example.net` };
      }
      return { recipient: who.email };
    case 'sms':
    case 'whatsapp':
      return { recipient: `+1555${pick.chars('0123456789', 7)}` };
    case 'slack':
      return { recipient: pick.one(['#growth', '#alerts', '#support']) };
    case 'webhook':
      return { recipient: 'https://hooks.example.com/cio' };
    case 'push':
      return {
        recipients: Array.from({ length: pick.int(1, 2) }, () => ({
          device_id: `${pick.one(['fcm', 'apns'])}-token-${pick.chars(BASE62, 10)}`,
          device_platform: pick.one(['android', 'ios']),
        })),
      };
    default:
      return { recipient: who.id ?? who.cioId };
  }
}

/** An email body of about `bytes` (HTML-ish text), as `with_content` sends it. */
function content(pick: Picker, bytes: number): string {
  const paragraph = `<p>${pick.chars(BASE62, 60)} ${pick.one(['Save 20% today', 'Your summary', 'Read more'])}</p>\n`;
  return `<html><body>\n${paragraph.repeat(Math.max(1, Math.ceil(bytes / paragraph.length)))}</body></html>`;
}

interface DataOptions {
  people: number;
  identifiers: WorkspaceIdentifiers;
  withContent: boolean;
}

function eventData(pick: Picker, objectType: string, metric: string, o: DataOptions): Data {
  const who = person(pick, o.people);
  const identifiers = identifiersOf(who, o.identifiers);
  if (objectType === 'customer') {
    const data: Data = { customer_id: who.id, email_address: who.email, identifiers };
    if (metric === 'cio_subscription_preferences_changed') {
      data.content = JSON.stringify({ topics: { [`topic_${pick.int(1, 6)}`]: pick.chance(0.5) } });
    }
    return data;
  }
  const data: Data = {
    ...origin(pick),
    customer_id: who.id,
    delivery_id: `dlv-${pick.chars(BASE62, 12)}`,
    identifiers,
    ...recipient(pick, objectType, metric, who),
  };
  if (objectType === 'email')
    data.subject = pick.one(['Your weekly summary', 'Flash sale', 'Welcome aboard']);
  const failures = FAILURES[metric];
  if (failures !== undefined) {
    if (objectType === 'push' && Array.isArray(data.recipients)) {
      data.recipients = (data.recipients as Data[]).map((r) => ({
        ...r,
        failure_message: pick.one(failures),
      }));
    } else {
      data.failure_message = pick.one(failures);
    }
  }
  if (metric === 'opened' && objectType === 'email') {
    // Prefetched: Apple Mail Privacy Protection or an image prefetch, nobody read it. Proxied: a person, behind a
    // proxy (Gmail's image proxy). About half of all opens are one or the other.
    const kind = pick.weighted(['human', 'proxied', 'prefetched'] as const, (k) =>
      k === 'human' ? 5 : k === 'proxied' ? 2 : 3,
    );
    Object.assign(data, { proxied: kind !== 'human', prefetched: kind === 'prefetched', synthetic: false });
  }
  if (o.withContent && metric === 'sent' && objectType === 'email') {
    data.content = content(pick, pick.int(2_000, 40_000));
    data.headers = { 'X-Mailer': ['Customer.io'], 'List-Unsubscribe': ['<https://example.com/unsub>'] };
  }
  if (metric === 'clicked') {
    Object.assign(data, { href: `https://example.com/offer?c=${pick.int(1, 99)}`, link_id: pick.int(1, 9) });
    // Link scanners (security gateways) click every link of some messages.
    if (objectType === 'email') data.machine = pick.chance(0.08);
    if (objectType === 'in_app') data.tracked_response = pick.one(['upgrade-now', 'dismiss']);
  }
  if (metric === 'replied') {
    Object.assign(data, { inbound_event_id: `in-${pick.int(1000, 9999)}`, to: '+15550000001' });
  }
  return data;
}

const ALL_PAIRS: ReadonlyArray<readonly [string, string]> = Object.entries(METRICS_BY_OBJECT_TYPE).flatMap(
  ([type, metrics]) => metrics.map((metric) => [type, metric] as const),
);

export function generateEvents(options: GenerateOptions): GeneratedEvent[] {
  const count = Math.max(0, Math.floor(options.count));
  const share = Math.min(Math.max(options.duplicateShare ?? 0, 0), 1);
  const pick = new Picker(prng(options.seed ?? Date.now()));
  const people = options.people ?? 200;
  const duplicates = count === 0 ? 0 : Math.min(Math.round(count * share), count - 1);
  const uniques = count - duplicates;
  // Every pair once first (when the stream is long enough), then in realistic proportions.
  const pairs = pick.shuffle([...ALL_PAIRS]).slice(0, uniques);
  while (pairs.length < uniques) {
    pairs.push(pick.weighted(ALL_PAIRS, ([t, m]) => (TYPE_WEIGHT[t] ?? 1) * (METRIC_WEIGHT[m] ?? 1)));
  }
  const dataOptions: DataOptions = {
    people,
    identifiers: options.identifiers ?? 'multi',
    withContent: options.withContent ?? false,
  };
  // Large bodies replace the first email sends (at random places: the pairs are shuffled).
  let large = options.largeBodies?.count ?? 0;
  let ms = options.startMs ?? Date.now();
  const originals: GeneratedEvent[] = pairs.map(([objectType, metric]) => {
    ms += pick.int(1, 400);
    const eventId = ulid(pick, ms);
    const event = {
      event_id: eventId,
      object_type: objectType,
      metric,
      timestamp: Math.floor(ms / 1000),
      data: eventData(pick, objectType, metric, dataOptions),
    };
    if (large > 0 && objectType === 'email' && metric === 'sent') {
      large -= 1;
      const rest = Buffer.byteLength(JSON.stringify({ ...event, data: { ...event.data, content: '' } }));
      event.data.content = 'x'.repeat(Math.max(0, (options.largeBodies?.bytes ?? 0) - rest));
    }
    return { eventId, objectType, metric, body: JSON.stringify(event), duplicate: false };
  });
  if (large > 0)
    throw new Error(`the stream has too few email sends for ${options.largeBodies?.count} large bodies`);
  // Each duplicate goes somewhere after its original: sometimes right behind it (a concurrent retry), sometimes later.
  const keyed = originals.map((event, index) => ({ key: index, event }));
  for (let i = 0; i < duplicates; i++) {
    const index = pick.int(0, originals.length - 1);
    const key = index + 0.5 + pick.random() * (originals.length - index);
    keyed.push({ key, event: { ...originals[index], duplicate: true } });
  }
  return keyed.sort((a, b) => a.key - b.key).map((k) => k.event);
}
