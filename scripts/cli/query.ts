// The `query` command: run SQL through the real BigQuery client and print an aligned text table. With
// BIGQUERY_EMULATOR_HOST set (the local stack) it queries the local warehouse, otherwise real BigQuery with the
// caller's credentials.
import { BigQuery } from '@google-cloud/bigquery';

export interface RunQueryOptions {
  projectId: string;
  /** Receives the table one line at a time (no trailing newline). */
  out: (line: string) => void;
  /** A client of your own (endpoint, credentials, location); default `new BigQuery({ projectId })`. */
  bigquery?: BigQuery;
}

interface SchemaField {
  name?: string | null;
  type?: string | null;
  mode?: string | null;
}

/** Longer cells are cut (with …) so one big JSON value does not push every other column off the screen. */
const MAX_CELL = 100;
const NUMERIC_TYPES = new Set(['INTEGER', 'INT64', 'FLOAT', 'FLOAT64', 'NUMERIC', 'BIGNUMERIC']);

/** Runs `sql` and prints the result; returns the number of rows. */
export async function runQuery(sql: string, options: RunQueryOptions): Promise<number> {
  const bigquery = options.bigquery ?? new BigQuery({ projectId: options.projectId });
  const [rows, , response] = await bigquery.query(sql);
  const affected = response?.numDmlAffectedRows;
  if (affected !== undefined && affected !== null && rows.length === 0) {
    // A DELETE, UPDATE, INSERT or MERGE: what it changed, not the empty result it returns.
    const n = Number(affected);
    options.out(`${n} ${n === 1 ? 'row' : 'rows'} affected`);
    return 0;
  }
  const fields: SchemaField[] = response?.schema?.fields ?? [];
  const names = fields.length > 0 ? fields.map((f) => f.name ?? '') : Object.keys(rows[0] ?? {});
  const numeric = names.map((_, i) => NUMERIC_TYPES.has(fields[i]?.type ?? ''));
  const cells = (rows as Record<string, unknown>[]).map((row) =>
    names.map((name, i) => clip(formatValue(row[name], fields[i]?.type ?? undefined))),
  );
  const widths = names.map((name, i) => Math.max(name.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join(' | ')
      .trimEnd();
  if (names.length > 0) {
    options.out(line(names.map((n, i) => (numeric[i] ? n.padStart(widths[i]!) : n))));
    options.out(widths.map((w) => '-'.repeat(w)).join('-+-'));
    for (const r of cells) options.out(line(r));
  }
  options.out(`${rows.length} ${rows.length === 1 ? 'row' : 'rows'}`);
  return rows.length;
}

/** One value as the table shows it: NULL, compact JSON, ISO timestamps, base64 bytes. */
export function formatValue(value: unknown, type?: string): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v, type)).join(', ')}]`;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'string') {
    if (type === 'JSON') {
      try {
        return JSON.stringify(JSON.parse(value));
      } catch {
        return value;
      }
    }
    return value.replaceAll('\n', '\\n');
  }
  if (typeof value === 'object') {
    // BigQueryTimestamp / BigQueryDate / ... carry the wire text in `value`; Big (NUMERIC) prints itself.
    if ('value' in value) {
      const text = String((value as { value: unknown }).value);
      // The client reports TIMESTAMPs with nanoseconds; BigQuery stores microseconds.
      return type === 'TIMESTAMP' ? text.replace(/(\.\d{6})000Z$/, '$1Z') : text;
    }
    if (value.constructor?.name === 'Big') return String(value);
    return JSON.stringify(value);
  }
  return String(value);
}

function clip(text: string): string {
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
}
