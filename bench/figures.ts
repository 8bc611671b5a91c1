// The figures each benchmark measures and the report (report/document.ts) draws and prices: the types both sides
// import, so benchmarks never import the report or the runner, and the runner imports both.

import type { FunctionName } from '../scripts/local/stack';

export interface Benchmark {
  name: string;
  /** Runs the benchmark and returns its figures as markdown (tables), also printed as it goes. */
  run(): Promise<string>;
}

// --- webhook (webhook.bench.ts) ---

export interface LoadResult {
  concurrency: number;
  /** Requests/s of each round, in order: rounds alternate between servers, so round i of two servers is a pair. */
  roundRps: number[];
  ok: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU time per 200, in ms, of the server process, of the emulator (all its processes) and of the load generator. */
  cpu: { server: number; emulator: number; client: number };
}

/** What the report draws and prices, beside the markdown. */
export interface WebhookFigures {
  /** Per concurrency level (LEVELS order). */
  baseline: LoadResult[];
  webhook: LoadResult[];
  /** Median spawn → first 200. */
  coldStartMs: { hello: number; webhook: number };
}

/**
 * cioWebhook's throughput as a share of the baseline's, round by round: each round runs the two back to back, so a
 * round's ratio compares them under the same background load (on this shared machine the baseline's own rate moves
 * by half between rounds). The median of those ratios is the figure.
 */
export function throughputRatio(
  webhook: LoadResult,
  baseline: LoadResult,
): { median: number; rounds: number[] } {
  const rounds = webhook.roundRps.map((rps, i) => rps / baseline.roundRps[i]);
  return { median: median(rounds), rounds };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// --- processor (processor.bench.ts) ---

export interface ProcessorRunFigures {
  eventsPerSecond: number;
  p50: number;
  p99: number;
  reads: number;
  writes: number;
  insertAllPer1000: number;
  trackPerActionable: number | undefined;
}

export type ProcessorFigures = Array<{ label: string; figures: ProcessorRunFigures }>;

// --- end to end (e2e.bench.ts) ---

export interface PhaseFigures {
  events: number;
  /** ms from an event's 200 to the first poll that saw its row, ascending. */
  latencies: number[];
  /** Events whose row never showed up within the drain timeout. */
  missing: number;
  /** Signed POST → 200, as the sender saw it (ms). */
  ack: { p50: number; p99: number };
  /** The processor's own latency_ms per invocation. */
  processor: { p50: number; p99: number };
  /** First request sent → last row seen. */
  seconds: number;
  /** Mean duration of one warehouse poll (the latency's resolution is POLL_MS plus this). */
  pollQueryMs: number;
  /** Per event sent (all deliveries of it, redeliveries included). */
  perEvent: {
    firestoreReads: number;
    firestoreWrites: number;
    processorInvocations: number;
    insertAllRequests: number;
    cpuMs: Record<FunctionName, number>;
    logBytes: Record<FunctionName, number>;
    logLines: Record<FunctionName, number>;
    /** Body + attributes + Pub/Sub's per-message overhead, as billed. */
    pubsubMessageBytes: number;
    /** JSON size of the warehouse row, and the same with BigQuery's 1 KB minimum applied. */
    rowBytes: number;
    rowBillableBytes: number;
  };
}

export interface EndToEndFigures {
  pollMs: number;
  /** Events sent one every 1/perSecond s, whatever the answers (open loop). */
  paced: PhaseFigures & { perSecond: number };
  /** Events sent by `concurrency` senders back to back. */
  burst: PhaseFigures & { concurrency: number };
}
