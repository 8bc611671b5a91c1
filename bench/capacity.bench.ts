// The capacity model checked against what this machine can measure: the whole local stack (scripts/local/stack.ts,
// as `npm start` runs it) under two open-loop loads, one below and one above what it can drain. The local stack's
// limits are plugged into the model as its limits: one instance of each function, and the Pub/Sub emulator's push
// window, which lets only a couple of pushes be in flight, so the stack drains at window / time per push. A push
// takes the processor's own latency (measured in each phase: on a shared machine it swings with the load) plus a
// turnaround the handler's latency does not see (HTTP, the framework, the emulator between a response and its next
// push), measured once by a saturating burst, as production limits are read once from their documentation. For each
// load the model predicts the throughput, the backlog second by second and the drain time; the benchmark prints
// them beside the measured ones and whether they agree within TOLERANCE. Figures, not assertions.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateEvents } from '../scripts/cli/generate-events';
import { sendEvents, type OutgoingEvent } from '../scripts/cli/send';
import { freePort } from '../scripts/local/emulators';
import { startStack, type FunctionName, type Stack } from '../scripts/local/stack';
import { loadCapacityFigures, type CapacityFigures } from './capacity/measured';
import { SEQUENTIAL_LEDGER_FIELDS, cloudEnvironment, simulate, type SecondTrace } from './capacity/model';
import type { DeploymentSettings } from './capacity/terraform';
import { fmt, table } from './report/markdown';
import type { Benchmark } from './figures';

const SEED = 20261204;
const WARM_UP = 50;
/** A saturating burst, to pick the two loads around what the stack drains. */
const CALIBRATION = { events: 300, concurrency: 16 };
/**
 * Load as a share of the calibration's drain rate, and how long it is sent. A burst drains more slowly than paced
 * traffic (the senders and the webhook compete for the same cores), hence the wide margin above it.
 */
const LOADS = [
  { name: 'below capacity', share: 0.5, seconds: 40 },
  { name: 'above capacity', share: 3, seconds: 30 },
];
/** Pushes the Pub/Sub emulator has in flight at most (README: Run it locally). */
const EMULATOR_PUSH_WINDOW = 2;
/**
 * Agreement wanted. Throughput relative to the measured one; the backlog and the drain time are differences of two
 * close rates (sent and drained), so their errors are taken relative to what the phase sent: a share of its events
 * and of its sending time.
 */
export const TOLERANCE = {
  throughput: 0.2,
  backlogShareOfSent: 0.1,
  drainShareOfSending: 0.2,
  drainSlackSeconds: 2,
};
const DRAIN_TIMEOUT_MS = 180_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

export interface LoadComparison {
  name: string;
  /** Of the calibration burst's drain rate. */
  share: number;
  sentPerSecond: number;
  seconds: number;
  events: number;
  /** Mean processor invocation in the phase (plus the turnaround: the time per push the model uses). */
  latencyMs: number;
  /** Invocations in flight on average while the backlog exceeded the window (Little's law); NaN if it never did. */
  inFlight: number;
  measured: { throughput: number; peakBacklog: number; drainSeconds: number; backlog: number[] };
  predicted: { throughput: number; peakBacklog: number; drainSeconds: number; backlog: number[] };
  within: { throughput: boolean; peakBacklog: boolean; drain: boolean };
}

export interface ValidationFigures {
  measuredAt: string;
  /** Events/s the stack drained a saturating burst at (sets the two loads). */
  drainRate: number;
  /** Time per push beyond the processor's latency: window / drain rate − mean latency, in the burst. */
  turnaroundMs: number;
  loads: LoadComparison[];
}

/** The processor's `processed` log lines: when each event's row was in, and how long its invocation took. */
class ProcessedTap {
  readonly at = new Map<string, number>();
  readonly latencyMs = new Map<string, number>();

  onLog = (source: FunctionName, line: string): void => {
    if (source !== 'processor' || !line.startsWith('{')) return;
    let entry: { event_id?: unknown; outcome?: unknown; latency_ms?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return; // not one of our structured lines
    }
    if (entry.outcome !== 'processed' || typeof entry.event_id !== 'string') return;
    this.at.set(entry.event_id, performance.now());
    if (typeof entry.latency_ms === 'number') this.latencyMs.set(entry.event_id, entry.latency_ms);
  };

  async waitFor(ids: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (ids.some((id) => !this.at.has(id))) {
      if (Date.now() > deadline) throw new Error('capacity bench: events never processed');
      await sleep(50);
    }
  }
}

function accept(results: Awaited<ReturnType<typeof sendEvents>>): void {
  const refused = results.filter((r) => r.status !== 200);
  if (refused.length > 0) throw new Error(`capacity bench: ${refused.length} requests not accepted`);
}

/** Open loop: event i leaves at i / perSecond s. Returns each event's ack time. */
async function paced(stack: Stack, events: OutgoingEvent[], perSecond: number): Promise<Map<string, number>> {
  const acked = new Map<string, number>();
  const start = performance.now();
  const results = await Promise.all(
    events.map(async (event, i) => {
      await sleep(Math.max(0, start + (i * 1000) / perSecond - performance.now()));
      const [result] = await sendEvents([event], { url: stack.state.webhookUrl, key: stack.signingKey });
      if (result.status === 200) acked.set(event.eventId, performance.now());
      return result;
    }),
  );
  accept(results);
  return acked;
}

/** Events acknowledged minus events processed, at the end of each second from `start`. */
function backlogSeries(acks: number[], processed: number[], start: number, seconds: number): number[] {
  return Array.from({ length: seconds }, (_, s) => {
    const at = start + (s + 1) * 1000;
    return acks.filter((t) => t <= at).length - processed.filter((t) => t <= at).length;
  });
}

/** The local stack as the model sees it: one instance each, the emulator's push window, no cloud limits. */
function localModel(figures: CapacityFigures, pushMs: number) {
  const one = { minInstances: 1, maxInstances: 1, concurrency: 1000, vcpus: 1 };
  const settings: DeploymentSettings = {
    webhook: one,
    processor: one,
    trackMaxRps: 100,
    trackBudgetRps: 100,
    leaseSeconds: 120,
    retry: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 1, maxDeliveryAttempts: 5 },
    retentionSeconds: 7 * 86_400,
    unindexedLedgerFields: [...SEQUENTIAL_LEDGER_FIELDS],
  };
  const env = cloudEnvironment(settings, {
    regionalCpuQuota: Infinity,
    firestoreRampStart: Infinity,
    sequentialIndexWrites: undefined,
    trackEnabled: false,
    bigqueryRowsPerSecond: Infinity,
    pushConcurrency: EMULATOR_PUSH_WINDOW,
    latencyMs: { webhook: 5, processor: pushMs },
  });
  return { settings, env, figures };
}

async function compareLoad(
  stack: Stack,
  tap: ProcessedTap,
  events: OutgoingEvent[],
  load: (typeof LOADS)[number],
  perSecond: number,
  figures: CapacityFigures,
  turnaroundMs: number,
): Promise<LoadComparison> {
  const start = performance.now();
  const acked = await paced(stack, events, perSecond);
  const ids = events.map((e) => e.eventId);
  await tap.waitFor(ids, DRAIN_TIMEOUT_MS);
  const acks = ids.map((id) => acked.get(id)!);
  const processed = ids.map((id) => tap.at.get(id)!);
  const latencyMs = mean(ids.map((id) => tap.latencyMs.get(id) ?? NaN).filter(Number.isFinite));
  const sendEnd = Math.max(...acks);
  const lastProcessed = Math.max(...processed);
  const seconds = Math.ceil((lastProcessed - start) / 1000) + 1;
  const measuredBacklog = backlogSeries(acks, processed, start, seconds);
  const sentSeconds = (sendEnd - start) / 1000;
  // Little's law over the seconds the backlog exceeded the window: invocation time finished there / elapsed.
  const saturated = measuredBacklog.flatMap((b, s) => (b > EMULATOR_PUSH_WINDOW ? [s] : []));
  const busy = ids.filter((id) => {
    const s = Math.floor((tap.at.get(id)! - start) / 1000);
    return saturated.includes(s);
  });
  const inFlight =
    saturated.length > 0
      ? busy.reduce((sum, id) => sum + (tap.latencyMs.get(id) ?? 0), 0) / (saturated.length * 1000)
      : NaN;
  const model = localModel(figures, latencyMs + turnaroundMs);

  const traced: SecondTrace[] = [];
  const sim = simulate(
    {
      peakPerSecond: events.length / Math.round(sentSeconds),
      durationSeconds: Math.round(sentSeconds),
      basePerSecond: 0,
      actionableShare: 0,
      duplicateShare: 0,
    },
    model.settings,
    model.figures,
    model.env,
    (s) => traced.push(s),
  );
  const sendWindow = Math.round(sentSeconds);
  const predictedBacklog = traced.map((s) => s.backlog);
  const measured = {
    throughput: processed.filter((t) => t <= sendEnd).length / sentSeconds,
    peakBacklog: Math.max(0, ...measuredBacklog),
    drainSeconds: Math.max(0, (lastProcessed - sendEnd) / 1000),
    backlog: measuredBacklog,
  };
  const predicted = {
    throughput: traced.slice(0, sendWindow).reduce((sum, s) => sum + s.landed, 0) / sendWindow,
    peakBacklog: sim.totals.peakBacklog,
    drainSeconds: sim.totals.drainSeconds,
    backlog: predictedBacklog,
  };
  return {
    name: load.name,
    share: load.share,
    sentPerSecond: perSecond,
    seconds: load.seconds,
    events: events.length,
    latencyMs,
    inFlight,
    measured,
    predicted,
    within: {
      throughput:
        Math.abs(measured.throughput - predicted.throughput) <= TOLERANCE.throughput * measured.throughput,
      peakBacklog:
        Math.abs(measured.peakBacklog - predicted.peakBacklog) <=
        TOLERANCE.backlogShareOfSent * events.length,
      drain:
        Math.abs(measured.drainSeconds - predicted.drainSeconds) <=
        TOLERANCE.drainShareOfSending * sentSeconds + TOLERANCE.drainSlackSeconds,
    },
  };
}

export async function measureCapacityValidation(): Promise<{ markdown: string; figures: ValidationFigures }> {
  const progress = (text: string) => console.error(`[capacity bench] ${text}`);
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cio-capacity-bench-'));
  const tap = new ProcessedTap();
  let stack: Stack | undefined;
  try {
    progress('starting the local stack');
    stack = await startStack({
      localDir,
      webhookPort: await freePort(),
      projectId: 'bench-capacity',
      env: { LOG_LEVEL: 'info' },
      onLog: tap.onLog,
    });
    const total = WARM_UP + CALIBRATION.events + 2000 * LOADS.length;
    const events: OutgoingEvent[] = generateEvents({ count: total, duplicateShare: 0, seed: SEED }).map(
      (e) => ({
        label: `${e.objectType}/${e.metric}`,
        eventId: e.eventId,
        body: Buffer.from(e.body),
      }),
    );
    let next = 0;
    const take = (n: number) => events.slice(next, (next += n));
    const burst = async (batch: OutgoingEvent[], concurrency: number) => {
      accept(await sendEvents(batch, { url: stack!.state.webhookUrl, key: stack!.signingKey, concurrency }));
      await tap.waitFor(
        batch.map((e) => e.eventId),
        DRAIN_TIMEOUT_MS,
      );
    };

    progress(`warm-up: ${WARM_UP} events`);
    await burst(take(WARM_UP), CALIBRATION.concurrency);
    progress(`calibration: ${CALIBRATION.events} events at once`);
    const calibration = take(CALIBRATION.events);
    await burst(calibration, CALIBRATION.concurrency);
    const done = calibration.map((e) => tap.at.get(e.eventId)!).sort((a, b) => a - b);
    const drainRate = (done.length - 1) / ((done.at(-1)! - done[0]!) / 1000);
    const burstLatency = mean(
      calibration.map((e) => tap.latencyMs.get(e.eventId) ?? NaN).filter(Number.isFinite),
    );
    const turnaroundMs = Math.max(0, (EMULATOR_PUSH_WINDOW * 1000) / drainRate - burstLatency);
    progress(`drained ${fmt(drainRate)} events/s; turnaround ${fmt(turnaroundMs)} ms per push`);

    const figures = loadCapacityFigures();
    const loads: LoadComparison[] = [];
    for (const load of LOADS) {
      const perSecond = load.share * drainRate;
      const batch = take(Math.round(perSecond * load.seconds));
      progress(`${load.name}: ${batch.length} events at ${fmt(perSecond)}/s`);
      loads.push(await compareLoad(stack, tap, batch, load, perSecond, figures, turnaroundMs));
    }
    const result: ValidationFigures = {
      measuredAt: new Date().toISOString(),
      drainRate,
      turnaroundMs,
      loads,
    };
    return { markdown: renderValidation(result), figures: result };
  } finally {
    await stack?.stop();
    fs.rmSync(localDir, { recursive: true, force: true });
  }
}

const verdict = (ok: boolean) => (ok ? 'within' : '**outside**');

export function renderValidation(f: ValidationFigures): string {
  const above = f.loads.at(-1)!;
  return [
    `Measured ${f.measuredAt}. The local stack (both functions, one instance each; the Pub/Sub and Firestore ` +
      'emulators; the DuckDB warehouse) with its own limits plugged into the model: the Pub/Sub emulator pushes at ' +
      `most ${EMULATOR_PUSH_WINDOW} messages at a time, so it drains at ${EMULATOR_PUSH_WINDOW} / time per push. A ` +
      "push takes the processor's mean invocation in the phase (this shared machine's load moves it) plus a " +
      `turnaround of ${fmt(f.turnaroundMs, 0)} ms that the handler's latency does not see (HTTP, the framework, the ` +
      `emulator between a response and its next push), measured once: a saturating burst of ${CALIBRATION.events} ` +
      `events drained at ${fmt(f.drainRate)} events/s, which also sets the two loads. Tolerance: throughput ` +
      `±${TOLERANCE.throughput * 100}% of the measured; the backlog and the drain time are differences of two close ` +
      'rates, so their errors count against what the phase sent: peak backlog within ' +
      `${TOLERANCE.backlogShareOfSent * 100}% of its events, drain within ${TOLERANCE.drainShareOfSending * 100}% of ` +
      `its sending time (+${TOLERANCE.drainSlackSeconds} s).`,
    '',
    table(
      [
        'load',
        'sent',
        'invocation (pushes in flight)',
        'throughput while sending: measured / predicted',
        'peak backlog: measured / predicted',
        'drain after sending: measured / predicted',
      ],
      f.loads.map((l) => [
        l.predicted.peakBacklog > 2 * EMULATOR_PUSH_WINDOW || l.share < 1
          ? l.name
          : `${l.name} (**not reached**: the stack kept up)`,
        `${l.events} events at ${fmt(l.sentPerSecond)}/s`,
        `${fmt(l.latencyMs, 0)} ms (${Number.isNaN(l.inFlight) ? 'never saturated' : fmt(l.inFlight)})`,
        `${fmt(l.measured.throughput)} / ${fmt(l.predicted.throughput)} events/s, ${verdict(l.within.throughput)}`,
        `${fmt(l.measured.peakBacklog, 0)} / ${fmt(l.predicted.peakBacklog, 0)}, ${verdict(l.within.peakBacklog)}`,
        `${fmt(l.measured.drainSeconds)} / ${fmt(l.predicted.drainSeconds)} s, ${verdict(l.within.drain)}`,
      ]),
    ),
    '',
    `Backlog above capacity, measured / predicted, every 5 s: ` +
      above.measured.backlog
        .map((m, i) => `${m}/${fmt(above.predicted.backlog[i] ?? 0, 0)}`)
        .filter((_, i) => i % 5 === 4)
        .join(', ') +
      ". Pushes in flight: invocation time over elapsed time while the backlog exceeded the window (Little's law).",
  ].join('\n');
}

export const benchmark: Benchmark = {
  name: 'capacity',
  run: async () => (await measureCapacityValidation()).markdown,
};
