// The local warehouse: a loopback HTTP server speaking the part of the BigQuery REST API (v2) that the official
// @google-cloud/bigquery client uses, with DuckDB as storage. BigQuery has no emulator; this is the warehouse of the
// local stack, the BigQuery fake of every test, and the backend of `query` locally.
//
// WHAT A CALLER MUST SET
//   process.env.BIGQUERY_EMULATOR_HOST = server.url;     // e.g. http://127.0.0.1:40123, BEFORE `new BigQuery()`:
//   const bigquery = new BigQuery({ projectId: 'any' }); // the client reads it in its constructor only
// - The client uses BIGQUERY_EMULATOR_HOST verbatim as its base URL (no /bigquery/v2); both forms are accepted.
// - projectId: pass it (or GOOGLE_CLOUD_PROJECT); any id works, the warehouse ignores it for storage (datasets are
//   shared across project ids) but echoes it in responses.
// - Auth: the client still asks google-auth-library for credentials before every request. It goes out
//   unauthenticated (fine: the server never checks Authorization) when there are none: no
//   GOOGLE_APPLICATION_CREDENTIALS, no gcloud ADC file, METADATA_SERVER_DETECTION=none (jest sets it). Two traps:
//   GOOGLE_APPLICATION_CREDENTIALS naming a missing file fails every request (ENOENT), and real ADC make the client
//   fetch a token from Google first. To be independent of the machine's credentials pass a no-op auth client:
//   `new BigQuery({ projectId, authClient: new PassThroughClient() })` (PassThroughClient from google-auth-library,
//   installed with the BigQuery client but not a direct dependency of this package).
// - Inserts: `table.insert(rows, { raw: true, partialRetries: 0, skipInvalidRows?, ignoreUnknownValues? })` with
//   rows `{ insertId, json }`. Per-row failures come back as insertErrors → the client's PartialFailureError, whose
//   .errors[i] = { row, errors: [{ reason: 'invalid' | 'stopped' | <injected>, message }] }.
// - Queries: `bigquery.query(sql | {query, params})` (jobs.query), `createQueryJob` + `job.getQueryResults`
//   (jobs.insert, jobs.get, jobs.getQueryResults, with pages), `table.getRows()` (tabledata.list). SQL runs on
//   DuckDB after the small BigQuery → DuckDB translation documented in sql.ts.
// - Dry runs: `createQueryJob({ query, dryRun: true })` (also jobs.query with dryRun). DuckDB binds the statement
//   without running it: unknown tables, columns and functions are refused as BigQuery refuses them (an HTTP 400
//   invalidQuery / 404 notFound), nothing changes, and the job resource carries statistics.query.schema with 0
//   bytes. BigQuery-only rules (its dialect, its types) are not checked: `cio-webhooks check-sql` on BigQuery is.
// - Tables: tables.insert (schema, timePartitioning, clustering, description, or `view: {query}`), get, list,
//   patch (add NULLABLE/REPEATED fields, description), delete. Datasets: insert, get, list, delete.
//
// Storage: dataDir omitted → in memory; otherwise `<dataDir>/warehouse.duckdb`, persistent across restarts. Only one
// server may open a data directory at a time (DuckDB locks the file); a second one fails with a clear message.
// insertId dedupe (on by default, like BigQuery's best-effort dedupe) remembers ids for the life of the server.
import http from 'node:http';
import zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ResultReturnType, type DuckDBValue } from '@duckdb/node-api';
import { Faults, type FaultSpec } from './faults';
import { toDuckParams } from './params';
import { encodeRows, resultSchema, type TimestampFormat } from './results';
import { WarehouseStore, type InsertRequestRow } from './store';
import { BqHttpError, errorBody, type BqResultField } from './types';

export interface WarehouseServerOptions {
  /** Folder for the DuckDB file; omitted = in memory. */
  dataDir?: string;
  /** Default: a free port. Always bound to 127.0.0.1. */
  port?: number;
  /** Store a repeated insertId once, like BigQuery (default true). false stores every row it is sent. */
  dedupeInsertIds?: boolean;
}

export interface WarehouseStats {
  /** insertAll requests received (including the ones a fault answered). */
  readonly insertAllRequests: number;
  /** Rows received in insertAll requests. */
  readonly rowsReceived: number;
  /** Rows actually written to storage. */
  readonly rowsStored: number;
  /** How many times an insertId was sent for a table (`table` is a table id or `dataset.table`). */
  receivedByInsertId(table: string, insertId: string): number;
}

export interface WarehouseServer {
  /** The value for BIGQUERY_EMULATOR_HOST. */
  readonly url: string;
  readonly port: number;
  /** DuckDB SQL straight against the store (no translation), for tests: rows as plain JS objects. */
  query(sql: string, params?: DuckDBValue[]): Promise<Record<string, unknown>[]>;
  readonly stats: WarehouseStats;
  readonly faults: Faults;
  close(): Promise<void>;
}

interface JobResult {
  projectId: string;
  jobId: string;
  sql: string;
  fields: BqResultField[];
  rows: DuckDBValue[][];
  dmlAffected?: number;
  error?: BqHttpError;
  created: number;
}

/** BigQuery's limits: 10 MB per request (400 above it; the front end answers 413 to far larger bodies). */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_ROWS_PER_REQUEST = 50_000;
/** Finished query jobs kept for getQueryResults/jobs.get; the oldest are forgotten first. */
const MAX_JOBS = 200;

class Counters implements WarehouseStats {
  insertAllRequests = 0;
  rowsReceived = 0;
  rowsStored = 0;
  /** insertId → `dataset.table` → times sent. */
  private readonly byInsertId = new Map<string, Map<string, number>>();

  record(dataset: string, table: string, rows: readonly InsertRequestRow[]): void {
    this.insertAllRequests++;
    this.rowsReceived += rows.length;
    for (const { insertId } of rows) {
      if (insertId === undefined) continue;
      const perTable = this.byInsertId.get(insertId) ?? new Map<string, number>();
      perTable.set(`${dataset}.${table}`, (perTable.get(`${dataset}.${table}`) ?? 0) + 1);
      this.byInsertId.set(insertId, perTable);
    }
  }

  receivedByInsertId(table: string, insertId: string): number {
    let total = 0;
    for (const [qualified, count] of this.byInsertId.get(insertId) ?? []) {
      if (qualified === table || qualified.slice(qualified.indexOf('.') + 1) === table) total += count;
    }
    return total;
  }
}

export async function startWarehouseServer(options: WarehouseServerOptions = {}): Promise<WarehouseServer> {
  const store = await WarehouseStore.open(options.dataDir);
  const dedupeInsertIds = options.dedupeInsertIds ?? true;
  const faults = new Faults();
  const stats = new Counters();
  const jobs = new Map<string, JobResult>();
  const pendingTimers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        pendingTimers.delete(t);
        resolve();
      }, ms);
      pendingTimers.add(t);
    });

  function remember(job: JobResult): void {
    jobs.set(job.jobId, job);
    if (jobs.size > MAX_JOBS) jobs.delete(jobs.keys().next().value!);
  }

  /** The SQL of a query configuration (jobs.query body or jobs.insert configuration.query), validated. */
  function queryInput(config: Record<string, unknown>): { sql: string; defaultDataset?: string } {
    const sql = config.query;
    if (typeof sql !== 'string' || sql.trim() === '')
      throw new BqHttpError(400, 'invalid', 'A SQL query string is required.');
    if (config.useLegacySql === true)
      throw new BqHttpError(400, 'invalid', 'Legacy SQL is not supported by the local warehouse.');
    const defaultDataset = (config.defaultDataset as { datasetId?: unknown } | undefined)?.datasetId;
    return { sql, defaultDataset: typeof defaultDataset === 'string' ? defaultDataset : undefined };
  }

  async function runQueryJob(
    projectId: string,
    jobId: string,
    config: Record<string, unknown>,
  ): Promise<JobResult> {
    const { sql, defaultDataset } = queryInput(config);
    const params = toDuckParams(config.queryParameters, config.parameterMode);
    const job: JobResult = { projectId, jobId, sql, fields: [], rows: [], created: Date.now() };
    try {
      await store.query(sql, params, defaultDataset, (reader) => {
        if (reader.returnType === ResultReturnType.CHANGED_ROWS) {
          job.dmlAffected = reader.rowsChanged;
        } else if (reader.returnType === ResultReturnType.QUERY_RESULT) {
          job.fields = resultSchema(reader);
          job.rows = reader.getRows();
        }
      });
    } catch (e) {
      if (!(e instanceof BqHttpError)) throw e;
      job.error = e;
    }
    remember(job);
    return job;
  }

  /**
   * A dry run (`dryRun: true`): the statement is bound, not run, and no job is kept. Like BigQuery, a statement it
   * refuses is an HTTP error (400 invalidQuery, 404 notFound); an accepted one has its schema and 0 bytes.
   */
  async function dryRun(config: Record<string, unknown>): Promise<BqResultField[]> {
    const { sql, defaultDataset } = queryInput(config);
    return store.dryRun(sql, defaultDataset, toDuckParams(config.queryParameters, config.parameterMode));
  }

  function page(
    job: JobResult,
    q: URLSearchParams,
    body: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const ts = timestampFormat(q, body.formatOptions);
    const start = Number(q.get('pageToken') ?? q.get('startIndex') ?? 0) || 0;
    const max = Number(q.get('maxResults') ?? body.maxResults ?? 0) || job.rows.length;
    const slice = job.rows.slice(start, start + max);
    const out: Record<string, unknown> = {
      jobReference: { projectId: job.projectId, jobId: job.jobId, location: 'US' },
      schema: { fields: job.fields },
      totalRows: String(job.rows.length),
      rows: encodeRows(slice, job.fields, ts),
      jobComplete: true,
      cacheHit: false,
      totalBytesProcessed: '0',
    };
    if (start + max < job.rows.length) out.pageToken = String(start + max);
    if (job.dmlAffected !== undefined) out.numDmlAffectedRows = String(job.dmlAffected);
    return out;
  }

  function jobResource(job: JobResult, configuration: unknown): Record<string, unknown> {
    const status: Record<string, unknown> = { state: 'DONE' };
    if (job.error) {
      const err = { reason: job.error.reason, location: 'query', message: job.error.message };
      status.errorResult = err;
      status.errors = [err];
    }
    const t = String(job.created);
    return {
      kind: 'bigquery#job',
      id: `${job.projectId}:US.${job.jobId}`,
      jobReference: { projectId: job.projectId, jobId: job.jobId, location: 'US' },
      configuration: configuration ?? { query: { query: job.sql, useLegacySql: false } },
      status,
      statistics: {
        creationTime: t,
        startTime: t,
        endTime: t,
        query: { totalBytesProcessed: '0', cacheHit: false },
      },
    };
  }

  function requireJob(jobId: string): JobResult {
    const job = jobs.get(jobId);
    if (!job) throw new BqHttpError(404, 'notFound', `Not found: Job ${jobId}`);
    return job;
  }

  /** Routes one request; returns the JSON to send, or undefined when a fault already dealt with the socket. */
  async function handle(req: http.IncomingMessage): Promise<[number, unknown] | undefined> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = url.pathname
      .replace(/^\/bigquery\/v2(?=\/)/, '')
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const route = classify(method, segments);
    if (!route) throw new BqHttpError(404, 'notFound', `Unknown API path: ${method} ${url.pathname}`);
    const { op, projectId, datasetId, tableId, jobId } = route;
    const body = method === 'POST' || method === 'PATCH' || method === 'PUT' ? await readJson(req) : {};

    let rows: InsertRequestRow[] = [];
    if (op === 'tabledata.insertAll') {
      rows = parseInsertRows(body);
      stats.record(datasetId!, tableId!, rows);
    }

    const fault = faults.take(op, datasetId, tableId);
    let commitThenReset = false;
    let injected: Map<number, string> | undefined;
    if (fault) {
      switch (fault.kind) {
        case 'status':
          return [
            fault.status,
            errorBody(
              fault.status,
              fault.reason ?? reasonFor(fault.status),
              fault.message ?? 'Injected fault',
            ),
          ];
        case 'hang':
          await sleep(fault.ms);
          break;
        case 'reset':
          if (!fault.commit) {
            req.socket.destroy();
            return undefined;
          }
          commitThenReset = true;
          break;
        case 'partial':
          injected = new Map();
          for (const [index, row] of rows.entries()) {
            if (!fault.rows || fault.rows(row.json, index)) injected.set(index, fault.reason);
          }
          break;
      }
    }

    const result = await dispatch(
      op,
      { projectId, datasetId, tableId, jobId },
      body,
      rows,
      url.searchParams,
      injected,
    );
    if (commitThenReset) {
      req.socket.destroy();
      return undefined;
    }
    return result;
  }

  async function dispatch(
    op: string,
    ids: { projectId: string; datasetId?: string; tableId?: string; jobId?: string },
    body: Record<string, unknown>,
    rows: InsertRequestRow[],
    q: URLSearchParams,
    injected: Map<number, string> | undefined,
  ): Promise<[number, unknown]> {
    const { projectId } = ids;
    const datasetId = ids.datasetId!;
    const tableId = ids.tableId!;
    switch (op) {
      case 'datasets.insert':
        return [200, await store.createDataset(projectId, body)];
      case 'datasets.get':
        return [200, await store.getDataset(projectId, datasetId)];
      case 'datasets.list': {
        const datasets = await store.listDatasets(projectId);
        return [200, { kind: 'bigquery#datasetList', datasets }];
      }
      case 'datasets.delete':
        await store.deleteDataset(projectId, datasetId, q.get('deleteContents') === 'true');
        return [204, undefined];
      case 'tables.insert':
        return [200, await store.createTable(projectId, datasetId, body)];
      case 'tables.get':
        return [200, await store.getTable(projectId, datasetId, tableId)];
      case 'tables.patch':
      case 'tables.update':
        return [200, await store.patchTable(projectId, datasetId, tableId, body)];
      case 'tables.list': {
        const tables = await store.listTables(projectId, datasetId);
        return [200, { kind: 'bigquery#tableList', tables, totalItems: tables.length }];
      }
      case 'tables.delete':
        await store.deleteTable(projectId, datasetId, tableId);
        return [204, undefined];
      case 'tabledata.insertAll': {
        const outcome = await store.insertAll(projectId, datasetId, tableId, rows, {
          skipInvalidRows: body.skipInvalidRows === true,
          ignoreUnknownValues: body.ignoreUnknownValues === true,
          dedupeInsertIds,
          injected,
        });
        stats.rowsStored += outcome.stored;
        const reply: Record<string, unknown> = { kind: 'bigquery#tableDataInsertAllResponse' };
        if (outcome.insertErrors.length > 0) reply.insertErrors = outcome.insertErrors;
        return [200, reply];
      }
      case 'tabledata.list': {
        await store.getTable(projectId, datasetId, tableId); // 404 for a missing table
        const job = await runQueryJob(projectId, `tabledata-${randomUUID()}`, {
          query: `SELECT * FROM \`${datasetId}.${tableId}\``,
        });
        jobs.delete(job.jobId);
        if (job.error) throw job.error;
        const { rows: encoded, totalRows, pageToken } = page(job, q);
        return [200, { kind: 'bigquery#tableDataList', totalRows, rows: encoded, pageToken }];
      }
      case 'jobs.query': {
        if (body.dryRun === true) {
          const fields = await dryRun(body);
          return [
            200,
            {
              kind: 'bigquery#queryResponse',
              jobReference: { projectId, location: 'US' },
              schema: { fields },
              totalBytesProcessed: '0',
              jobComplete: true,
              cacheHit: false,
            },
          ];
        }
        const job = await runQueryJob(projectId, `job_${randomUUID()}`, body);
        if (job.error) throw job.error;
        return [200, { kind: 'bigquery#queryResponse', ...page(job, q, body) }];
      }
      case 'jobs.insert': {
        const configuration = (body.configuration ?? {}) as Record<string, unknown>;
        const query = configuration.query as Record<string, unknown> | undefined;
        if (!query)
          throw new BqHttpError(400, 'invalid', 'Only query jobs are supported by the local warehouse.');
        if (query.destinationTable !== undefined)
          throw new BqHttpError(400, 'invalid', 'destinationTable is not supported by the local warehouse.');
        if (configuration.dryRun === true) {
          const fields = await dryRun(query);
          const now = String(Date.now());
          return [
            200,
            {
              kind: 'bigquery#job',
              jobReference: { projectId, location: 'US' },
              configuration,
              status: { state: 'DONE' },
              statistics: {
                creationTime: now,
                totalBytesProcessed: '0',
                query: {
                  totalBytesProcessed: '0',
                  totalBytesBilled: '0',
                  cacheHit: false,
                  schema: { fields },
                },
              },
            },
          ];
        }
        const ref = (body.jobReference ?? {}) as { jobId?: unknown };
        const jobIdValue = typeof ref.jobId === 'string' ? ref.jobId : `job_${randomUUID()}`;
        if (jobs.has(jobIdValue))
          throw new BqHttpError(409, 'duplicate', `Already Exists: Job ${projectId}:US.${jobIdValue}`);
        const job = await runQueryJob(projectId, jobIdValue, query);
        return [200, jobResource(job, configuration)];
      }
      case 'jobs.get':
      case 'jobs.cancel': {
        const job = requireJob(ids.jobId!);
        const resource = jobResource(job, undefined);
        return [200, op === 'jobs.cancel' ? { kind: 'bigquery#jobCancelResponse', job: resource } : resource];
      }
      case 'jobs.getQueryResults': {
        const job = requireJob(ids.jobId!);
        if (job.error) throw job.error;
        return [200, { kind: 'bigquery#getQueryResultsResponse', ...page(job, q) }];
      }
    }
    throw new BqHttpError(501, 'notImplemented', `${op} is not implemented by the local warehouse.`);
  }

  const server = http.createServer((req, res) => {
    handle(req).then(
      (result) => {
        if (!result) return;
        const [status, payload] = result;
        send(res, status, payload);
      },
      (e: unknown) => {
        if (e instanceof BqHttpError) {
          send(res, e.status, errorBody(e.status, e.reason, e.message));
        } else {
          const message = e instanceof Error ? e.message : String(e);
          process.stderr.write(`[warehouse] internal error: ${e instanceof Error ? e.stack : message}\n`);
          send(res, 500, errorBody(500, 'internalError', message));
        }
      },
    );
  });
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    query: (sql, params) => store.duckdb(sql, params),
    stats,
    faults,
    close() {
      closed ??= (async () => {
        for (const t of pendingTimers) clearTimeout(t);
        pendingTimers.clear();
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await done;
        await store.close();
      })();
      return closed;
    },
  };
}

interface Route {
  op: string;
  projectId: string;
  datasetId?: string;
  tableId?: string;
  jobId?: string;
}

function classify(method: string, s: string[]): Route | undefined {
  if (s[0] !== 'projects' || s.length < 3) return undefined;
  const projectId = s[1]!;
  const verbs: Record<string, string> = { GET: 'get', DELETE: 'delete', PATCH: 'patch', PUT: 'update' };
  if (s[2] === 'datasets') {
    const datasetId = s[3];
    if (s.length === 3) return { op: method === 'POST' ? 'datasets.insert' : 'datasets.list', projectId };
    if (s.length === 4 && verbs[method]) return { op: `datasets.${verbs[method]}`, projectId, datasetId };
    if (s[4] !== 'tables') return undefined;
    if (s.length === 5)
      return { op: method === 'POST' ? 'tables.insert' : 'tables.list', projectId, datasetId };
    const tableId = s[5];
    if (s.length === 6 && verbs[method])
      return { op: `tables.${verbs[method]}`, projectId, datasetId, tableId };
    if (s.length === 7 && s[6] === 'insertAll' && method === 'POST')
      return { op: 'tabledata.insertAll', projectId, datasetId, tableId };
    if (s.length === 7 && s[6] === 'data' && method === 'GET')
      return { op: 'tabledata.list', projectId, datasetId, tableId };
    return undefined;
  }
  if (s[2] === 'queries') {
    if (s.length === 3 && method === 'POST') return { op: 'jobs.query', projectId };
    if (s.length === 4 && method === 'GET') return { op: 'jobs.getQueryResults', projectId, jobId: s[3] };
    return undefined;
  }
  if (s[2] === 'jobs') {
    if (s.length === 3 && method === 'POST') return { op: 'jobs.insert', projectId };
    if (s.length === 4 && method === 'GET') return { op: 'jobs.get', projectId, jobId: s[3] };
    if (s.length === 5 && s[4] === 'cancel' && method === 'POST')
      return { op: 'jobs.cancel', projectId, jobId: s[3] };
  }
  return undefined;
}

function parseInsertRows(body: Record<string, unknown>): InsertRequestRow[] {
  if (!Array.isArray(body.rows) || body.rows.length === 0)
    throw new BqHttpError(400, 'invalid', 'No rows present in the request.');
  if (body.rows.length > MAX_ROWS_PER_REQUEST)
    throw new BqHttpError(
      400,
      'invalid',
      `too many rows present in the request, limit: ${MAX_ROWS_PER_REQUEST} row count: ${body.rows.length}.`,
    );
  return body.rows.map((r: unknown) => {
    const row = (r ?? {}) as { insertId?: unknown; json?: unknown };
    return { insertId: typeof row.insertId === 'string' ? row.insertId : undefined, json: row.json };
  });
}

function timestampFormat(q: URLSearchParams, bodyFormat: unknown): TimestampFormat {
  const fo = (bodyFormat ?? {}) as { useInt64Timestamp?: unknown; timestampOutputFormat?: unknown };
  const output = q.get('formatOptions.timestampOutputFormat') ?? fo.timestampOutputFormat;
  const int64 = q.get('formatOptions.useInt64Timestamp') ?? fo.useInt64Timestamp;
  if (output === 'ISO8601_STRING') return 'iso';
  if (output === 'INT64' || int64 === true || int64 === 'true') return 'int64';
  return 'float';
}

function reasonFor(status: number): string {
  if (status === 429) return 'rateLimitExceeded';
  if (status === 403) return 'quotaExceeded';
  if (status === 404) return 'notFound';
  if (status === 409) return 'duplicate';
  if (status >= 500) return status === 500 ? 'internalError' : 'backendError';
  return 'invalid';
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BqHttpError(413, 'invalid', 'Request body too large.');
    chunks.push(chunk);
  }
  let raw = Buffer.concat(chunks);
  if (req.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
  if (raw.length > MAX_REQUEST_BYTES)
    throw new BqHttpError(
      400,
      'badRequest',
      `Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`,
    );
  if (raw.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new BqHttpError(400, 'parseError', 'Request body is not a JSON object.');
    return parsed as Record<string, unknown>;
  } catch (e) {
    if (e instanceof BqHttpError) throw e;
    throw new BqHttpError(400, 'parseError', 'Request body is not valid JSON.');
  }
}

function send(res: http.ServerResponse, status: number, payload: unknown): void {
  if (res.headersSent || res.destroyed) return;
  if (payload === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(text);
}

export type { FaultSpec };
