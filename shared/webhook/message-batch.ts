// Messages waiting for the next Publish call, within the limits of one call. Pure bookkeeping: when to send is the
// publisher's decision (shared/webhook/publisher.ts), what fits in one call is this.

export interface BatchLimits {
  /** Messages per Publish call (the API allows 1000). */
  maxMessages: number;
  /** Bytes per Publish call, counted as the publisher counts them (an upper bound of the request). */
  maxBytes: number;
}

export class MessageBatch<T> {
  private items: T[] = [];
  private bytes = 0;
  private since = 0;

  constructor(private readonly limits: BatchLimits) {}

  get length(): number {
    return this.items.length;
  }

  /** When the oldest message was added (the clock `add` was given), for the budget of the whole batch. */
  get oldestAt(): number {
    return this.since;
  }

  /** Whether a message of `bytes` can join. An empty batch takes any one message: alone, it is its own call. */
  canFit(bytes: number): boolean {
    if (this.items.length === 0) return true;
    return this.items.length < this.limits.maxMessages && this.bytes + bytes <= this.limits.maxBytes;
  }

  /** Adds a message (the caller checked `canFit`); `now` in the clock the caller reads `oldestAt` in. */
  add(item: T, bytes: number, now: number): void {
    if (this.items.length === 0) this.since = now;
    this.items.push(item);
    this.bytes += bytes;
  }

  /** Whether no further message can join: send it now. */
  isFull(): boolean {
    return this.items.length >= this.limits.maxMessages;
  }

  /** The messages, oldest first, leaving the batch empty. */
  take(): T[] {
    const taken = this.items;
    this.items = [];
    this.bytes = 0;
    return taken;
  }
}
