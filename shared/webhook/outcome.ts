// Every way a webhook request ends, with its reply and log level: one line per request, `outcome` naming the row.
// A new outcome does not compile until it has its row here, and README "Operations" lists them all (a test checks).

import type { BodyFailure } from '../request-body';
import type { SignatureFailure } from './signature';

export type Outcome =
  | 'published'
  | 'published_unparseable'
  | 'published_truncated'
  | 'rejected_signature'
  | 'method_not_allowed'
  | 'unknown_workspace'
  | 'compressed_body'
  | 'body_too_large'
  | 'over_body_budget'
  | 'client_aborted'
  | 'publish_failed'
  | 'publish_timeout';

export interface OutcomeSpec {
  /** The reply's status; none when the client has gone. */
  status: 200 | 401 | 404 | 405 | 413 | 415 | 503 | undefined;
  /** The reply's plain-text body: short and fixed, never a key, a signature or a value from the request. */
  reply?: string;
  level: 'info' | 'warn' | 'error';
}

export const OUTCOMES: Readonly<Record<Outcome, OutcomeSpec>> = {
  published: { status: 200, reply: 'ok', level: 'info' },
  // Signed, but not an event: parked downstream. WARNING, so it is noticed.
  published_unparseable: { status: 200, reply: 'ok', level: 'warn' },
  // Signed, too large for one Pub/Sub message: published without its bulk (shared/webhook/oversize.ts).
  published_truncated: { status: 200, reply: 'ok', level: 'warn' },
  // The reply is the reason's (UNAUTHORIZED).
  rejected_signature: { status: 401, level: 'warn' },
  method_not_allowed: { status: 405, reply: 'method not allowed', level: 'info' },
  // POST /<label> for a label no workspace has: a URL typed wrong in Customer.io, or a workspace not configured yet.
  unknown_workspace: { status: 404, reply: 'unknown workspace', level: 'warn' },
  compressed_body: {
    status: 415,
    reply:
      'compressed bodies are refused unread: inflating bytes before their signature is checked would let anyone ' +
      'send a decompression bomb; send the body uncompressed',
    level: 'warn',
  },
  // Over CIO_MAX_BODY_BYTES, or over one Pub/Sub message without a valid signature.
  body_too_large: { status: 413, reply: 'body too large', level: 'warn' },
  // Too many large bodies at once for this instance's memory: Customer.io retries later.
  over_body_budget: { status: 503, reply: 'temporarily unavailable', level: 'warn' },
  client_aborted: { status: undefined, level: 'warn' },
  publish_failed: { status: 503, reply: 'temporarily unavailable', level: 'error' },
  publish_timeout: { status: 503, reply: 'temporarily unavailable', level: 'error' },
};

/** The outcome of a body that could not be read. */
export const BODY_FAILURES: Readonly<Record<BodyFailure, Outcome>> = {
  compressed: 'compressed_body',
  too_large: 'body_too_large',
  over_budget: 'over_body_budget',
  aborted: 'client_aborted',
};

/** 401 replies: the reason an operator needs, nothing about keys or the expected signature. */
export const UNAUTHORIZED: Readonly<Record<SignatureFailure, string>> = {
  unsigned: 'missing signature',
  malformed: 'malformed signature',
  mismatch: 'invalid signature',
  stale: 'timestamp too old',
  future: 'timestamp in the future',
};
