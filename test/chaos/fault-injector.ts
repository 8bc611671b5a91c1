// Keeps a share of the Track API calls and of the warehouse's insertAll requests failing while the run lasts: on
// every tick it adds one-shot faults until the faults added match the target share of the traffic seen so far, so
// the faults spread over the whole run instead of hitting the first requests only.

import type { FaultHandle } from '../../scripts/local/warehouse/faults';
import type { WarehouseServer } from '../../scripts/local/warehouse/server';
import type { TrackApiServer } from '../support/track-api-server';

export interface FaultShares {
  track500: number;
  track429: number;
  trackHang: number;
  warehouse503: number;
  warehousePartial: number;
}

export interface InjectedFaults {
  track500: number;
  track429: number;
  trackHang: number;
  warehouse503: number;
  warehousePartial: number;
}

export class FaultInjector {
  private timer: NodeJS.Timeout | undefined;
  private added = { track500: 0, track429: 0, trackHang: 0 };
  private readonly warehouse503: FaultHandle[] = [];
  private readonly warehousePartial: FaultHandle[] = [];

  constructor(
    private readonly track: TrackApiServer,
    private readonly warehouse: WarehouseServer,
    private readonly shares: FaultShares,
    /** Longer than the processor's Track request timeout: the client gives up first. */
    private readonly hangMs: number,
  ) {}

  start(intervalMs = 250): void {
    this.timer ??= setInterval(() => this.tick(), intervalMs);
  }

  /** Stops adding faults and withdraws the ones not yet hit (the outage is over; the stream must drain). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.track.faults.clear();
    this.warehouse.faults.clear();
  }

  private tick(): void {
    // +1: the first calls of the run are not spared.
    const calls = this.track.calls.length + 1;
    while (this.added.track500 < this.shares.track500 * calls) {
      this.track.faults.add({ kind: 'status', status: 500, times: 1 });
      this.added.track500++;
    }
    while (this.added.track429 < this.shares.track429 * calls) {
      this.track.faults.add({ kind: 'status', status: 429, times: 1, retryAfter: '1' });
      this.added.track429++;
    }
    while (this.added.trackHang < this.shares.trackHang * calls) {
      this.track.faults.add({ kind: 'hang', ms: this.hangMs, times: 1 });
      this.added.trackHang++;
    }
    const inserts = this.warehouse.stats.insertAllRequests + 1;
    while (this.warehouse503.length < this.shares.warehouse503 * inserts) {
      this.warehouse503.push(this.warehouse.faults.add({ kind: 'status', status: 503, match: 'insertAll' }));
    }
    while (this.warehousePartial.length < this.shares.warehousePartial * inserts) {
      // Every other row fails with backendError; BigQuery refuses the rest of the request ('stopped').
      this.warehousePartial.push(
        this.warehouse.faults.add({ kind: 'partial', reason: 'backendError', rows: (_, i) => i % 2 === 0 }),
      );
    }
  }

  /** Faults that hit a request (Track: from the answers the fake recorded). */
  injected(): InjectedFaults {
    const calls = this.track.calls;
    const hits = (handles: FaultHandle[]) => handles.reduce((sum, h) => sum + h.hits, 0);
    return {
      track500: calls.filter((c) => c.status === 500).length,
      track429: calls.filter((c) => c.status === 429).length,
      // A hung call is never answered before the client gives up.
      trackHang: calls.filter((c) => c.status === undefined).length,
      warehouse503: hits(this.warehouse503),
      warehousePartial: hits(this.warehousePartial),
    };
  }
}
