// What the local App API stand-in knows: Customer.io's own record of deliveries, built from the reporting events
// that `cio-webhooks send` generates (Customer.io records a delivery's metrics whether or not its webhook reached
// us). Each delivery keeps the first occurrence of every metric, as the App API does; repeats change nothing.
// Kept as an append-only file of the events' facts (not their bodies) so the record survives a restart.

import fs from 'node:fs';
import { FIRST_OCCURRENCE_METRICS, typeOfChannel } from '../../../shared/customerio/app-api/naming';

/** A delivery as GET /v1/messages returns it (snake_case, the API's own shape). */
export interface ApiDelivery {
  id: string;
  deduplicate_id: string;
  created: number;
  type: string;
  campaign_id: number | null;
  broadcast_id: number | null;
  newsletter_id: number | null;
  transactional_message_id: number | null;
  action_id: number | null;
  parent_action_id: number | null;
  content_id: number | null;
  trigger_event_id: string | null;
  customer_id: string | null;
  customer_identifiers: { id: string | null; email: string | null; cio_id: string | null };
  recipient: string | null;
  subject: string | null;
  failure_message: string | null;
  forgotten: boolean;
  metrics: Record<string, number>;
}

/** The facts of one reporting event the record needs (one line of the record file). */
export interface RecordedEvent {
  delivery_id: string;
  object_type: string;
  metric: string;
  timestamp: number;
  prefetched?: boolean;
  machine?: boolean;
  campaign_id?: number;
  broadcast_id?: number;
  newsletter_id?: number;
  transactional_message_id?: number;
  action_id?: number;
  customer_id?: string;
  id?: string;
  email?: string;
  cio_id?: string;
  recipient?: string;
  subject?: string;
  failure_message?: string;
}

const RECORDED = new Set<string>(FIRST_OCCURRENCE_METRICS);

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v)
    ? v
    : typeof v === 'string' && /^\d{1,15}$/.test(v)
      ? Number(v)
      : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The facts of a reporting event body, or undefined when it is not about a delivery. */
export function recordedEvent(body: unknown): RecordedEvent | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const e = body as Record<string, unknown>;
  const data = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Record<string, unknown>;
  const ids = (
    typeof data.identifiers === 'object' && data.identifiers !== null ? data.identifiers : {}
  ) as Record<string, unknown>;
  const deliveryId = str(data.delivery_id);
  const objectType = str(e.object_type);
  const metric = str(e.metric);
  const timestamp = num(e.timestamp);
  if (deliveryId === undefined || objectType === undefined || objectType === 'customer') return undefined;
  if (metric === undefined || timestamp === undefined) return undefined;
  const out: RecordedEvent = { delivery_id: deliveryId, object_type: objectType, metric, timestamp };
  if (data.prefetched === true) out.prefetched = true;
  if (data.machine === true) out.machine = true;
  for (const key of [
    'campaign_id',
    'broadcast_id',
    'newsletter_id',
    'transactional_message_id',
    'action_id',
  ] as const) {
    const v = num(data[key]);
    if (v !== undefined) out[key] = v;
  }
  const text = {
    customer_id: str(data.customer_id),
    id: str(ids.id),
    email: str(ids.email),
    cio_id: str(ids.cio_id),
    recipient: str(data.recipient),
    subject: str(data.subject),
    failure_message: str(data.failure_message),
  };
  for (const [key, v] of Object.entries(text)) if (v !== undefined) out[key as keyof typeof text] = v;
  return out;
}

export class DeliveryRecord {
  private readonly byId = new Map<string, ApiDelivery>();
  /** Newest first (created desc, id asc): the list order; rebuilt lazily after changes. */
  private sorted: ApiDelivery[] | undefined;

  /** @param file append-only record file; omitted = in memory only. */
  constructor(private readonly file?: string) {
    if (file !== undefined && fs.existsSync(file)) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          this.apply(JSON.parse(line) as RecordedEvent);
        } catch {
          // a line cut short by a crash: the events before it still count
        }
      }
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** Records reporting event bodies; returns how many were about a delivery. */
  recordBodies(bodies: readonly unknown[]): number {
    const events = bodies.map(recordedEvent).filter((e): e is RecordedEvent => e !== undefined);
    if (this.file !== undefined && events.length > 0) {
      fs.appendFileSync(this.file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
    for (const e of events) this.apply(e);
    return events.length;
  }

  /** Adds whole deliveries (benchmarks and tests), replacing any with the same id. */
  add(deliveries: Iterable<ApiDelivery>): void {
    for (const d of deliveries) this.byId.set(d.id, d);
    this.sorted = undefined;
  }

  get(id: string): ApiDelivery | undefined {
    return this.byId.get(id);
  }

  /** Every delivery, newest first. */
  list(): readonly ApiDelivery[] {
    this.sorted ??= [...this.byId.values()].sort(
      (a, b) => b.created - a.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    return this.sorted;
  }

  private apply(e: RecordedEvent): void {
    let d = this.byId.get(e.delivery_id);
    if (d === undefined) {
      d = {
        id: e.delivery_id,
        deduplicate_id: `${e.delivery_id}:${e.timestamp}`,
        created: e.timestamp,
        type: typeOfChannel(e.object_type),
        campaign_id: e.campaign_id ?? null,
        broadcast_id: e.broadcast_id ?? null,
        newsletter_id: e.newsletter_id ?? null,
        transactional_message_id: e.transactional_message_id ?? null,
        action_id: e.action_id ?? null,
        parent_action_id: null,
        content_id: null,
        trigger_event_id: null,
        customer_id: e.customer_id ?? null,
        customer_identifiers: { id: e.id ?? null, email: e.email ?? null, cio_id: e.cio_id ?? null },
        recipient: e.recipient ?? null,
        subject: e.subject ?? null,
        failure_message: null,
        forgotten: false,
        metrics: {},
      };
      this.byId.set(d.id, d);
    }
    // Created when its first event happened (the generator sends no `created`): the earliest event seen.
    d.created = Math.min(d.created, e.timestamp);
    const first = (metric: string): void => {
      d.metrics[metric] = Math.min(d.metrics[metric] ?? Infinity, e.timestamp);
    };
    first('created');
    d.metrics.created = d.created;
    if (RECORDED.has(e.metric)) first(e.metric);
    if (e.metric === 'opened') first(e.prefetched === true ? 'prefetch_opened' : 'human_opened');
    if (e.metric === 'clicked') first(e.machine === true ? 'prefetch_clicked' : 'human_clicked');
    if (e.failure_message !== undefined && d.failure_message === null) d.failure_message = e.failure_message;
    this.sorted = undefined;
  }
}
