// BigQuery REST shapes the local warehouse speaks, and the BigQuery → DuckDB column type mapping.

export type BqMode = 'NULLABLE' | 'REQUIRED' | 'REPEATED';

/** The scalar column types the local warehouse stores, by their legacy names (what the BigQuery API returns). */
export type BqType =
  'STRING' | 'INTEGER' | 'FLOAT' | 'BOOLEAN' | 'TIMESTAMP' | 'DATE' | 'JSON' | 'BYTES' | 'NUMERIC';

export interface BqField {
  name: string;
  type: BqType;
  mode: BqMode;
  description?: string;
}

/** Result schemas can also carry types the store never creates as columns (query expressions). */
export interface BqResultField {
  name: string;
  type: string;
  mode: BqMode;
  fields?: BqResultField[];
}

export interface TableMetadata {
  kind: 'bigquery#table';
  id: string;
  etag: string;
  tableReference: { projectId: string; datasetId: string; tableId: string };
  type: 'TABLE' | 'VIEW';
  schema?: { fields: BqField[] | BqResultField[] };
  timePartitioning?: { type: string; field?: string; expirationMs?: string };
  clustering?: { fields: string[] };
  description?: string;
  friendlyName?: string;
  labels?: Record<string, string>;
  view?: { query: string; useLegacySql: false };
  creationTime: string;
  lastModifiedTime: string;
  location: string;
  numRows?: string;
  numBytes?: string;
}

export interface DatasetMetadata {
  kind: 'bigquery#dataset';
  id: string;
  etag: string;
  datasetReference: { projectId: string; datasetId: string };
  location: string;
  description?: string;
  friendlyName?: string;
  labels?: Record<string, string>;
  creationTime: string;
  lastModifiedTime: string;
}

/** One per-row error in an insertAll response, as BigQuery shapes it. */
export interface InsertRowError {
  reason: string;
  location: string;
  debugInfo: string;
  message: string;
}

export interface InsertErrors {
  index: number;
  errors: InsertRowError[];
}

/** A request the client cannot recover from by itself: answered with BigQuery's error JSON. */
export class BqHttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** BigQuery's error body; the client's ApiError reads code, message and errors[].reason from it. */
export function errorBody(status: number, reason: string, message: string): object {
  return {
    error: {
      code: status,
      message,
      errors: [{ message, domain: 'global', reason }],
      status: STATUS_NAMES[status] ?? 'UNKNOWN',
    },
  };
}

const TYPE_ALIASES: Record<string, BqType> = {
  STRING: 'STRING',
  INTEGER: 'INTEGER',
  INT64: 'INTEGER',
  FLOAT: 'FLOAT',
  FLOAT64: 'FLOAT',
  BOOLEAN: 'BOOLEAN',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  JSON: 'JSON',
  BYTES: 'BYTES',
  NUMERIC: 'NUMERIC',
  DECIMAL: 'NUMERIC',
};

const DUCKDB_TYPES: Record<BqType, string> = {
  STRING: 'VARCHAR',
  INTEGER: 'BIGINT',
  FLOAT: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATE: 'DATE',
  JSON: 'JSON',
  BYTES: 'BLOB',
  NUMERIC: 'DECIMAL(38,9)',
};

/** NUMERIC is stored as DECIMAL(38,9): BigQuery's precision and scale. */
export const NUMERIC_SCALE = 9;

export function duckdbColumnType(field: BqField): string {
  const base = DUCKDB_TYPES[field.type];
  return field.mode === 'REPEATED' ? `${base}[]` : base;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;

/**
 * Validates a schema from a tables.insert body and normalises type names to the legacy ones BigQuery returns.
 * RECORD/STRUCT and the rarer types are refused with a clear message: the project's tables do not use them.
 */
export function parseSchema(raw: unknown): BqField[] {
  const fields = (raw as { fields?: unknown } | undefined)?.fields;
  if (!Array.isArray(fields)) throw new BqHttpError(400, 'invalid', 'Table schema has no fields.');
  const seen = new Set<string>();
  return fields.map((f: unknown): BqField => {
    const field = (f ?? {}) as Record<string, unknown>;
    const name = field.name;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new BqHttpError(400, 'invalid', `Invalid field name "${String(name)}".`);
    if (seen.has(name.toLowerCase()))
      throw new BqHttpError(400, 'invalid', `Field ${name} already exists in schema`);
    seen.add(name.toLowerCase());
    const rawType = String(field.type ?? 'STRING').toUpperCase();
    const type = TYPE_ALIASES[rawType];
    if (!type)
      throw new BqHttpError(
        400,
        'invalid',
        `Field ${name}: type ${rawType} is not supported by the local warehouse.`,
      );
    const mode = String(field.mode ?? 'NULLABLE').toUpperCase();
    if (mode !== 'NULLABLE' && mode !== 'REQUIRED' && mode !== 'REPEATED')
      throw new BqHttpError(400, 'invalid', `Field ${name}: invalid mode ${mode}.`);
    const out: BqField = { name, type, mode };
    if (typeof field.description === 'string') out.description = field.description;
    return out;
  });
}

/** Identifier quoting for DuckDB (dataset and table ids become schema and table names). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
