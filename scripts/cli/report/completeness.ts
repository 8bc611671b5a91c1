// The report's completeness numbers: the last reconciliation with Customer.io's own record (reconcile_runs, and
// its days in reconcile_drift), the drift of every run in the period, and how late events reached the webhook (event
// time -> receipt, webhook rows only). The reconcile tables exist once reconcile has been set up; without them the
// section says so instead of failing the report.
import type { Row, WarehouseSource } from './source';

export interface LastReconcile {
  runId: string;
  workspace: string;
  startedAt: string;
  windowStart: string;
  windowEnd: string;
  status: string;
  threshold: number | null;
  deliveries: number;
  judged: number;
  matched: number;
  missingHere: number;
  onlyHere: number;
  repaired: number;
  drift: number | null;
  error: string | null;
}

export interface ReconcileDay {
  day: string;
  customerio: number;
  matched: number;
  missingHere: number;
  onlyHere: number;
}

export interface LagBucket {
  label: string;
  events: number;
}

export interface Completeness {
  /** false: the reconcile tables are not in the dataset (reconcile never set up). */
  reconcileTables: boolean;
  /** The last run that finished (status ok or drift). */
  last: LastReconcile | undefined;
  /** The latest run, when it failed after `last`. */
  failure: LastReconcile | undefined;
  /** The last successful run, by the day Customer.io created the deliveries. */
  days: ReconcileDay[];
  /** Every successful run that started in the period, oldest first. */
  runs: Array<{ startedAt: string; drift: number | null; threshold: number | null }>;
  /** Webhook events of the period by how long after happening they reached the webhook. */
  lag: LagBucket[];
}

export const LAG_BUCKETS = [
  'under 1 min',
  '1–5 min',
  '5–15 min',
  '15–60 min',
  '1–6 h',
  '6–24 h',
  'over 1 day',
];

export interface CompletenessQueries {
  reconcileLatest: string;
  reconcileLast: string;
  reconcileDays: string;
  reconcileRuns: string;
  lag: string;
}

const RUN_COLUMNS = `run_id, workspace, started_at, window_start, window_end, status, threshold, deliveries, judged,
         matched, missing_here, only_here, repaired, drift, error`;

/** The report's period (data.ts Period): UTC days, both ends included. */
interface Days {
  from: string;
  to: string;
}

/** `workspace`: a validated label (report/data.ts parseWorkspace), safe to quote; undefined: every workspace. */
export function completenessQueries(
  table: (id: string) => string,
  period: Days,
  workspace?: string,
): CompletenessQueries {
  const runs = table('reconcile_runs');
  const only = workspace === undefined ? '' : ` AND workspace = '${workspace}'`;
  const lastRun = `SELECT run_id FROM ${runs} WHERE status <> 'failed'${only} ORDER BY started_at DESC LIMIT 1`;
  return {
    reconcileLatest: `SELECT ${RUN_COLUMNS} FROM ${runs} WHERE TRUE${only} ORDER BY started_at DESC LIMIT 1`,
    reconcileLast: `SELECT ${RUN_COLUMNS} FROM ${runs} WHERE status <> 'failed'${only} ORDER BY started_at DESC LIMIT 1`,
    reconcileDays: `SELECT day, SUM(customerio) AS customerio, SUM(matched) AS matched,
         SUM(missing_here) AS missing_here, SUM(only_here) AS only_here
       FROM ${table('reconcile_drift')} WHERE run_id = (${lastRun}) GROUP BY day`,
    reconcileRuns: `SELECT started_at, drift, threshold FROM ${runs}
       WHERE status <> 'failed' AND DATE(started_at) >= DATE '${period.from}' AND DATE(started_at) <= DATE '${period.to}'${only}
       ORDER BY started_at`,
    // Interval comparisons instead of a timestamp difference: the same on BigQuery and DuckDB.
    lag: `SELECT bucket, COUNT(*) AS events FROM (
         SELECT CASE
           WHEN received_at < event_timestamp + INTERVAL 1 MINUTE THEN 0
           WHEN received_at < event_timestamp + INTERVAL 5 MINUTE THEN 1
           WHEN received_at < event_timestamp + INTERVAL 15 MINUTE THEN 2
           WHEN received_at < event_timestamp + INTERVAL 1 HOUR THEN 3
           WHEN received_at < event_timestamp + INTERVAL 6 HOUR THEN 4
           WHEN received_at < event_timestamp + INTERVAL 1 DAY THEN 5
           ELSE 6
         END AS bucket
         FROM ${table('events_unique')}
         WHERE source = 'webhook' AND event_timestamp IS NOT NULL
           AND DATE(occurred_at) >= DATE '${period.from}' AND DATE(occurred_at) <= DATE '${period.to}'${only}
       ) AS lags GROUP BY bucket`,
  };
}

/** A missing table, as BigQuery and the local warehouse report it. */
function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 404 || /not ?found|does not exist/i.test(String(e.message ?? ''));
}

export async function loadCompleteness(
  source: WarehouseSource,
  period: Days,
  workspace?: string,
): Promise<Completeness> {
  const sql = completenessQueries((id) => source.table(id), period, workspace);
  // allSettled: a missing table fails the first query, and none may still be running when the report is done.
  const [lagRows, ...settled] = await Promise.all([
    source.query(sql.lag),
    ...[sql.reconcileLatest, sql.reconcileLast, sql.reconcileDays, sql.reconcileRuns].map((q) =>
      source.query(q).then(
        (rows) => ({ ok: true as const, rows }),
        (err: unknown) => ({ ok: false as const, err }),
      ),
    ),
  ]);
  const failure = settled.find((r) => !r.ok);
  if (failure !== undefined && !failure.ok && !isNotFound(failure.err)) throw failure.err;
  const reconcile = failure === undefined ? settled.map((r) => (r.ok ? r.rows : [])) : undefined;
  const lagBy = new Map(lagRows.map((r) => [num(r.bucket), num(r.events)]));
  const lag = LAG_BUCKETS.map((label, i) => ({ label, events: lagBy.get(i) ?? 0 }));
  if (reconcile === undefined) {
    return { reconcileTables: false, last: undefined, failure: undefined, days: [], runs: [], lag };
  }
  const [[latest], [last], days, runs] = reconcile;
  return {
    reconcileTables: true,
    last: last === undefined ? undefined : lastReconcile(last),
    failure: latest !== undefined && latest.status === 'failed' ? lastReconcile(latest) : undefined,
    days: days
      .map((r) => ({
        day: String(r.day),
        customerio: num(r.customerio),
        matched: num(r.matched),
        missingHere: num(r.missing_here),
        onlyHere: num(r.only_here),
      }))
      .sort((a, b) => a.day.localeCompare(b.day)),
    runs: runs.map((r) => ({
      startedAt: String(r.started_at),
      drift: share(r.drift),
      threshold: share(r.threshold),
    })),
    lag,
  };
}

function lastReconcile(r: Row): LastReconcile {
  return {
    runId: String(r.run_id),
    workspace: String(r.workspace),
    startedAt: String(r.started_at),
    windowStart: String(r.window_start),
    windowEnd: String(r.window_end),
    status: String(r.status),
    threshold: share(r.threshold),
    deliveries: num(r.deliveries),
    judged: num(r.judged),
    matched: num(r.matched),
    missingHere: num(r.missing_here),
    onlyHere: num(r.only_here),
    repaired: num(r.repaired),
    drift: share(r.drift),
    error: r.error === null || r.error === undefined ? null : String(r.error),
  };
}

function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  const n = Number(typeof value === 'bigint' ? Number(value) : value);
  if (!Number.isFinite(n)) throw new Error(`Expected a number from the warehouse, got ${String(value)}`);
  return n;
}

const share = (value: unknown): number | null => (value === null || value === undefined ? null : num(value));
