// The warehouse side of a reconciliation: what the events table holds for a set of deliveries, which deliveries it
// saw sent in a period, when an event last arrived; and the writes (repair rows, the run and its drift). Queries
// read the events table itself, not events_unique: they need only whether a (delivery, metric) is there and when
// it first occurred, which duplicate copies do not change, and a filter on event_timestamp lets BigQuery read only
// the partitions of the period (events_unique's window functions would make it read the whole table).
//
// One SQL text per question, in the dialect BigQuery and DuckDB (the local warehouse) share; every one is
// registered in scripts/cli/sql/statements.ts. Every question is about one workspace (@workspace): the App API key
// that asks sees one workspace, and rows written before the `workspace` column existed are the default's.

import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import { WarehouseWriter } from '../warehouse/writer';
import type { EventRow } from '../warehouse/row';

export const RECONCILE_RUNS = 'reconcile_runs';
export const RECONCILE_DRIFT = 'reconcile_drift';

export interface ReconcileQueries {
  /** Per (delivery, metric, kind, origin) of @workspace's deliveries in @ids: the first occurrence (events since @since). */
  facts: string;
  /** @workspace's deliveries whose webhook `sent` event happened in [@from, @to), with their channel and parent. */
  sentDeliveries: string;
  /** When @workspace's last webhook event arrived (events that happened since @since). */
  lastReceived: string;
}

type ParamTypes = Record<string, string | string[]>;

/** The BigQuery types of each query's parameters (a dry run, like a run, must declare them). */
export const RECONCILE_PARAM_TYPES: { readonly [Q in keyof ReconcileQueries]: ParamTypes } = {
  facts: { workspace: 'STRING', ids: ['STRING'], since: 'TIMESTAMP' },
  sentDeliveries: { workspace: 'STRING', from: 'TIMESTAMP', to: 'TIMESTAMP' },
  lastReceived: { workspace: 'STRING', since: 'TIMESTAMP' },
};

/** `events` is the events table's SQL reference (`\`project.dataset.events\`` on BigQuery). */
export function reconcileQueries(events: string): ReconcileQueries {
  return {
    facts: `SELECT
  delivery_id,
  metric,
  CASE
    WHEN metric = 'opened' THEN COALESCE(JSON_VALUE(data, '$.prefetched') = 'true', FALSE)
    WHEN metric = 'clicked' THEN COALESCE(JSON_VALUE(data, '$.machine') = 'true', FALSE)
    ELSE FALSE
  END AS machine,
  COALESCE(source, 'webhook') AS origin,
  MIN(event_timestamp) AS first_at,
  MAX(transactional_message_id) AS transactional_message_id
FROM ${events}
WHERE event_timestamp >= @since
  AND COALESCE(workspace, 'default') = @workspace
  AND delivery_id IN (SELECT * FROM UNNEST(@ids))
GROUP BY 1, 2, 3, 4`,
    sentDeliveries: `SELECT
  delivery_id,
  MIN(event_timestamp) AS sent_at,
  MAX(object_type) AS object_type,
  MAX(campaign_id) AS campaign_id,
  MAX(broadcast_id) AS broadcast_id,
  MAX(newsletter_id) AS newsletter_id,
  MAX(transactional_message_id) AS transactional_message_id
FROM ${events}
WHERE event_timestamp >= @from
  AND event_timestamp < @to
  AND COALESCE(workspace, 'default') = @workspace
  AND metric = 'sent'
  AND delivery_id IS NOT NULL
  AND COALESCE(source, 'webhook') = 'webhook'
GROUP BY delivery_id`,
    lastReceived: `SELECT MAX(received_at) AS last_received, COUNT(*) AS events
FROM ${events}
WHERE event_timestamp >= @since
  AND COALESCE(workspace, 'default') = @workspace
  AND COALESCE(source, 'webhook') = 'webhook'`,
  };
}

export interface WarehouseFact {
  deliveryId: string;
  metric: string;
  /** A prefetched open or a machine click. */
  machine: boolean;
  origin: 'webhook' | 'app_api';
  /** Unix seconds. */
  firstAt: number;
  transactionalMessageId: number | null;
}

export interface SentDelivery {
  deliveryId: string;
  /** Unix seconds of its (first) `sent` event. */
  sentAt: number;
  channel: string;
  campaignId: number | null;
  broadcastId: number | null;
  newsletterId: number | null;
  transactionalMessageId: number | null;
}

export interface RunRecord {
  run_id: string;
  workspace: string;
  started_at: string;
  finished_at: string | null;
  trigger: string;
  window_start: string;
  window_end: string;
  settled_before: string;
  status: 'ok' | 'drift' | 'failed';
  threshold: number;
  deliveries: number;
  judged: number;
  matched: number;
  missing_here: number;
  only_here: number;
  repaired: number;
  drift: number | null;
  not_judged: string;
  api_requests: number;
  error: string | null;
}

export interface DriftRecord {
  run_id: string;
  workspace: string;
  run_started_at: string;
  day: string;
  channel: string;
  metric: string;
  parent_type: string;
  customerio: number;
  matched: number;
  missing_here: number;
  only_here: number;
  repaired: number;
  sample_missing: string[];
  sample_only_here: string[];
}

/** Where a reconciliation reads and writes: the events table's dataset, through the real BigQuery client. */
export interface ReconcileWarehouseOptions {
  bigquery: BigQuery;
  projectId: string;
  datasetId: string;
  eventsTable: string;
}

export class ReconcileWarehouse {
  readonly queries: ReconcileQueries;
  private readonly dataset: Dataset;
  private readonly writer: WarehouseWriter;

  constructor(private readonly options: ReconcileWarehouseOptions) {
    const { projectId, datasetId, eventsTable } = options;
    this.queries = reconcileQueries(`\`${projectId}.${datasetId}.${eventsTable}\``);
    this.dataset = options.bigquery.dataset(datasetId);
    // Repairs come in chunks of hundreds of rows: one insertAll request per 500.
    this.writer = new WarehouseWriter(this.dataset.table(eventsTable), {
      maxRows: 500,
      maxWaitMs: 50,
      maxAttempts: 5,
    });
  }

  get label(): string {
    return `${this.options.projectId}.${this.options.datasetId}.${this.options.eventsTable}`;
  }

  async facts(workspace: string, ids: readonly string[], since: Date): Promise<WarehouseFact[]> {
    if (ids.length === 0) return [];
    const rows = await this.query('facts', { workspace, ids: [...ids], since });
    return rows.map((r) => ({
      deliveryId: String(r.delivery_id),
      metric: String(r.metric),
      machine: r.machine === true,
      origin: r.origin === 'app_api' ? 'app_api' : 'webhook',
      firstAt: unixSeconds(r.first_at),
      transactionalMessageId: integerOrNull(r.transactional_message_id),
    }));
  }

  async sentDeliveries(workspace: string, from: Date, to: Date): Promise<SentDelivery[]> {
    const rows = await this.query('sentDeliveries', { workspace, from, to });
    return rows.map((r) => ({
      deliveryId: String(r.delivery_id),
      sentAt: unixSeconds(r.sent_at),
      channel: String(r.object_type ?? 'unknown'),
      campaignId: integerOrNull(r.campaign_id),
      broadcastId: integerOrNull(r.broadcast_id),
      newsletterId: integerOrNull(r.newsletter_id),
      transactionalMessageId: integerOrNull(r.transactional_message_id),
    }));
  }

  /** When the workspace's last webhook event arrived, among events that happened since `since`; undefined: none. */
  async lastReceived(workspace: string, since: Date): Promise<{ at: Date | undefined; events: number }> {
    const [row] = await this.query('lastReceived', { workspace, since });
    const at = row?.last_received;
    return {
      at: at === null || at === undefined ? undefined : new Date(unixSeconds(at) * 1000),
      events: Number(row?.events ?? 0),
    };
  }

  /** Inserts repair rows (insertId = their deterministic event id); returns the messages of rows refused as invalid. */
  async insertEvents(rows: ReadonlyArray<{ insertId: string; row: EventRow }>): Promise<string[]> {
    const deadline = Date.now() + 120_000;
    const slots = rows.map(() => this.writer.expect());
    const outcomes = await Promise.all(rows.map((r, i) => slots[i]!.insert(r.insertId, r.row, deadline)));
    return outcomes.flatMap((o, i) =>
      o.kind === 'invalid' ? [`${rows[i]!.row.event_id}: ${o.message}`] : [],
    );
  }

  async recordRun(run: RunRecord, drift: readonly DriftRecord[]): Promise<void> {
    await this.dataset.table(RECONCILE_RUNS).insert([{ insertId: run.run_id, json: run }], { raw: true });
    for (let i = 0; i < drift.length; i += 500) {
      const batch = drift.slice(i, i + 500).map((d) => ({
        insertId: `${d.run_id}:${d.day}:${d.channel}:${d.metric}:${d.parent_type}`,
        json: d,
      }));
      await this.dataset.table(RECONCILE_DRIFT).insert(batch, { raw: true });
    }
  }

  private async query(
    name: keyof ReconcileQueries,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>[]> {
    const [rows] = await this.options.bigquery.query({
      query: this.queries[name],
      params,
      types: RECONCILE_PARAM_TYPES[name],
      useLegacySql: false,
    });
    return rows as Record<string, unknown>[];
  }
}

/** A TIMESTAMP as the client returns it (BigQueryTimestamp, Date or ISO text) → unix seconds. */
function unixSeconds(value: unknown): number {
  const raw =
    value !== null && typeof value === 'object' && 'value' in value
      ? (value as { value: unknown }).value
      : value;
  const ms = raw instanceof Date ? raw.getTime() : Date.parse(String(raw));
  if (Number.isNaN(ms))
    throw new Error(`the warehouse answered ${String(raw)} where a timestamp was expected`);
  return ms / 1000;
}

function integerOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}
