// An embedded DuckDB holding the events table (EVENTS_TABLE, with the local warehouse's column types) and the
// analytics views, for view and report tests that need no HTTP server. Rows come from Customer.io event bodies
// through the processor's own parsing and row mapping, so the views are tested on the rows production writes.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBTimestampTZValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { parseEvent } from '../../shared/customerio/event';
import { toEventRow, type EventRow } from '../../shared/warehouse/row';
import { renderViews } from '../../shared/warehouse/views';
import { EVENTS_TABLE } from '../../shared/warehouse/schema';
import { duckdbColumnType } from '../../scripts/local/warehouse/types';
import type { Row, WarehouseSource } from '../../scripts/cli/report/source';

export interface DuckWarehouse {
  insert(rows: readonly EventRow[]): Promise<void>;
  /** Rows with plain values: BIGINT → number, DATE → 'YYYY-MM-DD', TIMESTAMP → ISO-8601 string. */
  query(sql: string): Promise<Row[]>;
  /** The same database as a report source (views referenced by their bare names). */
  source: WarehouseSource;
  close(): void;
}

export async function openDuckWarehouse(): Promise<DuckWarehouse> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  // DATE(timestamp) must mean the UTC date, as in BigQuery.
  await conn.run(`SET TimeZone = 'UTC'`);
  const columns = EVENTS_TABLE.fields.map(
    (f) => `${f.name} ${duckdbColumnType(f)}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}`,
  );
  await conn.run(`CREATE TABLE events (${columns.join(', ')})`);
  for (const view of renderViews((id) => id)) await conn.run(`CREATE VIEW ${view.name} AS ${view.sql}`);

  const query = async (sql: string): Promise<Row[]> => {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjects().map((row) => {
      const out: Row = {};
      for (const [key, value] of Object.entries(row)) out[key] = plain(value);
      return out;
    });
  };

  const insert = async (rows: readonly EventRow[]): Promise<void> => {
    if (rows.length === 0) return;
    // One bulk read of newline-delimited JSON: thousands of rows in one statement.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'duck-rows-'));
    try {
      const file = path.join(dir, 'rows.ndjson');
      writeFileSync(
        file,
        rows.map((r) => JSON.stringify({ ...r, data: JSON.parse(r.data) as unknown })).join('\n'),
      );
      const types = EVENTS_TABLE.fields.map((f) => `${f.name}: '${duckdbColumnType(f)}'`).join(', ');
      await conn.run(
        `INSERT INTO events BY NAME SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${types}})`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  return {
    insert,
    query,
    source: { label: 'DuckDB (test)', table: (id) => id, query },
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

function plain(value: DuckDBValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof DuckDBTimestampTZValue) return new Date(Number(value.micros / 1000n)).toISOString();
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBListValue) return value.items.map(plain);
  return value;
}

/** A Customer.io event body (as Customer.io would post it) → its warehouse row, via the processor's mapping. */
export function rowFromBody(
  body: object,
  receivedAt?: string,
  actions: string[] = [],
  workspace = 'default',
): EventRow {
  const parsed = parseEvent(Buffer.from(JSON.stringify(body)));
  if (!parsed.ok) throw new Error(`test event is not valid: ${parsed.detail}`);
  const ts = parsed.event.timestamp;
  const received = receivedAt ?? new Date(((ts ?? 0) + 5) * 1000).toISOString();
  return toEventRow(parsed.event, { workspace, receivedAt: received }, actions);
}

/** test/fixtures/events/*.json as rows, each received 5 s after it happened. */
export function fixtureRows(): EventRow[] {
  const dir = path.join(__dirname, '..', 'fixtures', 'events');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => rowFromBody(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as object));
}
