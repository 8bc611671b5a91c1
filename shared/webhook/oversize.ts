// A signed body too large for one Pub/Sub message is published smaller instead of refused: any reply but a 2xx holds
// back Customer.io's whole stream while it retries (for up to 7 days), and the event would be lost all the same.
// The smaller message is the event re-serialised without what made it large; its attributes say what was removed
// (`truncated`) and how large the signed body was (`original_bytes`).

import { isPlainObject, type Envelope, type ParsedJson } from './envelope';
import { MAX_MESSAGE_BYTES, messageBytes, type OutgoingMessage } from './publisher';

/**
 * What a shrunk message lacks, in the order tried:
 * - `data.content`, `data.headers`: the message body and headers that "Body Content" adds to sent events, the only
 *   parts of an event that grow without bound;
 * - `body`: everything but the event's identity, when removing those is not enough (or the body has neither, or is
 *   not an event): `{event_id, object_type, metric, timestamp}`, as far as the body has them, a few KB at most.
 */
export type Removed = 'data.content' | 'data.headers' | 'body';

const BULK = ['content', 'headers'] as const;

/** `message` if it fits in one Publish call; otherwise the event without its bulk, or only its identity. */
export function fitOneMessage(
  message: OutgoingMessage,
  json: ParsedJson,
  envelope: Envelope,
): OutgoingMessage {
  if (messageBytes(message) <= MAX_MESSAGE_BYTES) return message;
  const shrunk = (data: Buffer, removed: readonly Removed[]): OutgoingMessage => ({
    data,
    attributes: {
      ...message.attributes,
      truncated: removed.join(','),
      original_bytes: String(message.data.length),
    },
  });
  const withoutBulk = removeBulk(json);
  if (withoutBulk !== undefined) {
    const candidate = shrunk(withoutBulk.data, withoutBulk.removed);
    if (messageBytes(candidate) <= MAX_MESSAGE_BYTES) return candidate;
  }
  return shrunk(identityOf(json, envelope), ['body']);
}

function removeBulk(json: ParsedJson): { data: Buffer; removed: Removed[] } | undefined {
  if (!json.ok || !isPlainObject(json.value)) return undefined;
  const event = json.value;
  const data = Object.hasOwn(event, 'data') ? event.data : undefined;
  if (!isPlainObject(data)) return undefined;
  const present = BULK.filter((key) => Object.hasOwn(data, key));
  if (present.length === 0) return undefined;
  // fromEntries and spread define own properties, so a `__proto__` key stays a key.
  const kept = Object.fromEntries(Object.entries(data).filter(([key]) => !present.some((k) => k === key)));
  try {
    return {
      data: Buffer.from(JSON.stringify({ ...event, data: kept })),
      removed: present.map((key) => `data.${key}` as const),
    };
  } catch {
    // JSON.stringify recurses: a body nested deeper than the stack allows keeps only its identity.
    return undefined;
  }
}

function identityOf(json: ParsedJson, envelope: Envelope): Buffer {
  const identity: Record<string, unknown> = {};
  if (envelope.eventId !== undefined) identity.event_id = envelope.eventId;
  if (envelope.objectType !== undefined) identity.object_type = envelope.objectType;
  if (envelope.metric !== undefined) identity.metric = envelope.metric;
  const event = json.ok && isPlainObject(json.value) ? json.value : undefined;
  const timestamp = event !== undefined && Object.hasOwn(event, 'timestamp') ? event.timestamp : undefined;
  if (typeof timestamp === 'number' || (typeof timestamp === 'string' && timestamp.length <= 64)) {
    identity.timestamp = timestamp;
  }
  return Buffer.from(JSON.stringify(identity));
}
