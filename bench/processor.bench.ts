// cioProcessor benchmark: events/s through the processor's own modules (push envelope → Firestore ledger → Track
// API → BigQuery insertAll → done) on this machine, with the Firestore emulator, the local warehouse server and the
// Track API fake, all over loopback HTTP/gRPC. Deliveries are handed to the processor as functions-framework would,
// many in flight at once like a Cloud Run instance with high concurrency. Figures per run: throughput, latency,
// Firestore document ops per event, insertAll requests per 1000 events, Track calls per actionable event. The
// micro-batched writer is compared in the same process with a naive variant that sends one insertAll per event.

import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { startEmulator, type Emulator } from '../scripts/local/emulators';
import { startWarehouseServer, type WarehouseServer } from '../scripts/local/warehouse/server';
import { ensureWarehouseTables } from '../scripts/local/warehouse/setup';
import { loadProcessorConfig } from '../shared/config';
import { createLogger } from '../shared/log';
import { buildProcessor, type ProcessorTuning } from '../functions/build-processor';
import { startTrackApiServer, type TrackApiServer } from '../test/support/track-api-server';
import type { Benchmark, ProcessorFigures, ProcessorRunFigures } from './figures';
import { table } from './report/markdown';

const ROOT = path.resolve(__dirname, '..', '..');
const EVENTS = 1000;
const CONCURRENCY = 200;
const ROUNDS = 2;

interface Workload {
  name: string;
  /** Share of events that ask for a Track call (email bounced / spammed). */
  actionable: number;
  /** Deliver every event a second time after the first pass (the duplicate path). */
  duplicates: boolean;
}

function event(i: number, run: string, actionable: boolean): string {
  const metric = actionable ? (i % 2 === 0 ? 'bounced' : 'spammed') : ['delivered', 'opened', 'sent'][i % 3];
  return JSON.stringify({
    event_id: `${run}-${String(i).padStart(6, '0')}`,
    object_type: 'email',
    metric,
    timestamp: 1732550000 + i,
    data: {
      campaign_id: 27,
      action_id: 311,
      delivery_id: `dlv-${i}`,
      identifiers: { id: `u-${i % 5000}`, email: `person${i}@example.org` },
      recipient: `person${i}@example.org`,
      subject: 'Your November summary',
      ...(metric === 'bounced' && { failure_message: '550 5.1.1 no such user' }),
    },
  });
}

function envelope(text: string, n: number): { body: object; raw: Buffer } {
  const body = {
    message: {
      data: Buffer.from(text).toString('base64'),
      attributes: { received_at: new Date().toISOString() },
      messageId: String(n),
      publishTime: new Date().toISOString(),
    },
    subscription: 'projects/bench/subscriptions/cio-processor',
  };
  return { body, raw: Buffer.from(JSON.stringify(body)) };
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

class ProcessorBench {
  private runs = 0;

  constructor(
    private readonly warehouse: WarehouseServer,
    private readonly track: TrackApiServer,
  ) {}

  async measure(workload: Workload, tuning: ProcessorTuning): Promise<ProcessorRunFigures> {
    const run = `r${++this.runs}`;
    const config = loadProcessorConfig({
      GOOGLE_CLOUD_PROJECT: `bench-processor-${run}`,
      CIO_SITE_ID: 'bench-site',
      CIO_TRACK_API_KEY: 'bench-key',
      CIO_TRACK_API_URL: this.track.url,
      // The Track fake answers at once; the per-instance limit is set to its maximum so that it does not hide
      // the processor's own throughput (at the default 10/s, 100 actionable events alone take 10 s).
      CIO_TRACK_MAX_RPS: '100',
      DEDUPE_COLLECTION: `bench_${run}`,
      BQ_DATASET: `bench_${run}`,
    });
    await ensureWarehouseTables(new BigQuery({ projectId: config.projectId }), config.bqDataset, {
      events: config.bqTable,
      rejects: config.bqRejectsTable,
    });

    const lines: Array<{
      outcome?: string;
      latency_ms?: number;
      firestore_ops?: { reads: number; writes: number };
    }> = [];
    const logger = createLogger('info', {}, (line) => lines.push(JSON.parse(line) as (typeof lines)[number]));
    const processor = buildProcessor(config, logger, tuning);
    const actionableEvery = workload.actionable > 0 ? Math.round(1 / workload.actionable) : 0;
    const texts = Array.from({ length: EVENTS }, (_, i) =>
      event(i, run, actionableEvery > 0 && i % actionableEvery === 0),
    );
    const actionable = texts.filter((t) => /"(bounced|spammed)"/.test(t)).length;
    const requestsBefore = this.warehouse.stats.insertAllRequests;
    const trackBefore = this.track.calls.length;

    const deliverAll = async () => {
      let n = 0;
      await pool(texts, CONCURRENCY, async (text) => {
        const { body, raw } = envelope(text, ++n);
        const result = await processor.handle(body, raw);
        if (result.status !== 200) throw new Error(`benchmark delivery nacked: ${result.outcome}`);
      });
    };
    let started = performance.now();
    await deliverAll();
    let elapsed = performance.now() - started;
    const insertAllRequests = this.warehouse.stats.insertAllRequests - requestsBefore;
    const trackCalls = this.track.calls.length - trackBefore;
    let measured = lines.filter((l) => l.outcome === 'processed');
    if (workload.duplicates) {
      lines.length = 0;
      started = performance.now();
      await deliverAll();
      elapsed = performance.now() - started;
      measured = lines.filter((l) => l.outcome === 'duplicate');
    }
    await processor.close();
    if (measured.length !== EVENTS)
      throw new Error(`expected ${EVENTS} measured deliveries, got ${measured.length}`);
    const latencies = measured.map((l) => l.latency_ms ?? 0).sort((a, b) => a - b);
    const ops = measured.reduce(
      (sum, l) => ({
        reads: sum.reads + (l.firestore_ops?.reads ?? 0),
        writes: sum.writes + (l.firestore_ops?.writes ?? 0),
      }),
      { reads: 0, writes: 0 },
    );
    return {
      eventsPerSecond: EVENTS / (elapsed / 1000),
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      reads: ops.reads / EVENTS,
      writes: ops.writes / EVENTS,
      insertAllPer1000: workload.duplicates ? 0 : (insertAllRequests * 1000) / EVENTS,
      trackPerActionable: actionable > 0 ? trackCalls / actionable : undefined,
    };
  }
}

/** Mean figures per variant, keyed by the variant's label (the table's first column). */

export const benchmark: Benchmark = {
  name: 'processor',
  run: async () => (await measureProcessor()).markdown,
};

export async function measureProcessor(): Promise<{ markdown: string; figures: ProcessorFigures }> {
  const logDir = path.join(ROOT, '.local', 'bench-logs');
  let firestore: Emulator | undefined;
  let warehouse: WarehouseServer | undefined;
  let track: TrackApiServer | undefined;
  // The clients find the emulator and the warehouse through these; the benchmarks after this one must not.
  const previousEnv = {
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    BIGQUERY_EMULATOR_HOST: process.env.BIGQUERY_EMULATOR_HOST,
  };
  try {
    firestore = await startEmulator('firestore', { logDir });
    process.env.FIRESTORE_EMULATOR_HOST = firestore.host;
    warehouse = await startWarehouseServer({ dedupeInsertIds: false });
    process.env.BIGQUERY_EMULATOR_HOST = warehouse.url;
    track = await startTrackApiServer();
    const bench = new ProcessorBench(warehouse, track);
    // Warm-up: JIT, connections, the emulator's first transactions.
    await bench.measure({ name: 'warm-up', actionable: 0, duplicates: false }, {});

    const variants: Array<{ label: string; workload: Workload; tuning: ProcessorTuning }> = [
      {
        label: 'micro-batched, no actions',
        workload: { name: 'fresh', actionable: 0, duplicates: false },
        tuning: {},
      },
      {
        label: 'naive (1 insertAll per event), no actions',
        workload: { name: 'fresh', actionable: 0, duplicates: false },
        tuning: { batch: { maxRows: 1 } },
      },
      {
        label: 'micro-batched, 10% bounced/spammed',
        workload: { name: 'mixed', actionable: 0.1, duplicates: false },
        tuning: {},
      },
      {
        label: 'duplicates (every event redelivered after done)',
        workload: { name: 'duplicates', actionable: 0, duplicates: true },
        tuning: {},
      },
    ];
    const results = new Map<string, ProcessorRunFigures[]>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const v of variants) {
        const figures = await bench.measure(v.workload, v.tuning);
        results.set(v.label, [...(results.get(v.label) ?? []), figures]);
        console.error(
          `processor bench: ${v.label}, round ${round + 1}: ${figures.eventsPerSecond.toFixed(0)} events/s`,
        );
      }
    }
    const figures: ProcessorFigures = variants.map((v) => {
      const runs = results.get(v.label)!;
      const mean = (pick: (f: ProcessorRunFigures) => number) =>
        runs.reduce((s, f) => s + pick(f), 0) / runs.length;
      return {
        label: v.label,
        figures: {
          eventsPerSecond: mean((f) => f.eventsPerSecond),
          p50: mean((f) => f.p50),
          p99: mean((f) => f.p99),
          reads: mean((f) => f.reads),
          writes: mean((f) => f.writes),
          insertAllPer1000: mean((f) => f.insertAllPer1000),
          trackPerActionable: runs[0].trackPerActionable,
        },
      };
    });
    const rows = figures.map(({ label, figures: f }) => [
      label,
      f.eventsPerSecond.toFixed(0),
      `${f.p50.toFixed(0)} / ${f.p99.toFixed(0)}`,
      `${f.reads.toFixed(2)} / ${f.writes.toFixed(2)}`,
      // Duplicates insert nothing: their run reports 0.
      f.insertAllPer1000.toFixed(f.insertAllPer1000 === 0 ? 0 : 1),
      f.trackPerActionable === undefined ? '–' : f.trackPerActionable.toFixed(2),
    ]);
    const markdown = [
      `${EVENTS} events per run, ${CONCURRENCY} in flight, mean of ${ROUNDS} rounds; Firestore emulator, local ` +
        `warehouse (DuckDB) and Track fake on loopback (CIO_TRACK_MAX_RPS=100). Duplicates: the second delivery of ` +
        `events already done.`,
      '',
      table(
        [
          'variant',
          'events/s',
          'latency p50 / p99 (ms)',
          'Firestore reads / writes per event',
          'insertAll requests per 1000 events',
          'Track calls per actionable event',
        ],
        rows,
      ),
    ].join('\n');
    return { markdown, figures };
  } finally {
    for (const [name, value] of Object.entries(previousEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await track?.close();
    await warehouse?.close();
    await firestore?.stop();
  }
}
