// Decodes the Pub/Sub push envelope cioProcessor receives (Eventarc's Pub/Sub delivery carries the same JSON):
// {message: {data: base64, attributes, messageId, publishTime}, subscription, deliveryAttempt?}.
// A body that is not such an envelope, or whose data is not base64, cannot be processed; it is returned as a
// rejection with the bytes to park, never thrown.

import { isPlainObject } from '../customerio/event';
import type { RejectReason } from '../warehouse/row';

export interface PushMessage {
  /** The decoded message data: for cioWebhook's messages, the exact bytes Customer.io signed. */
  data: Buffer;
  attributes: Readonly<Record<string, string>>;
  messageId: string | undefined;
  publishTime: string | undefined;
  deliveryAttempt: number | undefined;
}

export type EnvelopeRejectReason = Extract<RejectReason, 'envelope_invalid' | 'data_not_base64'>;

export type DecodedEnvelope =
  | { ok: true; message: PushMessage }
  | {
      ok: false;
      reason: EnvelopeRejectReason;
      detail: string;
      /** The bytes to park: the data string when only it was bad, else the whole request body. */
      raw: Buffer;
      attributes: Readonly<Record<string, string>>;
      messageId: string | undefined;
      publishTime: string | undefined;
    };

// Standard, padded base64: what Pub/Sub produces. Buffer.from(..., 'base64') silently skips junk, so check first.
// A plain character class plus a length check: a quantified group (`(?:[...]{4})*`) overflows V8's regexp
// backtracking stack on a few MB of data (a 5 MB event), which threw on every delivery until dead-letter.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (data: string): boolean => data.length % 4 === 0 && BASE64_CHARS.test(data);

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * @param body the body as already parsed, if the caller has it (functions/processor.ts has none: the framework's
 *   body parsers are off, functions/raw-bodies.ts)
 * @param rawBody the exact request bytes
 */
export function decodePushEnvelope(body: unknown, rawBody: Buffer | undefined): DecodedEnvelope {
  const raw = rawBody ?? Buffer.from(typeof body === 'string' ? body : '');
  let envelope: unknown = body;
  if (!isPlainObject(envelope)) {
    try {
      envelope = JSON.parse(raw.toString('utf8'));
    } catch {
      envelope = undefined;
    }
  }
  const reject = (
    reason: EnvelopeRejectReason,
    detail: string,
    bytes: Buffer,
    message?: Record<string, unknown>,
  ): DecodedEnvelope => ({
    ok: false,
    reason,
    detail,
    raw: bytes,
    attributes: message ? stringAttributes(message.attributes) : {},
    messageId: message ? messageIdOf(message) : undefined,
    publishTime: message ? publishTimeOf(message) : undefined,
  });

  if (!isPlainObject(envelope))
    return reject('envelope_invalid', 'the request body is not a JSON object', raw);
  const message = envelope.message;
  if (!isPlainObject(message)) return reject('envelope_invalid', 'the envelope has no message object', raw);
  if (message.attributes !== undefined && message.attributes !== null && !isPlainObject(message.attributes)) {
    return reject('envelope_invalid', 'message.attributes is not an object', raw, message);
  }
  const data = message.data ?? '';
  if (typeof data !== 'string')
    return reject('envelope_invalid', 'message.data is not a string', raw, message);
  if (!isBase64(data)) {
    return reject('data_not_base64', 'message.data is not valid base64', Buffer.from(data, 'utf8'), message);
  }
  const attempt = envelope.deliveryAttempt;
  return {
    ok: true,
    message: {
      data: Buffer.from(data, 'base64'),
      attributes: stringAttributes(message.attributes),
      messageId: messageIdOf(message),
      publishTime: publishTimeOf(message),
      deliveryAttempt: typeof attempt === 'number' && Number.isInteger(attempt) ? attempt : undefined,
    },
  };
}

// Pub/Sub attributes are strings; anything else is not something we published and is dropped.
function stringAttributes(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

// Push deliveries carry both spellings (messageId and message_id).
function messageIdOf(message: Record<string, unknown>): string | undefined {
  return text(message.messageId) ?? text(message.message_id);
}

function publishTimeOf(message: Record<string, unknown>): string | undefined {
  return text(message.publishTime) ?? text(message.publish_time);
}

function isoOrUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** When cioWebhook accepted the request: its `received_at` attribute, else the publish time, else `fallback`. */
export function receivedAtOf(
  attributes: Readonly<Record<string, string>>,
  publishTime: string | undefined,
  fallback: Date,
): string {
  return isoOrUndefined(attributes.received_at) ?? isoOrUndefined(publishTime) ?? fallback.toISOString();
}
