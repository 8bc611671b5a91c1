// Maps an event to its warehouse row (EVENTS_TABLE) and a parked message to its reject row (REJECTS_TABLE), in the
// JSON form BigQuery's insertAll takes: TIMESTAMP as ISO-8601 strings, JSON columns as JSON text, BYTES as base64.

import { createHash } from 'node:crypto';
import { DEFAULT_WORKSPACE, identityHash, type EventIdentity } from '../workspace';
import {
  asText,
  dataText,
  identifiers,
  isPlainObject,
  personEmail,
  type CioEvent,
  type EventRejectReason,
} from '../customerio/event';

export interface EventRow {
  event_id: string;
  object_type: string | null;
  metric: string | null;
  event_timestamp: string | null;
  received_at: string;
  person_id: string | null;
  person_email: string | null;
  cio_id: string | null;
  customer_id: string | null;
  delivery_id: string | null;
  action_id: number | null;
  campaign_id: number | null;
  broadcast_id: number | null;
  newsletter_id: number | null;
  journey_id: string | null;
  transactional_message_id: number | null;
  recipient: string | null;
  subject: string | null;
  href: string | null;
  link_id: number | null;
  failure_message: string | null;
  /** The whole `data` object as JSON text. */
  data: string;
  actions: string[];
  object_type_type: string | null;
  /** The top-level fields but `data`, as JSON text. */
  body: string;
  truncated: string | null;
  workspace: string;
  /** NULL on webhook rows; `app_api` on rows written from Customer.io's App API (backfill, repair). */
  source: 'app_api' | null;
}

/**
 * Why a message was parked:
 * - `envelope_invalid`: the push request is not a Pub/Sub envelope with a message (wiring problem).
 * - `data_not_base64`: message.data is not base64.
 * - `parse_error`: cioWebhook flagged the signed body as not an event (`parse_error` attribute).
 * - `not_json` / `not_an_object` / `invalid_event`: the body is not JSON, not an object, or fails validation.
 * - `row_invalid`: BigQuery refused the event's row as invalid (the event completes, its bytes are kept here).
 */
export type RejectReason =
  'envelope_invalid' | 'data_not_base64' | EventRejectReason | 'parse_error' | 'row_invalid';

export interface RejectRow {
  reject_id: string;
  reason: RejectReason;
  detail: string | null;
  event_id: string | null;
  message_id: string | null;
  /** base64 of the exact bytes. */
  raw_body: string;
  /** JSON text of the Pub/Sub attributes. */
  attributes: string;
  received_at: string;
  rejected_at: string;
}

// INTEGER columns: ids arrive as numbers or numeric strings. Anything else (a float, a word, an id beyond 2^53)
// becomes null in its column; the value stays in `data`.
function integer(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim())) return Number(value.trim());
  return null;
}

const orNull = (s: string | undefined): string | null => s ?? null;

/** Unix seconds (possibly fractional) → ISO-8601 with millisecond precision. */
export function unixToIso(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}

/** `data.failure_message`; push carries it per device in `recipients[]` (distinct messages, joined). */
function failureMessage(event: CioEvent): string | undefined {
  const top = dataText(event, 'failure_message');
  if (top !== undefined || !Array.isArray(event.data.recipients)) return top;
  const perDevice = event.data.recipients
    .map((r) => (isPlainObject(r) ? asText(r.failure_message) : undefined))
    .filter((m): m is string => m !== undefined && m !== '');
  return perDevice.length === 0 ? undefined : [...new Set(perDevice)].join('; ');
}

/** What the message says about the body beside the event itself. */
export interface DeliveryFacts {
  /** The workspace the event came from (`default` for POST /). */
  workspace: string;
  /** When cioWebhook accepted the request (ISO-8601). */
  receivedAt: string;
  /** The message's `truncated` attribute: what cioWebhook removed from a body too large for Pub/Sub. */
  truncated?: string;
}

export function toEventRow(event: CioEvent, delivery: DeliveryFacts, actions: readonly string[]): EventRow {
  const ids = identifiers(event);
  const d = event.data;
  return {
    event_id: event.eventId,
    object_type: orNull(event.objectType),
    metric: orNull(event.metric),
    event_timestamp: event.timestamp === undefined ? null : unixToIso(event.timestamp),
    received_at: delivery.receivedAt,
    person_id: orNull(ids.id),
    person_email: orNull(personEmail(event)),
    cio_id: orNull(ids.cioId),
    customer_id: orNull(dataText(event, 'customer_id')),
    delivery_id: orNull(dataText(event, 'delivery_id')),
    action_id: integer(d.action_id),
    campaign_id: integer(d.campaign_id),
    broadcast_id: integer(d.broadcast_id),
    newsletter_id: integer(d.newsletter_id),
    journey_id: orNull(asText(d.journey_id)),
    transactional_message_id: integer(d.transactional_message_id),
    recipient: orNull(dataText(event, 'recipient')),
    subject: orNull(dataText(event, 'subject')),
    href: orNull(dataText(event, 'href')),
    link_id: integer(d.link_id),
    failure_message: orNull(failureMessage(event)),
    data: JSON.stringify(d),
    actions: [...actions],
    object_type_type: orNull(asText(event.topLevel.object_type_type)),
    body: JSON.stringify(event.topLevel),
    truncated: orNull(delivery.truncated),
    workspace: delivery.workspace,
    source: null,
  };
}

// BigQuery refuses an insertId longer than 128 characters (streaming-insert quotas), and cioWebhook accepts
// event_ids up to 1024 UTF-8 bytes: such a row would be refused and parked instead of stored.
const MAX_INSERT_ID_BYTES = 128;

/**
 * The events row's insertId: in the default workspace the event_id itself, or for an event_id over BigQuery's
 * 128-character limit `sha256:<hex of the event_id>`; in another workspace `sha256:<hex of "<label>\n<event_id>">`
 * (the event's identity, shared/workspace.ts). Equally stable across redeliveries; bytes are counted, so it fits
 * either way the limit is measured.
 */
export function eventInsertId(identity: EventIdentity): string {
  const { workspace, eventId } = identity;
  if (workspace === DEFAULT_WORKSPACE && Buffer.byteLength(eventId, 'utf8') <= MAX_INSERT_ID_BYTES)
    return eventId;
  return `sha256:${identityHash(identity)}`;
}

/** sha256 hex of the raw bytes: the reject row's id and insertId, so a redelivered reject lands once. */
export function rejectId(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex');
}

export interface RejectInput {
  raw: Buffer;
  reason: RejectReason;
  detail: string;
  eventId: string | undefined;
  messageId: string | undefined;
  attributes: Readonly<Record<string, string>>;
  receivedAt: string;
  rejectedAt: Date;
}

const MAX_DETAIL = 2000;

/**
 * @param keepBytes store only the first `keepBytes` of the body (a row BigQuery refused as too large); the detail
 *   says so and keeps the whole body's size and sha256 (still the reject_id, so redeliveries land once).
 */
export function toRejectRow(input: RejectInput, keepBytes = Infinity): RejectRow {
  const id = rejectId(input.raw);
  const truncated = input.raw.length > keepBytes;
  const note = truncated
    ? `raw_body truncated to its first ${keepBytes} of ${input.raw.length} bytes (sha256 of all: ${id}). `
    : '';
  const detail = note + input.detail;
  return {
    reject_id: id,
    reason: input.reason,
    detail: detail === '' ? null : detail.slice(0, MAX_DETAIL),
    event_id: orNull(input.eventId),
    message_id: orNull(input.messageId),
    raw_body: (truncated ? input.raw.subarray(0, keepBytes) : input.raw).toString('base64'),
    attributes: JSON.stringify(isPlainObject(input.attributes) ? input.attributes : {}),
    received_at: input.receivedAt,
    rejected_at: input.rejectedAt.toISOString(),
  };
}
