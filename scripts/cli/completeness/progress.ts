// A progress line for long runs: a bar with rate and ETA on a terminal, a plain line every few seconds otherwise.

import type { Io } from '../args';
import type { Progress } from '../../../shared/reconcile/run';

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const int = (n: number): string => n.toLocaleString('en-US');

export class ProgressLine {
  private lastDraw = Date.now();
  private drawn = false;

  constructor(
    private readonly io: Io,
    private readonly verb: string,
  ) {}

  update(p: Progress): void {
    const now = Date.now();
    // Off a terminal, a line every 5 s, the first after 5 s: short runs print none.
    if (now - this.lastDraw < (this.io.isTTY ? 200 : 5000)) return;
    this.lastDraw = now;
    const rate = p.elapsedMs > 0 ? (p.requests * 1000) / p.elapsedMs : 0;
    const eta = p.fraction > 0.01 ? formatDuration((p.elapsedMs * (1 - p.fraction)) / p.fraction) : '…';
    const text =
      `${(p.fraction * 100).toFixed(0).padStart(3)}% · day ${p.daysDone}/${p.days} · ${int(p.deliveries)} deliveries · ` +
      `${int(p.written)} rows ${this.verb} · ${rate.toFixed(1)} req/s${p.throttled > 0 ? ` (${p.throttled} × 429)` : ''} · ETA ${eta}`;
    if (this.io.isTTY) {
      const width = 24;
      const filled = Math.round(p.fraction * width);
      this.io.out(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
      this.drawn = true;
    } else {
      this.io.out(`${text}\n`);
    }
  }

  done(): void {
    if (this.drawn) this.io.out('\n');
    this.drawn = false;
  }
}
