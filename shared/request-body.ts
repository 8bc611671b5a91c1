// Reads a request's body as the exact bytes that were sent, for both functions. functions-framework's own body
// parsers are switched off (functions/raw-bodies.ts): they answer some requests by themselves (400, 415, an HTML
// page) and keep no bytes of others, while a signature is over the bytes, whatever the headers say. Reading is
// bounded: a body is refused as soon as it is known to be too large, without being buffered.

import type { IncomingMessage } from 'node:http';

/**
 * - `compressed`: a Content-Encoding other than identity. Inflating before the signature is checked would let anyone
 *   make an instance allocate many times what they send (a decompression bomb), and no caller compresses.
 * - `too_large`: over `maxBytes`, declared in Content-Length or counted while reading
 * - `over_budget`: the instance already holds as many large bodies as its budget allows (see BodyBudget)
 * - `aborted`: the client went away before the body ended; nobody is left to answer
 */
export type BodyFailure = 'compressed' | 'too_large' | 'over_budget' | 'aborted';

export type BodyResult =
  | {
      ok: true;
      body: Buffer;
      /** Gives the body's share of the budget back: call it once the bytes are no longer held. */
      release: () => void;
    }
  | {
      ok: false;
      failure: BodyFailure;
      /** The size that decided it: declared, or read so far. */
      bytes: number;
    };

/**
 * Bytes of large bodies one instance may hold at once, shared by its concurrent requests. A body up to
 * `smallBytes` never draws on it (concurrency × smallBytes bounds those); a larger one reserves its whole size
 * before it is read (or as it arrives, when chunked), and is refused when the budget cannot cover it.
 */
export class BodyBudget {
  private held = 0;

  constructor(
    readonly totalBytes: number,
    readonly smallBytes: number,
  ) {}

  get heldBytes(): number {
    return this.held;
  }

  /** Takes `bytes` from the budget if it has them. */
  reserve(bytes: number): boolean {
    if (this.held + bytes > this.totalBytes) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}

export interface BodyLimits {
  maxBytes: number;
  budget?: BodyBudget;
}

const EMPTY = Buffer.alloc(0);
const NOTHING_TO_RELEASE = () => undefined;

/** No coding, or only `identity` (Node joins a repeated header into one comma-separated list). */
function isIdentity(contentEncoding: string | undefined): boolean {
  if (contentEncoding === undefined) return true;
  return contentEncoding.split(',').every((coding) => {
    const name = coding.trim().toLowerCase();
    return name === '' || name === 'identity';
  });
}

/**
 * Reads `req` to its end and calls `done` once. `done` runs from the request's stream events, outside any
 * functions-framework request domain: the caller binds it if it needs one.
 * Throws if something already consumed the body: that is a wiring error (the framework's parsers are on), and
 * reading on would wait forever for bytes that are gone.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits, done: (result: BodyResult) => void): void {
  if (req.readableEnded) {
    throw new Error(
      "the request body was already read: functions-framework's body parsers must be off (functions/raw-bodies.ts)",
    );
  }
  if (!isIdentity(req.headers['content-encoding']))
    return done({ ok: false, failure: 'compressed', bytes: 0 });

  const { maxBytes, budget } = limits;
  let reserved = 0;
  /** Makes the budget cover `bytes` in all; false when it cannot. */
  const cover = (bytes: number): boolean => {
    if (budget === undefined || bytes <= budget.smallBytes || bytes <= reserved) return true;
    if (!budget.reserve(bytes - reserved)) return false;
    reserved = bytes;
    return true;
  };
  const release = () => {
    budget?.release(reserved);
    reserved = 0;
  };

  // Node has checked the framing: Content-Length, when present, is plain digits and the body is exactly that long.
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const bytes = Number(declared);
    if (bytes > maxBytes) return done({ ok: false, failure: 'too_large', bytes });
    if (!cover(bytes)) return done({ ok: false, failure: 'over_budget', bytes });
  }

  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (result: BodyResult) => {
    if (settled) return;
    settled = true;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onAbort);
    req.removeListener('close', onAbort);
    if (!result.ok) release();
    done(result);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) return settle({ ok: false, failure: 'too_large', bytes: size });
    if (!cover(size)) return settle({ ok: false, failure: 'over_budget', bytes: size });
    chunks.push(chunk);
  };
  const onEnd = () => {
    const body = chunks.length === 1 ? chunks[0] : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size);
    settle({ ok: true, body, release: reserved === 0 ? NOTHING_TO_RELEASE : release });
  };
  // 'close' before 'end' (or an 'error'): the client reset or closed the connection mid-body.
  const onAbort = () => settle({ ok: false, failure: 'aborted', bytes: size });
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onAbort);
  req.on('close', onAbort);
}
