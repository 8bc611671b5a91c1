// Runtime failures the processor can recover from by letting Pub/Sub redeliver (nack). Anything classified as
// permanent is handled where it happens (recorded on the row, or parked) and never reaches the caller as an error.

/**
 * Every kind of retryable failure, with the severity its log line gets. ERROR lines page (Terraform's "processor
 * errors" alert counts them); WARNING lines heal on redelivery and only matter when they persist. A new kind is a
 * compile error until it is given a severity here.
 */
export const FAILURE_SEVERITY = {
  /** The per-event budget ran out (work may still be in flight); the redelivery resumes. */
  deadline: 'warning',
  /** The ledger (Firestore) failed or timed out. */
  firestore: 'warning',
  /** Track API 408/429/5xx, a network failure or a timeout (detail: the status, `timeout`, `network`, ...). */
  track: 'warning',
  /** No slot of this instance's Track rate budget before the deadline. */
  'track:rate_limited': 'warning',
  /** Track API 401/403: the workspace's credentials are wrong or revoked, for every event, until someone acts. */
  'track:credentials': 'error',
  /** BigQuery 5xx/429, a refused batch, rows `stopped` or failed (detail: the code or row reason). */
  warehouse: 'warning',
  /** Anything not classified where it happened: a bug. */
  unexpected: 'error',
} as const satisfies Record<string, 'warning' | 'error'>;

export type FailureKind = keyof typeof FAILURE_SEVERITY;

/** What logs and metrics show: the kind, and after a colon its detail when it has one (`track:429`). */
export type Classification = FailureKind | `${FailureKind}:${string}`;

/** A failure worth retrying later: the message is nacked and Pub/Sub redelivers it with backoff. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  readonly classification: Classification;

  constructor(
    readonly kind: FailureKind,
    /** e.g. the HTTP status or the row error reason; part of the classification. */
    detail: string | number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.classification = detail === undefined ? kind : `${kind}:${detail}`;
  }
}

/** The per-event processing budget ran out (work may still be in flight). */
export class DeadlineExceededError extends RetryableError {
  override name = 'DeadlineExceededError';
  constructor(step: string) {
    super('deadline', undefined, `per-event deadline exceeded during ${step}`);
  }
}

/** How a failure is logged: its classification, and the severity its kind has (`unexpected` for anything else). */
export function classOf(err: unknown): { classification: Classification; severity: 'warning' | 'error' } {
  const kind: FailureKind = err instanceof RetryableError ? err.kind : 'unexpected';
  const classification = err instanceof RetryableError ? err.classification : kind;
  return { classification, severity: FAILURE_SEVERITY[kind] };
}

/** Milliseconds left until `deadlineAt` (epoch ms); throws once it has passed. */
export function remainingMs(deadlineAt: number, step: string): number {
  const left = deadlineAt - Date.now();
  if (left <= 0) throw new DeadlineExceededError(step);
  return left;
}

/** Resolves with `work`, or rejects with DeadlineExceededError when `deadlineAt` passes first. */
export async function withDeadline<T>(work: Promise<T>, deadlineAt: number, step: string): Promise<T> {
  const left = remainingMs(deadlineAt, step);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(step)), left);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
