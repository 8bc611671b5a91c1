// Customer.io signs each reporting webhook with HMAC-SHA256 over `v0:<X-CIO-Timestamp verbatim>:<raw body bytes>`
// and sends the lowercase hex digest in X-CIO-Signature. It sends ONE signature, so zero-downtime key rotation means
// accepting any key of a list. Headers are untrusted input: nothing here throws, every failure has a reason code.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** What Node gives for a header: absent, a string, or (from some frameworks, for repeated headers) an array. */
export type HeaderValue = string | readonly string[] | undefined;

/**
 * - `unsigned`: a signature or timestamp header is missing or empty (not a Customer.io request at all)
 * - `malformed`: a header is present but cannot be a Customer.io value (repeated, wrong length, not lowercase hex,
 *   timestamp not unix seconds)
 * - `mismatch`: well-formed, but no configured key produced this signature (wrong key, or a tampered body)
 * - `stale` / `future`: a configured key matched, but the timestamp is outside the accepted window
 */
export type SignatureFailure = 'unsigned' | 'malformed' | 'mismatch' | 'stale' | 'future';

export type SignatureResult =
  | {
      ok: true;
      /** Which configured key matched: shows when the old key of a rotation stops being used. */
      keyIndex: number;
      /** The X-CIO-Timestamp header as signed (unix seconds, digits only). */
      timestamp: string;
    }
  | {
      ok: false;
      reason: SignatureFailure;
      /** For logs: which header and why. Never contains header values. */
      detail: string;
    };

export interface SignaturePolicy {
  keys: readonly string[];
  maxAgeSeconds: number;
  maxFutureSeconds: number;
}

export interface SignedRequest {
  signature: HeaderValue;
  timestamp: HeaderValue;
  body: Buffer;
}

// Customer.io's digest is lowercase hex. Uppercase is rejected on purpose: accepting it would add a second spelling
// of the same signature for no sender that exists (customerio-node's own verifier rejects it too).
const SIGNATURE = /^[0-9a-f]{64}$/;
// Unix seconds as plain digits: no sign, fraction, exponent or padding. 12 digits keeps Number() exact.
const TIMESTAMP = /^[0-9]{1,12}$/;

function failure(reason: SignatureFailure, detail: string): SignatureResult {
  return { ok: false, reason, detail };
}

export function verifySignature(
  request: SignedRequest,
  policy: SignaturePolicy,
  nowMs: number,
): SignatureResult {
  const { signature, timestamp, body } = request;
  const missing = [
    signature === undefined || signature === '' ? 'X-CIO-Signature' : undefined,
    timestamp === undefined || timestamp === '' ? 'X-CIO-Timestamp' : undefined,
  ].filter((h) => h !== undefined);
  if (missing.length > 0) return failure('unsigned', `missing ${missing.join(' and ')}`);
  if (typeof signature !== 'string') return failure('malformed', 'X-CIO-Signature repeated');
  if (typeof timestamp !== 'string') return failure('malformed', 'X-CIO-Timestamp repeated');
  if (!SIGNATURE.test(signature))
    return failure('malformed', 'X-CIO-Signature is not 64 lowercase hex digits');
  if (!TIMESTAMP.test(timestamp)) return failure('malformed', 'X-CIO-Timestamp is not unix seconds');

  const provided = Buffer.from(signature, 'hex');
  let keyIndex = -1;
  // Every key is tried, even after a match, so the time taken does not depend on which key matched.
  policy.keys.forEach((key, index) => {
    const expected = createHmac('sha256', key).update(`v0:${timestamp}:`).update(body).digest();
    if (timingSafeEqual(expected, provided) && keyIndex === -1) keyIndex = index;
  });
  if (keyIndex === -1) return failure('mismatch', 'no configured signing key matches the signature');

  // Checked after the signature, so stale/future always mean "genuinely signed, outside the window" (a clock or
  // replay problem to investigate), never a forgery.
  const ageSeconds = Math.floor(nowMs / 1000) - Number(timestamp);
  if (ageSeconds > policy.maxAgeSeconds) {
    return failure('stale', `timestamp is ${ageSeconds} s old (limit ${policy.maxAgeSeconds} s)`);
  }
  if (-ageSeconds > policy.maxFutureSeconds) {
    return failure('future', `timestamp is ${-ageSeconds} s ahead (limit ${policy.maxFutureSeconds} s)`);
  }
  return { ok: true, keyIndex, timestamp };
}
