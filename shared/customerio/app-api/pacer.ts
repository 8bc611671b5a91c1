// Spaces the starts of App API requests so that a workspace never exceeds Customer.io's rate (about 10 requests/s),
// however many requests are in flight. A 429 holds every later start until the time Customer.io asked for: no
// request is sent that is sure to be refused, and nothing spins.

export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class RequestPacer {
  /** Earliest start of the next request. */
  private next = 0;
  /** No request starts before this (a 429's Retry-After). */
  private heldUntil = 0;
  private readonly intervalMs: number;

  constructor(
    requestsPerSecond: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(requestsPerSecond > 0))
      throw new Error(`requests per second must be positive, got ${requestsPerSecond}`);
    this.intervalMs = 1000 / requestsPerSecond;
  }

  /** Resolves when the caller may start its request. */
  async slot(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const at = Math.max(now, this.next, this.heldUntil);
      this.next = at + this.intervalMs;
      if (at > now) await this.clock.sleep(at - now);
      // A 429 that arrived while we slept moves every start behind it, ours included.
      if (this.heldUntil <= this.clock.now()) return;
    }
  }

  /** No request starts for `ms` from now. */
  hold(ms: number): void {
    this.heldUntil = Math.max(this.heldUntil, this.clock.now() + ms);
  }
}
