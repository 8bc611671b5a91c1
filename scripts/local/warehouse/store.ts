// DuckDB storage behind the local warehouse: datasets are DuckDB schemas, tables are DuckDB tables, and the BigQuery
// metadata (schema, partitioning, clustering, description) is kept beside them in the `_warehouse` schema so
// tables.get answers like BigQuery, also after a restart.
import fs from 'node:fs';
import path from 'node:path';
import {
  DuckDBInstance,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBResultReader,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { DuckParams } from './params';
import { convertRow } from './rows';
import { translateSql } from './sql';
import { resultSchema } from './results';
import {
  BqHttpError,
  duckdbColumnType,
  parseSchema,
  quoteIdent,
  type BqField,
  type BqResultField,
  type DatasetMetadata,
  type InsertErrors,
  type TableMetadata,
} from './types';

const META = '_warehouse';
const LOCATION = 'US';

/** Paths opened by this process: DuckDB's own file lock only guards against other processes. */
const openFiles = new Set<string>();

export interface InsertRequestRow {
  insertId?: string;
  json: unknown;
}

export interface InsertOptions {
  skipInvalidRows: boolean;
  ignoreUnknownValues: boolean;
  dedupeInsertIds: boolean;
  /** Row index → reason, for injected faults: these rows fail as if BigQuery had rejected them. */
  injected?: ReadonlyMap<number, string>;
}

export interface InsertOutcome {
  insertErrors: InsertErrors[];
  stored: number;
}

export class WarehouseStore {
  /** DuckDB work runs one operation at a time: an insertAll or a query is never interleaved with another. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly tables = new Map<string, TableMetadata>();
  private readonly seenInsertIds = new Map<string, Set<string>>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly file: string | undefined,
  ) {}

  /** dataDir omitted: in memory. Otherwise `<dataDir>/warehouse.duckdb`, which one server at a time may open. */
  static async open(dataDir?: string): Promise<WarehouseStore> {
    let file: string | undefined;
    if (dataDir !== undefined) {
      fs.mkdirSync(dataDir, { recursive: true });
      file = path.resolve(dataDir, 'warehouse.duckdb');
      if (openFiles.has(file)) throw lockedError(file, 'this process');
    }
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file ?? ':memory:');
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (file && /lock/i.test(message)) throw lockedError(file, message);
      throw e;
    }
    const conn = await instance.connect();
    // TIMESTAMP → DATE and friends must use UTC, as in BigQuery.
    await conn.run(`SET TimeZone = 'UTC'`);
    // BigQuery's function for reading parked raw bodies (README, Operations). Invalid UTF-8 gives NULL here, where
    // BigQuery substitutes U+FFFD. A temporary macro: it is not written into the data file.
    await conn.run(`CREATE OR REPLACE TEMP MACRO safe_convert_bytes_to_string(b) AS try(decode(b))`);
    await conn.run(`CREATE SCHEMA IF NOT EXISTS ${META};
      CREATE TABLE IF NOT EXISTS ${META}.datasets (id VARCHAR PRIMARY KEY, metadata JSON NOT NULL);
      CREATE TABLE IF NOT EXISTS ${META}.tables (dataset VARCHAR, id VARCHAR, metadata JSON NOT NULL,
        PRIMARY KEY (dataset, id));`);
    if (file) openFiles.add(file);
    return new WarehouseStore(instance, conn, file);
  }

  /** Waits for the operation in progress, then closes DuckDB (flushing a file-backed store to disk). */
  async close(): Promise<void> {
    await this.queue;
    this.conn.closeSync();
    this.instance.closeSync();
    if (this.file) openFiles.delete(this.file);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- datasets

  createDataset(projectId: string, body: Record<string, unknown>): Promise<DatasetMetadata> {
    return this.exclusive(async () => {
      const datasetId = String(
        (body.datasetReference as { datasetId?: unknown } | undefined)?.datasetId ?? '',
      );
      if (!/^[A-Za-z0-9_]{1,1024}$/.test(datasetId) || datasetId === META)
        throw new BqHttpError(400, 'invalid', `Invalid dataset ID "${datasetId}".`);
      if (await this.readDataset(datasetId))
        throw new BqHttpError(409, 'duplicate', `Already Exists: Dataset ${projectId}:${datasetId}`);
      const now = String(Date.now());
      const meta: DatasetMetadata = {
        kind: 'bigquery#dataset',
        id: `${projectId}:${datasetId}`,
        etag: now,
        datasetReference: { projectId, datasetId },
        location: typeof body.location === 'string' ? body.location : LOCATION,
        creationTime: now,
        lastModifiedTime: now,
        ...pickStrings(body, ['description', 'friendlyName']),
        ...(isStringRecord(body.labels) ? { labels: body.labels } : {}),
      };
      await this.conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(datasetId)}`);
      await this.conn.run(`INSERT INTO ${META}.datasets VALUES ($1, $2)`, [datasetId, JSON.stringify(meta)]);
      return meta;
    });
  }

  getDataset(projectId: string, datasetId: string): Promise<DatasetMetadata> {
    return this.exclusive(async () =>
      withProject(await this.requireDataset(projectId, datasetId), projectId),
    );
  }

  listDatasets(projectId: string): Promise<DatasetMetadata[]> {
    return this.exclusive(async () => {
      const r = await this.conn.runAndReadAll(`SELECT metadata FROM ${META}.datasets ORDER BY id`);
      return r.getRows().map(([m]) => withProject(JSON.parse(String(m)) as DatasetMetadata, projectId));
    });
  }

  deleteDataset(projectId: string, datasetId: string, deleteContents: boolean): Promise<void> {
    return this.exclusive(async () => {
      await this.requireDataset(projectId, datasetId);
      const r = await this.conn.runAndReadAll(`SELECT count(*) FROM ${META}.tables WHERE dataset = $1`, [
        datasetId,
      ]);
      if (Number(r.getRows()[0]![0]) > 0 && !deleteContents)
        throw new BqHttpError(400, 'resourceInUse', `Dataset ${projectId}:${datasetId} is still in use`);
      await this.conn.run(`DROP SCHEMA ${quoteIdent(datasetId)} CASCADE`);
      await this.conn.run(`DELETE FROM ${META}.tables WHERE dataset = $1`, [datasetId]);
      await this.conn.run(`DELETE FROM ${META}.datasets WHERE id = $1`, [datasetId]);
      for (const key of [...this.tables.keys()]) if (key.startsWith(`${datasetId}.`)) this.forget(key);
    });
  }

  // ---- tables

  createTable(projectId: string, datasetId: string, body: Record<string, unknown>): Promise<TableMetadata> {
    return this.exclusive(async () => {
      await this.requireDataset(projectId, datasetId);
      const tableId = String((body.tableReference as { tableId?: unknown } | undefined)?.tableId ?? '');
      if (!/^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}$/u.test(tableId))
        throw new BqHttpError(400, 'invalid', `Invalid table ID "${tableId}".`);
      if (await this.readTable(datasetId, tableId))
        throw new BqHttpError(409, 'duplicate', `Already Exists: Table ${projectId}:${datasetId}.${tableId}`);
      const now = String(Date.now());
      const view = body.view as { query?: unknown } | undefined;
      const target = `${quoteIdent(datasetId)}.${quoteIdent(tableId)}`;
      const meta: TableMetadata = {
        kind: 'bigquery#table',
        id: `${projectId}:${datasetId}.${tableId}`,
        etag: now,
        tableReference: { projectId, datasetId, tableId },
        type: view ? 'VIEW' : 'TABLE',
        creationTime: now,
        lastModifiedTime: now,
        location: LOCATION,
        ...pickStrings(body, ['description', 'friendlyName']),
        ...(isStringRecord(body.labels) ? { labels: body.labels } : {}),
      };
      if (view) {
        if (typeof view.query !== 'string')
          throw new BqHttpError(400, 'invalid', 'View definition has no query.');
        meta.view = { query: view.query, useLegacySql: false };
        await this.runOrInvalid(`CREATE VIEW ${target} AS ${translateSql(view.query)}`);
        const r = await this.conn.runAndReadAll(`SELECT * FROM ${target} LIMIT 0`);
        meta.schema = { fields: resultSchema(r) };
      } else {
        const fields = parseSchema(body.schema);
        meta.schema = { fields };
        Object.assign(meta, partitioningOf(body, fields));
        const columns = fields.map((f) => `${quoteIdent(f.name)} ${duckdbColumnType(f)}`);
        await this.conn.run(`CREATE TABLE ${target} (${columns.join(', ')})`);
      }
      await this.conn.run(`INSERT INTO ${META}.tables VALUES ($1, $2, $3)`, [
        datasetId,
        tableId,
        JSON.stringify(meta),
      ]);
      this.tables.set(`${datasetId}.${tableId}`, meta);
      return meta;
    });
  }

  getTable(projectId: string, datasetId: string, tableId: string): Promise<TableMetadata> {
    return this.exclusive(async () => {
      const meta = await this.requireTable(projectId, datasetId, tableId);
      const out = withProject(meta, projectId);
      if (meta.type === 'TABLE') {
        const r = await this.conn.runAndReadAll(
          `SELECT count(*) FROM ${quoteIdent(datasetId)}.${quoteIdent(tableId)}`,
        );
        out.numRows = String(r.getRows()[0]![0]);
        out.numBytes = '0';
      }
      return out;
    });
  }

  /**
   * tables.patch / tables.update: description, friendlyName, labels, and schema changes BigQuery allows (new
   * NULLABLE or REPEATED fields at the end, REQUIRED relaxed to NULLABLE).
   */
  patchTable(
    projectId: string,
    datasetId: string,
    tableId: string,
    body: Record<string, unknown>,
  ): Promise<TableMetadata> {
    return this.exclusive(async () => {
      const meta = structuredClone(await this.requireTable(projectId, datasetId, tableId));
      Object.assign(meta, pickStrings(body, ['description', 'friendlyName']));
      if (isStringRecord(body.labels)) meta.labels = body.labels;
      if (body.schema !== undefined && meta.type === 'TABLE') {
        const before = (meta.schema?.fields ?? []) as BqField[];
        const after = parseSchema(body.schema);
        before.forEach((old, i) => {
          const now = after[i];
          const relaxed = old.mode === 'REQUIRED' && now?.mode === 'NULLABLE';
          if (!now || now.name !== old.name || now.type !== old.type || (now.mode !== old.mode && !relaxed))
            throw new BqHttpError(
              400,
              'invalid',
              `Provided Schema does not match Table ${projectId}:${datasetId}.${tableId}. Field ${old.name} ` +
                'has changed or is missing.',
            );
        });
        const added = after.slice(before.length);
        const required = added.find((f) => f.mode === 'REQUIRED');
        if (required)
          throw new BqHttpError(
            400,
            'invalid',
            `Cannot add required field ${required.name} to an existing schema.`,
          );
        for (const f of added)
          await this.conn.run(
            `ALTER TABLE ${quoteIdent(datasetId)}.${quoteIdent(tableId)} ADD COLUMN ${quoteIdent(f.name)} ${duckdbColumnType(f)}`,
          );
        meta.schema = { fields: after };
      }
      meta.lastModifiedTime = String(Date.now());
      meta.etag = meta.lastModifiedTime;
      await this.conn.run(`UPDATE ${META}.tables SET metadata = $3 WHERE dataset = $1 AND id = $2`, [
        datasetId,
        tableId,
        JSON.stringify(meta),
      ]);
      this.tables.set(`${datasetId}.${tableId}`, meta);
      return withProject(meta, projectId);
    });
  }

  listTables(projectId: string, datasetId: string): Promise<TableMetadata[]> {
    return this.exclusive(async () => {
      await this.requireDataset(projectId, datasetId);
      const r = await this.conn.runAndReadAll(
        `SELECT metadata FROM ${META}.tables WHERE dataset = $1 ORDER BY id`,
        [datasetId],
      );
      return r.getRows().map(([m]) => withProject(JSON.parse(String(m)) as TableMetadata, projectId));
    });
  }

  deleteTable(projectId: string, datasetId: string, tableId: string): Promise<void> {
    return this.exclusive(async () => {
      const meta = await this.requireTable(projectId, datasetId, tableId);
      const kind = meta.type === 'VIEW' ? 'VIEW' : 'TABLE';
      await this.conn.run(`DROP ${kind} ${quoteIdent(datasetId)}.${quoteIdent(tableId)}`);
      await this.conn.run(`DELETE FROM ${META}.tables WHERE dataset = $1 AND id = $2`, [datasetId, tableId]);
      this.forget(`${datasetId}.${tableId}`);
    });
  }

  // ---- data

  insertAll(
    projectId: string,
    datasetId: string,
    tableId: string,
    rows: readonly InsertRequestRow[],
    opts: InsertOptions,
  ): Promise<InsertOutcome> {
    return this.exclusive(async () => {
      const meta = await this.requireTable(projectId, datasetId, tableId);
      if (meta.type !== 'TABLE' || !meta.schema)
        throw new BqHttpError(400, 'invalid', `Cannot insert into view ${meta.id}.`);
      const fields = meta.schema.fields as BqField[];
      const key = `${datasetId}.${tableId}`;
      const seen = this.seenInsertIds.get(key) ?? new Set<string>();
      const batchIds = new Set<string>();
      const accepted: { index: number; values: DuckDBValue[]; insertId?: string }[] = [];
      const failed = new Map<number, InsertErrors>();
      rows.forEach((row, index) => {
        const injected = opts.injected?.get(index);
        if (injected !== undefined) {
          failed.set(index, {
            index,
            errors: [{ reason: injected, location: '', debugInfo: '', message: '' }],
          });
          return;
        }
        const result = convertRow(fields, row.json, opts.ignoreUnknownValues);
        if (!result.ok) {
          failed.set(index, { index, errors: [result.error] });
          return;
        }
        const id = row.insertId;
        // Best-effort dedupe like BigQuery's: a repeated insertId is reported as inserted but stored once.
        if (opts.dedupeInsertIds && id !== undefined && id !== '') {
          if (seen.has(id) || batchIds.has(id)) return;
          batchIds.add(id);
        }
        accepted.push({ index, values: result.values, insertId: id });
      });
      if (failed.size > 0 && !opts.skipInvalidRows) {
        // BigQuery inserts nothing and marks every other row 'stopped'.
        const insertErrors = rows.map(
          (_, index): InsertErrors =>
            failed.get(index) ?? {
              index,
              errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }],
            },
        );
        return { insertErrors, stored: 0 };
      }
      if (accepted.length > 0) {
        const appender = await this.conn.createAppender(tableId, datasetId);
        try {
          // Each columnType() call builds a logical type in the native binding: read them once per request.
          const types = Array.from({ length: appender.columnCount }, (_, col) => appender.columnType(col));
          for (const row of accepted) {
            row.values.forEach((value, col) => appender.appendValue(value, types[col]));
            appender.endRow();
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      }
      if (opts.dedupeInsertIds) {
        for (const id of batchIds) seen.add(id);
        this.seenInsertIds.set(key, seen);
      }
      return { insertErrors: [...failed.values()], stored: accepted.length };
    });
  }

  /**
   * Runs BigQuery-dialect SQL (see sql.ts) and hands the reader to `read` while DuckDB is still exclusively ours.
   * defaultDataset: where unqualified table names resolve (BigQuery's defaultDataset).
   */
  query<T>(
    sql: string,
    params: DuckParams | undefined,
    defaultDataset: string | undefined,
    read: (reader: DuckDBResultReader) => T,
  ): Promise<T> {
    return this.exclusive(() =>
      this.inDataset(defaultDataset, async () => read(await this.runOrInvalid(translateSql(sql), params))),
    );
  }

  /**
   * A dry run: binds BigQuery-dialect SQL without running it (DuckDB prepares the statement), so it fails where a
   * run would fail on names and types, and changes nothing. Returns the result's schema. Like BigQuery, a parameter
   * the statement uses must be declared; a statement with parameters is run with them under LIMIT 0, since DuckDB
   * types its columns only once their values are bound.
   */
  dryRun(sql: string, defaultDataset: string | undefined, params?: DuckParams): Promise<BqResultField[]> {
    return this.exclusive(() =>
      this.inDataset(defaultDataset, async () => {
        const translated = translateSql(sql);
        let prepared: DuckDBPreparedStatement;
        try {
          prepared = await this.conn.prepare(translated);
        } catch (e) {
          throw invalidQuery(e);
        }
        try {
          if (prepared.parameterCount === 0) return resultSchema(prepared);
          const values = params?.values ?? {};
          for (let i = 1; i <= prepared.parameterCount; i++) {
            const name = prepared.parameterName(i);
            const declared = Array.isArray(values) ? i <= values.length : name in values;
            if (!declared) throw new BqHttpError(400, 'invalidQuery', `Query parameter '${name}' not found`);
          }
        } finally {
          prepared.destroySync();
        }
        const reader = await this.runOrInvalid(`SELECT * FROM (${translated}) AS dry_run LIMIT 0`, params);
        return resultSchema(reader);
      }),
    );
  }

  /** Plain DuckDB SQL, no translation: for tests and tooling that inspect the store directly. */
  duckdb(sql: string, params?: DuckDBValue[]): Promise<Record<string, unknown>[]> {
    return this.exclusive(async () => {
      const r = await this.conn.runAndReadAll(sql, params);
      return r.getRowObjectsJS() as Record<string, unknown>[];
    });
  }

  // ---- internals

  private async runOrInvalid(sql: string, params?: DuckParams): Promise<DuckDBResultReader> {
    try {
      return await this.conn.runAndReadAll(sql, params?.values, params?.types);
    } catch (e) {
      throw invalidQuery(e);
    }
  }

  private async inDataset<T>(defaultDataset: string | undefined, work: () => Promise<T>): Promise<T> {
    if (defaultDataset === undefined) return work();
    await this.conn.run(`SET search_path = '${defaultDataset.replaceAll("'", "''")},main'`);
    try {
      return await work();
    } finally {
      await this.conn.run('RESET search_path');
    }
  }

  private forget(key: string): void {
    this.tables.delete(key);
    this.seenInsertIds.delete(key);
  }

  private async readDataset(datasetId: string): Promise<DatasetMetadata | undefined> {
    const r = await this.conn.runAndReadAll(`SELECT metadata FROM ${META}.datasets WHERE id = $1`, [
      datasetId,
    ]);
    const row = r.getRows()[0];
    return row ? (JSON.parse(String(row[0])) as DatasetMetadata) : undefined;
  }

  private async requireDataset(projectId: string, datasetId: string): Promise<DatasetMetadata> {
    const meta = await this.readDataset(datasetId);
    if (!meta) throw new BqHttpError(404, 'notFound', `Not found: Dataset ${projectId}:${datasetId}`);
    return meta;
  }

  private async readTable(datasetId: string, tableId: string): Promise<TableMetadata | undefined> {
    const key = `${datasetId}.${tableId}`;
    const cached = this.tables.get(key);
    if (cached) return cached;
    const r = await this.conn.runAndReadAll(
      `SELECT metadata FROM ${META}.tables WHERE dataset = $1 AND id = $2`,
      [datasetId, tableId],
    );
    const row = r.getRows()[0];
    if (!row) return undefined;
    const meta = JSON.parse(String(row[0])) as TableMetadata;
    this.tables.set(key, meta);
    return meta;
  }

  private async requireTable(projectId: string, datasetId: string, tableId: string): Promise<TableMetadata> {
    await this.requireDataset(projectId, datasetId);
    const meta = await this.readTable(datasetId, tableId);
    if (!meta)
      throw new BqHttpError(404, 'notFound', `Not found: Table ${projectId}:${datasetId}.${tableId}`);
    return meta;
  }
}

/** A DuckDB error about the SQL, as BigQuery answers it: 404 for a missing table or dataset, else invalidQuery. */
function invalidQuery(e: unknown): BqHttpError {
  const message = e instanceof Error ? e.message : String(e);
  const notFound = /Catalog Error: (Table|Schema) with name .* does not exist/.test(message);
  return new BqHttpError(notFound ? 404 : 400, notFound ? 'notFound' : 'invalidQuery', message);
}

function lockedError(file: string, detail: string): Error {
  return new Error(
    `The local warehouse file ${file} is already open (${detail}). Only one warehouse server may use a data ` +
      'directory at a time: stop the other one (e.g. another `npm start`) or choose another directory.',
  );
}

function withProject<T extends DatasetMetadata | TableMetadata>(meta: T, projectId: string): T {
  const copy = structuredClone(meta);
  if (copy.kind === 'bigquery#dataset') {
    copy.datasetReference.projectId = projectId;
    copy.id = `${projectId}:${copy.datasetReference.datasetId}`;
  } else {
    const ref = copy.tableReference;
    ref.projectId = projectId;
    copy.id = `${projectId}:${ref.datasetId}.${ref.tableId}`;
  }
  return copy;
}

function partitioningOf(body: Record<string, unknown>, fields: BqField[]): Partial<TableMetadata> {
  const out: Partial<TableMetadata> = {};
  const tp = body.timePartitioning as { type?: unknown; field?: unknown; expirationMs?: unknown } | undefined;
  if (tp) {
    const type = String(tp.type ?? 'DAY').toUpperCase();
    if (!['HOUR', 'DAY', 'MONTH', 'YEAR'].includes(type))
      throw new BqHttpError(400, 'invalid', `Invalid time partitioning type ${type}.`);
    if (tp.field !== undefined) {
      const f = fields.find((x) => x.name === tp.field);
      if (!f || !['TIMESTAMP', 'DATE'].includes(f.type) || f.mode === 'REPEATED')
        throw new BqHttpError(
          400,
          'invalid',
          `The field specified for time partitioning can only be of type TIMESTAMP, DATE or DATETIME: ${String(tp.field)}`,
        );
    }
    out.timePartitioning = {
      type,
      ...(typeof tp.field === 'string' ? { field: tp.field } : {}),
      ...(tp.expirationMs !== undefined ? { expirationMs: String(tp.expirationMs) } : {}),
    };
  }
  const cl = (body.clustering as { fields?: unknown } | undefined)?.fields;
  if (cl !== undefined) {
    if (!Array.isArray(cl) || cl.length === 0 || cl.length > 4)
      throw new BqHttpError(400, 'invalid', 'Clustering takes 1 to 4 fields.');
    for (const name of cl) {
      if (!fields.some((f) => f.name === name && f.mode !== 'REPEATED' && f.type !== 'JSON'))
        throw new BqHttpError(
          400,
          'invalid',
          `The field specified for clustering cannot be found: ${String(name)}`,
        );
    }
    out.clustering = { fields: cl.map(String) };
  }
  return out;
}

function pickStrings(body: Record<string, unknown>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (typeof body[k] === 'string') out[k] = body[k];
  return out;
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string');
}
