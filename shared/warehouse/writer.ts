// Streams rows into one BigQuery table (insertAll, insertId = the row's id) and shares requests between the
// concurrent invocations of an instance: each invocation awaits the outcome of its own row.
//
// Batching: an invocation announces itself with `expect()` when it starts (before its ledger claim), so the writer
// knows how many rows are still on their way. A batch is sent as soon as every expected row has arrived (a lone
// event waits for nobody), or when its first row has waited `maxWaitMs`, or at `maxRows` rows / `maxBytes` of
// JSON (BigQuery's request limit is 10 MB; a row that alone exceeds the budget is sent alone).
//
// Outcomes per row, from the insertAll response (PartialFailureError.errors, whose message may be empty):
//   no error                → inserted
//   reason `invalid`        → invalid: permanent for that row (the caller parks the event as row_invalid)
//   any other reason (`stopped` = valid row in a request refused because of another row, `backendError`,
//   `timeout`, `internalError`, ...) → retried
// Whole-request failures: 400/413 for a one-row request → invalid; for a larger request each row is retried in a
// request of its own (finds the culprit); anything else (5xx, 429, 403, 404, network, timeout) → retried.
// Retries: up to `maxAttempts` sends per row, with backoff, inside the caller's deadline; then RetryableError (the
// message is nacked). The client's own autoRetry is off (see createBigQueryClient): its backoff ignores deadlines.

import { BigQuery, type BigQueryOptions, type Table } from '@google-cloud/bigquery';
import { DeadlineExceededError, RetryableError, errorMessage, withDeadline } from '../errors';

export type InsertOutcome = { kind: 'inserted' } | { kind: 'invalid'; message: string };

/** `detail`: the HTTP code or the row error reason, part of the failure's classification (`warehouse:<detail>`). */
type Attempt = InsertOutcome | { kind: 'retry'; detail: string; message: string } | { kind: 'alone' };

export interface BatchOptions {
  maxWaitMs: number;
  maxRows: number;
  maxBytes: number;
  maxAttempts: number;
}

export const DEFAULT_BATCH: BatchOptions = {
  maxWaitMs: 250,
  maxRows: 500,
  maxBytes: 8 * 1024 * 1024,
  maxAttempts: 3,
};

interface Pending {
  row: { insertId: string; json: object };
  bytes: number;
  settle: (attempt: Attempt) => void;
}

/** An invocation on its way to the writer: insert its row once, or cancel (it will not come). */
export interface Expectation {
  insert(insertId: string, json: object, deadlineAt: number): Promise<InsertOutcome>;
  cancel(): void;
}

interface PartialFailure {
  errors: Array<{ row: unknown; errors: Array<{ reason?: string; message?: string }> }>;
}

function isPartialFailure(err: unknown): err is PartialFailure {
  return (
    err instanceof Error &&
    err.name === 'PartialFailureError' &&
    Array.isArray((err as { errors?: unknown }).errors)
  );
}

export class WarehouseWriter {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private readonly options: BatchOptions;

  constructor(
    private readonly table: Table,
    options: Partial<BatchOptions> = {},
  ) {
    this.options = { ...DEFAULT_BATCH, ...options };
  }

  expect(): Expectation {
    this.expected += 1;
    let open = true;
    const arrive = () => {
      if (open) {
        open = false;
        this.expected -= 1;
      }
    };
    return {
      insert: (insertId, json, deadlineAt) => {
        arrive();
        return this.insert(insertId, json, deadlineAt);
      },
      cancel: () => {
        arrive();
        // The batch may have been waiting only for this invocation.
        if (this.queue.length > 0 && this.expected === 0) this.flush();
      },
    };
  }

  /** Inserts one row (deduplicated by insertId); throws RetryableError when it could not be stored in time. */
  async insert(insertId: string, json: object, deadlineAt: number): Promise<InsertOutcome> {
    const row = { insertId, json };
    const bytes = Buffer.byteLength(JSON.stringify(row)) + 16;
    let alone = false;
    for (let attempt = 1; ; attempt += 1) {
      const result = await withDeadline(this.send(row, bytes, alone), deadlineAt, 'warehouse insert');
      if (result.kind === 'inserted' || result.kind === 'invalid') return result;
      if (result.kind === 'alone') {
        alone = true;
        continue;
      }
      if (attempt >= this.options.maxAttempts) {
        throw new RetryableError('warehouse', result.detail, `warehouse insert failed: ${result.message}`);
      }
      const backoff = 100 * 2 ** (attempt - 1) * (1 + Math.random());
      if (Date.now() + backoff >= deadlineAt) throw new DeadlineExceededError('warehouse retry backoff');
      await new Promise((r) => setTimeout(r, backoff));
    }
  }

  private send(row: Pending['row'], bytes: number, alone: boolean): Promise<Attempt> {
    return new Promise<Attempt>((settle) => {
      const pending: Pending = { row, bytes, settle };
      if (alone) {
        void this.request([pending]);
        return;
      }
      if (this.queue.length > 0 && this.queuedBytes + bytes > this.options.maxBytes) this.flush();
      this.queue.push(pending);
      this.queuedBytes += bytes;
      if (this.queue.length >= this.options.maxRows || this.expected === 0) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (batch.length > 0) void this.request(batch);
  }

  private async request(batch: Pending[]): Promise<void> {
    const rows = batch.map((p) => p.row);
    try {
      await this.table.insert(rows, { raw: true, partialRetries: 0, skipInvalidRows: false });
      for (const p of batch) p.settle({ kind: 'inserted' });
    } catch (err) {
      if (isPartialFailure(err)) {
        const failed = new Map<unknown, Array<{ reason?: string; message?: string }>>();
        for (const e of err.errors) failed.set(e.row, e.errors);
        for (const p of batch) p.settle(rowOutcome(failed.get(p.row)));
        return;
      }
      const code = (err as { code?: unknown }).code;
      const message = errorMessage(err);
      if (code === 400 || code === 413) {
        for (const p of batch)
          p.settle(batch.length === 1 ? { kind: 'invalid', message } : { kind: 'alone' });
        return;
      }
      const detail = typeof code === 'number' ? String(code) : 'network';
      for (const p of batch) p.settle({ kind: 'retry', detail, message });
    }
  }
}

function rowOutcome(errors: Array<{ reason?: string; message?: string }> | undefined): Attempt {
  if (errors === undefined) return { kind: 'inserted' };
  const describe =
    errors.map((e) => [e.reason, e.message].filter(Boolean).join(': ')).join('; ') || 'no detail';
  if (errors.some((e) => e.reason === 'invalid')) return { kind: 'invalid', message: describe };
  const reason = errors.find((e) => e.reason)?.reason ?? 'unknown';
  return { kind: 'retry', detail: reason, message: describe };
}

/**
 * The BigQuery client for the writers. autoRetry off: the writer retries within the per-event deadline itself.
 * `timeoutMs` bounds each HTTP request. BIGQUERY_EMULATOR_HOST (local warehouse) is honoured by the client.
 */
export function createBigQueryClient(projectId: string, timeoutMs: number): BigQuery {
  // `timeout` is read by the client's transport (@google-cloud/common Service) but missing from BigQueryOptions.
  const options: BigQueryOptions & { timeout: number } = {
    projectId,
    timeout: timeoutMs,
    retryOptions: { autoRetry: false },
  };
  return new BigQuery(options);
}
