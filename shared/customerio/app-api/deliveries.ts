// Deliveries as Customer.io records them (GET /v1/messages): one per message sent to one person, with `metrics`,
// the unix time of the first occurrence of each metric. Pages are read one at a time through the cursor, so memory
// holds one page whatever the window's size. Windows over the API's 6-month limit are split (Customer.io would
// silently answer only the last 6 months), and deliveries outside the requested window are dropped here, so
// adjacent windows never share one, whether Customer.io reads end_ts as inclusive or not.

import { AppApiError, type AppApiClient } from './client';

export interface DeliveryIdentifiers {
  id: string | null;
  email: string | null;
  cioId: string | null;
}

export interface Delivery {
  /** The webhooks' `delivery_id`. */
  id: string;
  /** Unix seconds: when Customer.io created the delivery (the list's window filters on this, not on sending). */
  created: number;
  /** `email`, `push`, `in_app`, `twilio` (SMS), `whatsapp`, `slack`, `webhook`, `live_notification`, … */
  type: string;
  campaignId: number | null;
  broadcastId: number | null;
  newsletterId: number | null;
  /** Not in Customer.io's documented shape; read when present. */
  transactionalMessageId: number | null;
  actionId: number | null;
  parentActionId: number | null;
  contentId: number | null;
  triggerEventId: string | null;
  customerId: string | null;
  identifiers: DeliveryIdentifiers;
  recipient: string | null;
  subject: string | null;
  failureMessage: string | null;
  /** Customer.io no longer keeps the message's contents; its metrics still count. */
  forgotten: boolean;
  /** Metric → unix seconds of its first occurrence (only metrics that happened). */
  metrics: Readonly<Record<string, number>>;
}

/** Creation times [start, end), unix seconds. */
export interface DeliveryWindow {
  start: number;
  end: number;
}

/** What one request may span: Customer.io caps a window at 6 months; 180 days is under any 6 calendar months. */
export const MAX_WINDOW_SECONDS = 180 * 86400;
export const MAX_PAGE_SIZE = 1000;

/** `window` cut into consecutive windows of at most `maxSeconds`, oldest first. */
export function splitWindow(
  window: DeliveryWindow,
  maxSeconds: number = MAX_WINDOW_SECONDS,
): DeliveryWindow[] {
  if (!(window.end > window.start)) throw new Error(`empty window: ${window.start} .. ${window.end}`);
  const out: DeliveryWindow[] = [];
  for (let start = window.start; start < window.end; start += maxSeconds) {
    out.push({ start, end: Math.min(window.end, start + maxSeconds) });
  }
  return out;
}

export interface DeliveryPage {
  window: DeliveryWindow;
  /** The cursor this page was requested with (undefined: the window's first page). */
  cursor: string | undefined;
  /** The cursor of the next page; undefined on the window's last page. */
  next: string | undefined;
  deliveries: Delivery[];
}

export interface PageOptions {
  /** Per page, at most 1000 (Customer.io's maximum, the default). */
  limit?: number;
  /** Resume a window from this cursor (a checkpoint's `next`). */
  cursor?: string;
  type?: string;
}

/** The pages of deliveries created in `window` (at most 6 months: see splitWindow). */
export async function* deliveryPages(
  client: AppApiClient,
  window: DeliveryWindow,
  options: PageOptions = {},
): AsyncGenerator<DeliveryPage> {
  if (window.end - window.start > MAX_WINDOW_SECONDS) {
    throw new Error(`window of ${(window.end - window.start) / 86400} days: split it (splitWindow) first`);
  }
  const limit = Math.min(options.limit ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const seen = new Set<string>();
  let cursor = options.cursor;
  for (let page = 1; ; page += 1) {
    const where = `GET /messages page ${page} of deliveries created ${iso(window.start)} .. ${iso(window.end)}`;
    const body = await client.get('/messages', {
      start: cursor,
      limit,
      type: options.type,
      start_ts: window.start,
      end_ts: window.end,
    });
    const { messages, next } = readPage(body, where);
    const deliveries = messages
      .map((m, i) => parseDelivery(m, `${where}, messages[${i}]`))
      .filter((d) => d.created >= window.start && d.created < window.end);
    yield { window, cursor, next, deliveries };
    if (next === undefined) return;
    // A cursor that comes back would page forever.
    if (seen.has(next)) throw malformed(`${where}: the next cursor repeats an earlier one`);
    seen.add(next);
    cursor = next;
  }
}

/** One delivery by id; undefined when Customer.io has none. */
export async function getDelivery(client: AppApiClient, id: string): Promise<Delivery | undefined> {
  const where = `GET /messages/${id}`;
  const body = await client.get(`/messages/${encodeURIComponent(id)}`, {}, true);
  if (body === undefined) return undefined;
  if (!isObject(body) || !('message' in body)) throw malformed(`${where}: no "message" object in the answer`);
  return parseDelivery(body.message, `${where}, message`);
}

function readPage(body: unknown, where: string): { messages: unknown[]; next: string | undefined } {
  if (!isObject(body)) throw malformed(`${where}: the answer is not a JSON object`);
  if (!Array.isArray(body.messages)) throw malformed(`${where}: "messages" is not an array`);
  const next = body.next;
  if (next !== undefined && next !== null && typeof next !== 'string') {
    throw malformed(`${where}: "next" is not a string`);
  }
  return { messages: body.messages, next: next === null || next === '' ? undefined : next };
}

/** A delivery from its JSON; throws AppApiError('malformed') naming the field when it is not one. */
export function parseDelivery(value: unknown, where: string): Delivery {
  if (!isObject(value)) throw malformed(`${where} is not an object`);
  const id = value.id;
  if (typeof id !== 'string' || id === '') throw malformed(`${where}.id is not a non-empty string`);
  const at = `${where} (delivery ${id})`;
  const created = value.created;
  if (typeof created !== 'number' || !Number.isFinite(created))
    throw malformed(`${at}.created is not a unix time`);
  const type = value.type;
  if (typeof type !== 'string' || type === '') throw malformed(`${at}.type is not a string`);
  const metrics: Record<string, number> = {};
  if (value.metrics !== undefined && value.metrics !== null) {
    if (!isObject(value.metrics)) throw malformed(`${at}.metrics is not an object`);
    for (const [metric, time] of Object.entries(value.metrics)) {
      if (time === null) continue;
      if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) {
        throw malformed(`${at}.metrics.${metric} is not a unix time`);
      }
      metrics[metric] = time;
    }
  }
  const ids = isObject(value.customer_identifiers) ? value.customer_identifiers : {};
  return {
    id,
    created,
    type,
    campaignId: integer(value.campaign_id),
    broadcastId: integer(value.broadcast_id),
    newsletterId: integer(value.newsletter_id),
    transactionalMessageId: integer(value.transactional_message_id),
    actionId: integer(value.action_id),
    parentActionId: integer(value.parent_action_id),
    contentId: integer(value.content_id),
    triggerEventId: textOrNull(value.trigger_event_id),
    customerId: textOrNull(value.customer_id),
    identifiers: { id: textOrNull(ids.id), email: textOrNull(ids.email), cioId: textOrNull(ids.cio_id) },
    recipient: textOrNull(value.recipient),
    subject: textOrNull(value.subject),
    failureMessage: textOrNull(value.failure_message),
    forgotten: value.forgotten === true,
    metrics,
  };
}

function malformed(message: string): AppApiError {
  return new AppApiError(
    'malformed',
    `${message}. Customer.io's answer is not the documented shape; nothing from this page was written, and a ` +
      're-run starts again at this page',
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function integer(v: unknown): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return null;
}

function textOrNull(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

const iso = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');
