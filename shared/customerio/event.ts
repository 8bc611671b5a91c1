// The Customer.io reporting-webhook event, validated once here. Customer.io's own examples break their documented
// required lists, so every field is optional except `event_id` (the dedupe key: without it an event cannot be
// processed exactly once, so it is parked). Unknown object_types and metrics are accepted as they are: new ones
// appear over time. Top-level fields must have the documented JSON types; inside `data` nothing is enforced, the
// accessors below read what they understand and the whole object is kept for the warehouse.

export interface CioEvent {
  eventId: string;
  objectType: string | undefined;
  metric: string | undefined;
  /** Unix seconds when the event happened (body `timestamp`; milliseconds are converted), not when it was sent. */
  timestamp: number | undefined;
  data: Readonly<Record<string, unknown>>;
  /** Every top-level field of the body as received, except `data`: nothing Customer.io adds is dropped. */
  topLevel: Readonly<Record<string, unknown>>;
}

/**
 * Events whose event_id starts with this are synthetic: made by `cio-webhooks smoke` to prove a deployment end to
 * end. They take the whole path (webhook, queue, ledger, warehouse row) but no Track API action, and the analytics
 * views (events_unique, hence every view and the report) leave them out. Customer.io's own ids never take this form.
 */
export const SYNTHETIC_EVENT_ID_PREFIX = 'cio-webhooks-synthetic-';

export function isSyntheticEvent(event: Pick<CioEvent, 'eventId'>): boolean {
  return event.eventId.startsWith(SYNTHETIC_EVENT_ID_PREFIX);
}

export type EventRejectReason = 'not_json' | 'not_an_object' | 'invalid_event';

export type ParsedEvent =
  { ok: true; event: CioEvent } | { ok: false; reason: EventRejectReason; detail: string; eventId?: string };

const MAX_EVENT_ID_LENGTH = 1024;
// BigQuery TIMESTAMP range: 0001-01-01 .. 9999-12-31 (seconds).
const MIN_TIMESTAMP = -62135596800;
const MAX_TIMESTAMP = 253402300799;
// BigQuery's JSON type nests at most 500 levels, and JSON.stringify (the row's `data`) overflows the stack a few
// thousand levels down: deeper `data` could never be stored, so it is rejected (parked) instead of retried forever.
const MAX_DATA_DEPTH = 500;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const isInRange = (seconds: number): boolean => seconds >= MIN_TIMESTAMP && seconds <= MAX_TIMESTAMP;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(detail: string, eventId?: string): ParsedEvent {
  return { ok: false, reason: 'invalid_event', detail, eventId };
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined | null {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : null;
}

/** Whether objects/arrays nest more than `limit` levels (`value` itself is level 1). Iterative: no stack to overflow. */
function nestedDeeperThan(value: object, limit: number): boolean {
  const pending: Array<[object, number]> = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (depth > limit) return true;
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}

/** Parses the exact bytes Customer.io signed. */
export function parseEvent(raw: Buffer): ParsedEvent {
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(raw));
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: (err as Error).message.slice(0, 300) };
  }
  if (!isPlainObject(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    return { ok: false, reason: 'not_an_object', detail: `the body is ${kind}, not an event object` };
  }

  const rawId = body.event_id;
  if (typeof rawId !== 'string' || rawId.trim() === '') return invalid('event_id is missing or not a string');
  if (rawId.length > MAX_EVENT_ID_LENGTH) return invalid(`event_id is longer than ${MAX_EVENT_ID_LENGTH}`);
  // A lone surrogate has no UTF-8 form: hashed for the ledger key it becomes U+FFFD, so distinct ids would share
  // one ledger document and all but the first would be taken for duplicates. cioWebhook flags such ids too.
  if (Buffer.from(rawId, 'utf8').toString('utf8') !== rawId) {
    return invalid('event_id holds a lone UTF-16 surrogate (not encodable as UTF-8)');
  }
  const eventId = rawId;

  const objectType = optionalString(body, 'object_type');
  if (objectType === null) return invalid('object_type is not a string', eventId);
  const metric = optionalString(body, 'metric');
  if (metric === null) return invalid('metric is not a string', eventId);

  let timestamp: number | undefined;
  const ts = body.timestamp;
  if (ts !== undefined && ts !== null) {
    timestamp = typeof ts === 'string' && /^-?\d+(\.\d+)?$/.test(ts) ? Number(ts) : (ts as number);
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
      return invalid('timestamp is not a number of unix seconds', eventId);
    }
    // Unix milliseconds (a sender mixing units) are unambiguous: as seconds they would lie past year 9999, as
    // milliseconds they fall in 1978..9999. Read them as such rather than park a genuine event.
    if (Math.abs(timestamp) > MAX_TIMESTAMP && isInRange(timestamp / 1000)) timestamp /= 1000;
    if (!isInRange(timestamp)) {
      return invalid(`timestamp ${timestamp} is outside the representable range`, eventId);
    }
  }

  const data = body.data ?? {};
  if (!isPlainObject(data)) return invalid('data is not an object', eventId);
  if (nestedDeeperThan(data, MAX_DATA_DEPTH)) {
    return invalid(`data is nested deeper than ${MAX_DATA_DEPTH} levels`, eventId);
  }

  const { data: _data, ...topLevel } = body;
  return { ok: true, event: { eventId, objectType, metric, timestamp, data, topLevel } };
}

/** A scalar as text (ids arrive as strings or numbers); anything else is absent. */
export function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

export function dataText(event: CioEvent, key: string): string | undefined {
  return asText(event.data[key]);
}

export interface Identifiers {
  id: string | undefined;
  email: string | undefined;
  cioId: string | undefined;
}

export function identifiers(event: CioEvent): Identifiers {
  const ids = event.data.identifiers;
  if (!isPlainObject(ids)) return { id: undefined, email: undefined, cioId: undefined };
  return { id: asText(ids.id), email: asText(ids.email), cioId: asText(ids.cio_id) };
}

/** identifiers.email, else email_address (customer events). */
export function personEmail(event: CioEvent): string | undefined {
  return identifiers(event).email ?? dataText(event, 'email_address');
}
