// The time flags of `reconcile` and `backfill`: instants (`7d`, `36h`, `2025-01-01`, an ISO time) and durations.

import { UsageError } from '../args';

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90m`, `2h`, `7d`, `30s` or `0` → seconds; undefined when it is none of these. */
export function parseDuration(raw: string): number | undefined {
  if (raw.trim() === '0') return 0;
  const m = /^(\d+)([smhd])$/.exec(raw.trim());
  return m ? Number(m[1]) * UNIT[m[2]!]! : undefined;
}

/** `7d` (that long before now), `YYYY-MM-DD` (midnight UTC) or an ISO-8601 time with a zone → unix seconds. */
export function parseInstant(raw: string, flag: string, now: Date): number {
  const value = raw.trim();
  const ago = parseDuration(value);
  if (ago !== undefined) return Math.floor(now.getTime() / 1000) - ago;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const ms = Date.parse(`${value}T00:00:00Z`);
    if (!Number.isNaN(ms) && new Date(ms).toISOString().startsWith(value)) return ms / 1000;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new UsageError(
    `${flag} must be a time before now (7d, 36h, 90m), a date (2025-01-31, midnight UTC) or an ISO time with a ` +
      `zone (2025-01-31T12:00:00Z), got "${raw}"`,
  );
}

export interface Window {
  start: number;
  end: number;
}

/** `defaultEnd` (unix seconds) applies without `until` (default: now). */
export function parseWindow(
  since: string,
  until: string | undefined,
  now: Date,
  defaultEnd?: number,
): Window {
  const start = parseInstant(since, '--since', now);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const end = until === undefined ? (defaultEnd ?? nowSeconds) : parseInstant(until, '--until', now);
  if (end > nowSeconds) throw new UsageError('--until is in the future');
  if (start >= end) throw new UsageError('--since must be before --until');
  return { start, end };
}

export const isoMinute = (unix: number): string =>
  new Date(unix * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
