// Where the report reads from: the warehouse behind a two-method interface. Production and the local stack use the
// real BigQuery client (BIGQUERY_EMULATOR_HOST points it at the local warehouse); tests may hand in any source that
// answers the same SQL (e.g. an embedded DuckDB).
import { BigQuery } from '@google-cloud/bigquery';

export type Row = Record<string, unknown>;

export interface WarehouseSource {
  /** Shown in the report: where the numbers came from. */
  label: string;
  /** The SQL reference to a table or view of the analytics dataset. */
  table(id: string): string;
  /** Runs a query in the SQL subset BigQuery and DuckDB share. */
  query(sql: string): Promise<Row[]>;
}

export interface BigQuerySourceOptions {
  projectId: string;
  datasetId: string;
  /** A client of your own (endpoint, credentials, location); default: `new BigQuery({ projectId })`. */
  bigquery?: BigQuery;
  /** Default: `BigQuery <project>.<dataset>`. */
  label?: string;
}

export function bigQuerySource({
  projectId,
  datasetId,
  bigquery,
  label,
}: BigQuerySourceOptions): WarehouseSource {
  const client = bigquery ?? new BigQuery({ projectId });
  return {
    label: label ?? `BigQuery ${projectId}.${datasetId}`,
    table: (id) => `\`${projectId}.${datasetId}.${id}\``,
    query: async (sql) => {
      const [rows] = await client.query({ query: sql, useLegacySql: false });
      return (rows as Row[]).map((row) => {
        const out: Row = {};
        for (const [key, value] of Object.entries(row)) out[key] = unwrap(value);
        return out;
      });
    },
  };
}

// The client wraps DATE, TIMESTAMP (and optionally INT64) values as objects carrying the wire value in `value`.
function unwrap(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'value' in value)
    return (value as { value: unknown }).value;
  return value;
}
