// Runtime failures the processor can recover from by letting Pub/Sub redeliver (nack). Anything classified as
// permanent is handled where it happens (recorded on the row, or parked) and never reaches the caller as an error.

/** A failure worth retrying later: the message is nacked and Pub/Sub redelivers it with backoff. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    /** Short code for logs and metrics, e.g. `track:429`, `warehouse:backendError`, `deadline`. */
    readonly classification: string,
    message: string,
    options?: { cause?: unknown; needsOperator?: boolean },
  ) {
    super(message, options);
    this.needsOperator = options?.needsOperator ?? false;
  }
  /** Retrying will not help until someone fixes something (e.g. revoked credentials): logged at ERROR. */
  readonly needsOperator: boolean;
}

/** The per-event processing budget ran out (work may still be in flight). */
export class DeadlineExceededError extends RetryableError {
  override name = 'DeadlineExceededError';
  constructor(step: string) {
    super('deadline', `per-event deadline exceeded during ${step}`);
  }
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
