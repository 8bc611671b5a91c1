// One reconciliation: for the deliveries Customer.io created in a window, compare the first occurrences it records
// with what the warehouse holds, add up the differences (drift.ts), and with `repair` write what the warehouse
// lacks (rows.ts). `reconcile`, `reconcile --repair`, `backfill` and the scheduled cioReconcile all run this.
//
// The window is cut into UTC days, processed a few at a time (Customer.io's rate is shared by all of them through
// the client); within a day, pages are read ahead while the previous chunk is compared, so the App API budget is
// used while the warehouse works. Memory holds a few chunks and the ids of a few days, not the window. After every
// chunk a checkpoint (when given) records each day's cursor: a run stopped by Ctrl-C or a crash resumes from there,
// and what it writes again has the same event ids (a no-op).

import { randomBytes } from 'node:crypto';
import type { AppApiClient } from '../customerio/app-api/client';
import {
  deliveryPages,
  getDelivery,
  MAX_PAGE_SIZE,
  type Delivery,
  type DeliveryWindow,
} from '../customerio/app-api/deliveries';
import { FIRST_OCCURRENCE_METRICS, HUMAN_METRICS } from '../customerio/app-api/naming';
import { DriftTally, utcDay, type GroupKey } from './drift';
import { factsOf, parentOf, WEBHOOK_EVENTS, type Fact } from './facts';
import { backfillRow, type BackfillRow } from './rows';
import type { ReconcileWarehouse, WarehouseFact } from './warehouse';

export interface SliceState {
  /** Cursor of the next page to read; absent: from the day's first page. */
  next?: string;
  done: boolean;
}

/** What a resumed run needs: each day's progress and what was done before the interruption. */
export interface Checkpoint {
  workspace: string;
  window: DeliveryWindow;
  /** By the day's start (unix seconds, as text). */
  slices: Record<string, SliceState>;
  deliveries: number;
  written: number;
}

export interface CheckpointStore {
  load(): Checkpoint | undefined;
  save(checkpoint: Checkpoint): void;
}

export interface Progress {
  /** 0..1 of the window's creation time read so far. */
  fraction: number;
  days: number;
  daysDone: number;
  deliveries: number;
  /** Rows written (or, in a dry run, that would be). */
  written: number;
  missingHere: number;
  requests: number;
  throttled: number;
  elapsedMs: number;
}

export interface RunOptions {
  client: AppApiClient;
  warehouse: ReconcileWarehouse;
  /** Creation times, unix seconds. */
  window: DeliveryWindow;
  /** Unix seconds: first occurrences after this are not judged. */
  settledBefore: number;
  /** Write what the warehouse lacks. */
  repair: boolean;
  /** With repair: count what would be written, write nothing. */
  dryRun?: boolean;
  /** Look for deliveries the warehouse saw sent that Customer.io did not list (default true). */
  detectUnknown?: boolean;
  /** Events the reporting webhooks send (`email_opened`, ...); undefined = unknown (all that exist). */
  subscribed?: ReadonlySet<string>;
  checkpoint?: CheckpointStore;
  /** Days read at once (default 4). */
  concurrency?: number;
  /** Deliveries compared per warehouse query (default 2000). */
  chunkSize?: number;
  pageSize?: number;
  /** Deliveries sent here but not listed by Customer.io that are looked up one by one, per day (default 25). */
  lookupsPerDay?: number;
  onProgress?: (progress: Progress) => void;
  /** Aborted (Ctrl-C): stop after the chunk in progress, checkpoint saved. */
  signal?: AbortSignal;
  now?: () => Date;
}

export interface RunResult {
  runId: string;
  workspace: string;
  startedAt: Date;
  finishedAt: Date;
  window: DeliveryWindow;
  settledBefore: number;
  tally: DriftTally;
  /** Stopped by the signal before the end (resumable with the checkpoint). */
  interrupted: boolean;
  /** Rows the warehouse refused as invalid (not written). */
  invalidRows: string[];
  /** Totals of earlier, interrupted runs this one resumed. */
  resumed: { deliveries: number; written: number } | undefined;
  /** App API requests this run made (retries included). */
  apiRequests: number;
}

const DAY = 86400;

/** The window cut at UTC midnights, oldest first. */
export function daySlices(window: DeliveryWindow): DeliveryWindow[] {
  const out: DeliveryWindow[] = [];
  for (let start = window.start; start < window.end;) {
    const end = Math.min(window.end, (Math.floor(start / DAY) + 1) * DAY);
    out.push({ start, end });
    start = end;
  }
  return out;
}

class Interrupted extends Error {}

export async function runReconciliation(options: RunOptions): Promise<RunResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const runId = `${startedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
  const { client, warehouse, window } = options;
  const tally = new DriftTally();
  const slices = daySlices(window);
  const judge = { settledBefore: options.settledBefore, subscribed: options.subscribed };
  const chunkSize = options.chunkSize ?? 2000;
  const lookups = options.lookupsPerDay ?? 25;
  const invalidRows: string[] = [];

  const previous = options.checkpoint?.load();
  if (
    previous !== undefined &&
    (previous.workspace !== client.workspace ||
      previous.window.start !== window.start ||
      previous.window.end !== window.end)
  ) {
    throw new Error(
      `the checkpoint is for workspace ${previous.workspace}, ${iso(previous.window.start)} .. ${iso(previous.window.end)}: ` +
        'resume with the same --workspace, --since and --until, or delete the checkpoint file to start over',
    );
  }
  const checkpoint: Checkpoint = previous ?? {
    workspace: client.workspace,
    window,
    slices: {},
    deliveries: 0,
    written: 0,
  };
  const resumed =
    previous === undefined ? undefined : { deliveries: previous.deliveries, written: previous.written };
  const stateOf = (slice: DeliveryWindow): SliceState =>
    (checkpoint.slices[String(slice.start)] ??= { done: false });

  // Progress: each day's share of the window, read newest first, so the oldest creation time seen tells how far.
  const reached = new Map<number, number>();
  let written = 0;
  let deliveries = 0;
  const progress = (): void => {
    if (options.onProgress === undefined) return;
    let covered = 0;
    for (const s of slices) {
      const state = stateOf(s);
      covered += state.done ? s.end - s.start : s.end - (reached.get(s.start) ?? s.end);
    }
    options.onProgress({
      fraction: covered / (window.end - window.start),
      days: slices.length,
      daysDone: slices.filter((s) => stateOf(s).done).length,
      deliveries: deliveries + (resumed?.deliveries ?? 0),
      written: written + (resumed?.written ?? 0),
      missingHere: tally.totals.missingHere,
      requests: client.stats.requests,
      throttled: client.stats.throttled,
      elapsedMs: now().getTime() - startedAt.getTime(),
    });
  };

  const writes = new Semaphore(2);
  const compareChunk = async (chunk: Delivery[], slice: DeliveryWindow): Promise<void> => {
    const found = await warehouse.facts(
      client.workspace,
      chunk.map((d) => d.id),
      new Date((slice.start - 3600) * 1000),
    );
    const byDelivery = new Map<string, WarehouseFact[]>();
    for (const f of found) byDelivery.set(f.deliveryId, [...(byDelivery.get(f.deliveryId) ?? []), f]);
    const repairs: Array<{ key: GroupKey; row: BackfillRow }> = [];
    const at = now();
    for (const d of chunk) {
      const judged = factsOf(d, judge);
      for (const reason of judged.notJudged) tally.notJudgedBecause(reason);
      const rows = byDelivery.get(d.id) ?? [];
      const parentType =
        judged.parentType === 'unknown' && rows.some((r) => r.transactionalMessageId !== null)
          ? 'transactional'
          : judged.parentType;
      const group = (metric: string): GroupKey => ({
        day: utcDay(d.created),
        channel: judged.channel,
        metric,
        parentType,
      });
      const missing: Fact[] = [];
      for (const fact of judged.facts) {
        const present =
          fact.key in HUMAN_METRICS
            ? rows.some((r) => r.metric === fact.metric && !r.machine)
            : rows.some((r) => r.metric === fact.metric);
        if (present) tally.matched(group(fact.key));
        else {
          tally.missing(group(fact.key), d.id);
          missing.push(fact);
        }
      }
      if (options.repair) {
        for (const fact of missing) {
          // A person's first open written as the open itself already stands for human_opened.
          const standsIn = missing.some((f) => f.key === fact.metric && f.machine === false);
          if (fact.key in HUMAN_METRICS && standsIn) continue;
          repairs.push({ key: group(fact.key), row: backfillRow(client.workspace, d, fact, at) });
        }
      }
      // Only here: a metric the webhooks brought that Customer.io does not record for this delivery.
      const onlyHere = new Set<string>();
      for (const r of rows) {
        if (r.origin !== 'webhook' || d.metrics[r.metric] !== undefined || r.firstAt > options.settledBefore)
          continue;
        if (!(FIRST_OCCURRENCE_METRICS as readonly string[]).includes(r.metric)) continue;
        if (!WEBHOOK_EVENTS.has(`${judged.channel}_${r.metric}`)) continue;
        onlyHere.add(r.metric);
      }
      for (const metric of onlyHere) tally.onlyHere(group(metric), d.id);
    }
    if (repairs.length > 0 && options.dryRun !== true) {
      // Two chunks' rows in flight at most: one is sent while the next is built; the days read ahead meanwhile,
      // and memory holds two chunks of rows, however long the window.
      const refused = await writes.run(() => warehouse.insertEvents(repairs.map((r) => r.row)));
      invalidRows.push(...refused);
      const refusedIds = new Set(refused.map((m) => m.slice(0, m.indexOf(': '))));
      for (const r of repairs) if (!refusedIds.has(r.row.row.event_id)) tally.repaired(r.key, 1);
    } else {
      for (const r of repairs) tally.repaired(r.key, 1);
    }
    deliveries += chunk.length;
    tally.totals.deliveries += chunk.length;
    written = tally.totals.repaired;
  };

  const ids = new Map<number, Set<string>>();
  const sliceDone = new Map<number, Promise<void>>();

  const processSlice = async (index: number): Promise<void> => {
    const slice = slices[index]!;
    const state = stateOf(slice);
    const seen = new Set<string>();
    ids.set(index, seen);
    if (state.done) return;
    const pages = readAhead(
      deliveryPages(client, slice, { cursor: state.next, limit: options.pageSize ?? MAX_PAGE_SIZE }),
      2,
    );
    let chunk: Delivery[] = [];
    for await (const page of pages) {
      for (const d of page.deliveries) {
        chunk.push(d);
        seen.add(d.id);
        reached.set(slice.start, Math.min(reached.get(slice.start) ?? slice.end, d.created));
      }
      if (chunk.length < chunkSize && page.next !== undefined) continue;
      if (options.signal?.aborted === true || stop) throw new Interrupted();
      await compareChunk(chunk, slice);
      chunk = [];
      state.next = page.next;
      state.done = page.next === undefined;
      checkpoint.deliveries = (resumed?.deliveries ?? 0) + deliveries;
      checkpoint.written = (resumed?.written ?? 0) + written;
      options.checkpoint?.save(checkpoint);
      progress();
    }
    if (!state.done) {
      // The day had no page at all (an empty first page without a cursor is the last page too).
      state.done = true;
      options.checkpoint?.save(checkpoint);
    }
  };

  // Deliveries the warehouse saw sent on a day that Customer.io listed for neither that day nor the one before.
  const findUnknown = async (index: number): Promise<void> => {
    const slice = slices[index]!;
    const known = (id: string): boolean => ids.get(index)!.has(id) || (ids.get(index - 1)?.has(id) ?? false);
    const sent = await warehouse.sentDeliveries(
      client.workspace,
      new Date(slice.start * 1000),
      new Date(slice.end * 1000),
    );
    const candidates = sent.filter((s) => !known(s.deliveryId) && s.sentAt <= options.settledBefore);
    for (const [i, s] of candidates.entries()) {
      if (i >= lookups) {
        tally.notJudgedBecause(
          `sent: deliveries sent here that Customer.io did not list for the window, not looked up (over ${lookups} a day)`,
          candidates.length - lookups,
        );
        break;
      }
      if ((await getDelivery(client, s.deliveryId)) !== undefined) {
        tally.notJudgedBecause('sent: deliveries sent in the window that Customer.io created before it');
        continue;
      }
      tally.onlyHere(
        { day: utcDay(slice.start), channel: s.channel, metric: 'sent', parentType: parentOf(s) },
        s.deliveryId,
      );
    }
    ids.delete(index - 1);
  };

  // Without a checkpoint only: a resumed day's ids before its cursor are not known again.
  const detectUnknown = options.detectUnknown !== false && options.checkpoint === undefined;
  let unknownChain = Promise.resolve();
  let stop = false;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let nextIndex = 0;
  const workers = Array.from({ length: Math.min(concurrency, slices.length) }, async () => {
    while (!stop && nextIndex < slices.length) {
      const index = nextIndex++;
      const done = processSlice(index);
      sliceDone.set(index, done);
      if (detectUnknown) {
        const previousDone = sliceDone.get(index - 1) ?? Promise.resolve();
        unknownChain = unknownChain
          .then(() => Promise.all([done, previousDone]))
          .then(() => findUnknown(index));
      }
      try {
        await done;
      } catch (err) {
        stop = true; // the other days finish the chunk they are in, then stop too
        throw err;
      }
    }
  });
  // Every day stops before we return: none may write or save a checkpoint after.
  const outcomes = await Promise.allSettled(workers);
  // Awaited after the workers: they extend the chain while they run.
  outcomes.push(...(await Promise.allSettled([unknownChain])));
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
  const failure = failures.find((e) => !(e instanceof Interrupted));
  if (failure !== undefined) throw failure;
  const interrupted = failures.length > 0;
  progress();
  return {
    runId,
    workspace: client.workspace,
    startedAt,
    finishedAt: now(),
    window,
    settledBefore: options.settledBefore,
    tally,
    interrupted,
    invalidRows,
    resumed,
    apiRequests: client.stats.requests,
  };
}

/** Runs at most `limit` tasks at once, the others in the order they were given. */
class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed a slot by a finishing task
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.running -= 1;
    }
  }
}

/** Reads up to `size` items of `source` ahead of the consumer. */
async function* readAhead<T>(source: AsyncGenerator<T>, size: number): AsyncGenerator<T> {
  const buffer: Array<Promise<IteratorResult<T>>> = [];
  const fill = (): void => {
    while (buffer.length < size) buffer.push(source.next());
  };
  try {
    fill();
    for (;;) {
      const result = await buffer.shift()!;
      if (result.done === true) return;
      fill();
      yield result.value;
    }
  } finally {
    for (const pending of buffer) pending.catch(() => undefined);
    await source.return(undefined);
  }
}

const iso = (unix: number): string => new Date(unix * 1000).toISOString();
