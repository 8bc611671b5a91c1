// Reads just enough of a signed webhook body to label its Pub/Sub message. The message data is always the raw
// bytes; the labels are hints for routing and filtering. A body that is not a Customer.io event is still published,
// labelled `parse_error`, because refusing a signed body would stall Customer.io's whole stream.

/**
 * - `invalid_json`: the bytes are not JSON (including an empty body)
 * - `not_an_object`: JSON, but not an object (`"x"`, `[1]`, `null`)
 * - `missing_event_id`: an object without a non-empty string `event_id`
 * - `invalid_event_id`: `event_id` cannot be a Pub/Sub attribute value: over 1024 UTF-8 bytes, or holding lone
 *   surrogates (not encodable as UTF-8). Cutting it would make distinct events look like duplicates downstream.
 */
export type ParseError = 'invalid_json' | 'not_an_object' | 'missing_event_id' | 'invalid_event_id';

export interface Envelope {
  eventId?: string;
  objectType?: string;
  metric?: string;
  parseError?: ParseError;
}

/** Pub/Sub rejects the whole publish request when an attribute value exceeds this (and with batching, that would
 * fail other requests' messages too). */
export const MAX_ATTRIBUTE_BYTES = 1024;

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Own properties only: a body key like `__proto__` or `constructor` is data, never something inherited.
function ownString(object: JsonObject, key: string): string | undefined {
  if (!Object.hasOwn(object, key)) return undefined;
  const value = object[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// Encoding to UTF-8 turns lone surrogates (valid in a JS string, not in UTF-8) into U+FFFD.
function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** True when `text` is surely at most `maxBytes` of UTF-8 and encodes as itself, without encoding it: without
 * surrogates, every UTF-16 unit is at most 3 bytes. Real labels and event ids are short ASCII. */
function surelyFits(text: string, maxBytes: number): boolean {
  return text.length * 3 <= maxBytes && !SURROGATE.test(text);
}

/** Longest prefix of whole characters that fits in `maxBytes` of UTF-8. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (surelyFits(text, maxBytes)) return text;
  const bytes = utf8(text);
  let end = Math.min(bytes.length, maxBytes);
  // Step back over continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (end < bytes.length && end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** What JSON.parse makes of a body, read once and shared by the labels and, for an oversized body, its shrinking. */
export type ParsedJson = { ok: true; value: unknown } | { ok: false };

export function parseJson(raw: Buffer): ParsedJson {
  // A UTF-8 byte order mark is not JSON, but the processor's decoder drops it (TextDecoder does): so do the labels.
  const start = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  try {
    // Invalid UTF-8 decodes to U+FFFD rather than throwing; V8's JSON.parse is not recursive, so deep nesting is fine.
    return { ok: true, value: JSON.parse(raw.toString('utf8', start)) as unknown };
  } catch {
    return { ok: false };
  }
}

/** The labels of a body; `json` is `parseJson(raw)`, passed when the caller needs the parsed body too. */
export function readEnvelope(raw: Buffer, json: ParsedJson = parseJson(raw)): Envelope {
  if (!json.ok) return { parseError: 'invalid_json' };
  const body = json.value;
  if (!isPlainObject(body)) return { parseError: 'not_an_object' };

  // object_type and metric are only labels: an oversized one (no real event has one) is cut, not refused.
  const envelope: Envelope = {};
  const objectType = ownString(body, 'object_type');
  if (objectType !== undefined) envelope.objectType = truncateUtf8(objectType, MAX_ATTRIBUTE_BYTES);
  const metric = ownString(body, 'metric');
  if (metric !== undefined) envelope.metric = truncateUtf8(metric, MAX_ATTRIBUTE_BYTES);
  const eventId = ownString(body, 'event_id');
  if (eventId === undefined) envelope.parseError = 'missing_event_id';
  else if (validEventId(eventId)) envelope.eventId = eventId;
  else envelope.parseError = 'invalid_event_id';
  return envelope;
}

function validEventId(eventId: string): boolean {
  if (surelyFits(eventId, MAX_ATTRIBUTE_BYTES)) return true;
  const encoded = utf8(eventId);
  return encoded.length <= MAX_ATTRIBUTE_BYTES && encoded.toString('utf8') === eventId;
}

/** The attributes of the Pub/Sub message (README "The webhook (`cioWebhook`)"). */
export function messageAttributes(
  envelope: Envelope,
  cioTimestamp: string,
  receivedAt: Date,
  workspace: string,
): Record<string, string> {
  const attributes: Record<string, string> = { workspace };
  if (envelope.eventId !== undefined) attributes.event_id = envelope.eventId;
  if (envelope.objectType !== undefined) attributes.object_type = envelope.objectType;
  if (envelope.metric !== undefined) attributes.metric = envelope.metric;
  attributes.cio_timestamp = cioTimestamp;
  attributes.received_at = receivedAt.toISOString();
  if (envelope.parseError !== undefined) attributes.parse_error = envelope.parseError;
  return attributes;
}
