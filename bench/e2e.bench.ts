// End-to-end latency through the whole local stack, started as `npm start` starts it (scripts/local/stack.ts: Pub/Sub
// and Firestore emulators, push subscription, both functions from dist/, the DuckDB warehouse): signed events are
// POSTed to cioWebhook, pushed to cioProcessor, claimed in the Firestore ledger, given their (dry-run) actions and
// inserted into the warehouse. Per event: from the moment its 200 arrives to the first poll of the warehouse that
// returns its row. Two phases: events paced at a steady rate (the pipeline's own latency), then a burst sent as fast as
// a few senders can (queueing: the Pub/Sub emulator pushes at most 2 requests at a time, where Pub/Sub itself raises
// its push rate with the subscriber's successes). Beside the latency, what one event costs in operations, for the
// cost model: Firestore ops, processor invocations, insertAll requests, CPU of each function's processes, log bytes,
// and the Pub/Sub message and warehouse row sizes, computed by the production code for the very events sent.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateEvents } from '../scripts/cli/generate-events';
import { sendEvents, type OutgoingEvent, type SendResult } from '../scripts/cli/send';
import { freePort } from '../scripts/local/emulators';
import { startStack, type FunctionName, type Stack } from '../scripts/local/stack';
import { parseEvent } from '../shared/customerio/event';
import { toEventRow } from '../shared/warehouse/row';
import { messageAttributes, readEnvelope } from '../shared/webhook/envelope';
import { fmt, percentile, table } from './report/markdown';
import { commandLine, cpuMs, processGroup } from './report/proc';
import type { Benchmark, EndToEndFigures, PhaseFigures } from './figures';

const WARM_UP = 50;
const PACED = { events: 300, perSecond: 10 };
const BURST = { events: 500, concurrency: 8 };
const POLL_MS = 20;
const SEED = 20261126;
const DRAIN_TIMEOUT_MS = 120_000;
/** Pub/Sub bills 20 bytes for the publish timestamp and the message_id string (about 17 digits in production). */
const PUBSUB_MESSAGE_OVERHEAD_BYTES = 20 + 17;
/** BigQuery streaming inserts bill every row as at least 1 KB. */
const BQ_MIN_ROW_BYTES = 1024;

interface ProcessorLine {
  event_id?: string;
  outcome?: string;
  latency_ms?: number;
  firestore_ops?: { reads: number; writes: number };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);

/** What the functions write to stdout/stderr: bytes and lines per function, and the processor's per-event lines. */
class LogTap {
  readonly bytes: Record<FunctionName, number> = { webhook: 0, processor: 0 };
  readonly lines: Record<FunctionName, number> = { webhook: 0, processor: 0 };
  readonly processorLines = new Map<string, ProcessorLine[]>();

  onLog = (source: FunctionName, line: string): void => {
    this.bytes[source] += Buffer.byteLength(line) + 1;
    this.lines[source] += 1;
    if (source !== 'processor' || !line.startsWith('{')) return;
    let entry: ProcessorLine;
    try {
      entry = JSON.parse(line) as ProcessorLine;
    } catch {
      return; // not one of our structured lines (a framework message)
    }
    if (typeof entry.event_id !== 'string' || typeof entry.outcome !== 'string') return;
    this.processorLines.set(entry.event_id, [...(this.processorLines.get(entry.event_id) ?? []), entry]);
  };

  snapshot(): { bytes: Record<FunctionName, number>; lines: Record<FunctionName, number> } {
    return { bytes: { ...this.bytes }, lines: { ...this.lines } };
  }

  handled(id: string): boolean {
    return (this.processorLines.get(id) ?? []).some((l) => l.outcome === 'processed');
  }
}

/** The process group running each function (found by its --target argument). */
function functionGroups(stack: Stack): Record<FunctionName, number[]> {
  const groups: Partial<Record<FunctionName, number[]>> = {};
  for (const pgid of stack.processGroups) {
    const pids = processGroup(pgid);
    const args = pids.map(commandLine).join('\n');
    if (args.includes('--target=cioWebhook')) groups.webhook = pids;
    if (args.includes('--target=cioProcessor')) groups.processor = pids;
  }
  if (!groups.webhook || !groups.processor)
    throw new Error('cannot find the function processes of the stack');
  return groups as Record<FunctionName, number[]>;
}

/**
 * Polls the warehouse every POLL_MS until every id in `ids` has a row (or the deadline passes). A row is stamped with
 * the start of the first poll that returned it, so each stamp is late by at most one interval and one query.
 */
async function watchRows(
  stack: Stack,
  ids: ReadonlySet<string>,
  seen: Map<string, number>,
  deadline: () => number,
): Promise<number[]> {
  const queryMs: number[] = [];
  const sql = `SELECT event_id FROM ${stack.state.dataset}.events`;
  while ([...ids].some((id) => !seen.has(id)) && performance.now() < deadline()) {
    const started = performance.now();
    for (const row of await stack.warehouse.query(sql)) {
      const id = String(row.event_id);
      if (ids.has(id) && !seen.has(id)) seen.set(id, started);
    }
    queryMs.push(performance.now() - started);
    await sleep(Math.max(0, POLL_MS - (performance.now() - started)));
  }
  return queryMs;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`e2e bench: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Pub/Sub's billed size of the message cioWebhook publishes for this body: data and attributes
 * (docs/architecture.md, "The Pub/Sub message"). */
function pubsubMessageBytes(body: Buffer): number {
  const attributes = messageAttributes(
    readEnvelope(body),
    String(Math.floor(Date.now() / 1000)),
    new Date(),
    'default',
  );
  const attributeBytes = Object.entries(attributes).reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
  return body.length + attributeBytes + PUBSUB_MESSAGE_OVERHEAD_BYTES;
}

/** JSON size of the row the processor inserts for this body, with the actions the warehouse recorded. */
function rowBytes(body: Buffer, actions: string[]): number {
  const parsed = parseEvent(body);
  if (!parsed.ok) throw new Error(`generated event does not parse: ${parsed.detail}`);
  return Buffer.byteLength(
    JSON.stringify(
      toEventRow(parsed.event, { workspace: 'default', receivedAt: new Date().toISOString() }, actions),
    ),
  );
}

type Sender = (events: OutgoingEvent[], onResult: (result: SendResult) => void) => Promise<SendResult[]>;

function checkAccepted(results: SendResult[]): SendResult[] {
  const refused = results.filter((r) => r.status !== 200);
  if (refused.length > 0) {
    throw new Error(
      `e2e bench: ${refused.length} requests not accepted (first: ${refused[0].status ?? refused[0].error})`,
    );
  }
  return results;
}

function concurrentSender(stack: Stack, concurrency: number): Sender {
  return async (events, onResult) =>
    checkAccepted(
      await sendEvents(events, {
        url: stack.state.webhookUrl,
        key: stack.signingKey,
        concurrency,
        onResult,
      }),
    );
}

/** Open loop: request i starts at i / perSecond s, however long earlier ones take. */
function pacedSender(stack: Stack, perSecond: number): Sender {
  return async (events, onResult) => {
    const start = performance.now();
    const pending = events.map(async (event, i) => {
      await sleep(Math.max(0, start + (i * 1000) / perSecond - performance.now()));
      const [result] = await sendEvents([event], {
        url: stack.state.webhookUrl,
        key: stack.signingKey,
        onResult,
      });
      return result;
    });
    return checkAccepted(await Promise.all(pending));
  };
}

class EndToEnd {
  private readonly groups: Record<FunctionName, number[]>;

  constructor(
    private readonly stack: Stack,
    private readonly tap: LogTap,
  ) {
    this.groups = functionGroups(stack);
  }

  /** Sends the events, waits until every row is in and logged, and reads what it took. */
  async phase(events: OutgoingEvent[], sender: Sender): Promise<PhaseFigures> {
    const { stack, tap, groups } = this;
    const ids = new Set(events.map((e) => e.eventId));
    const acked = new Map<string, number>();
    const seen = new Map<string, number>();
    const logsBefore = tap.snapshot();
    const cpuBefore = { webhook: cpuMs(groups.webhook), processor: cpuMs(groups.processor) };
    const insertsBefore = stack.warehouse.stats.insertAllRequests;
    // The watch ends DRAIN_TIMEOUT_MS after the last request (not known yet when it starts).
    const sending = { doneAt: Infinity };
    const watching = watchRows(stack, ids, seen, () => sending.doneAt + DRAIN_TIMEOUT_MS);
    const started = performance.now();
    const results = await sender(events, (r) => {
      if (r.status === 200) acked.set(r.event.eventId, performance.now());
    });
    sending.doneAt = performance.now();
    const queryMs = await watching;
    const lastSeen = Math.max(sending.doneAt, ...seen.values());
    // The processor logs an event after its row is in; wait for those lines before reading the counters.
    await waitFor(
      () => events.every((e) => !seen.has(e.eventId) || tap.handled(e.eventId)),
      DRAIN_TIMEOUT_MS,
      'the processor log lines',
    );
    const cpu = {
      webhook: cpuMs(groups.webhook) - cpuBefore.webhook,
      processor: cpuMs(groups.processor) - cpuBefore.processor,
    };
    const logsAfter = tap.snapshot();
    const insertAllRequests = stack.warehouse.stats.insertAllRequests - insertsBefore;

    const latencies = events
      .filter((e) => seen.has(e.eventId))
      .map((e) => seen.get(e.eventId)! - acked.get(e.eventId)!)
      .sort((a, b) => a - b);
    const ackMs = results.map((r) => r.ms).sort((a, b) => a - b);
    const lines = events.flatMap((e) => tap.processorLines.get(e.eventId) ?? []);
    const processorMs = lines.map((l) => l.latency_ms ?? 0).sort((a, b) => a - b);
    const actions = new Map<string, string[]>(
      (await stack.warehouse.query(`SELECT event_id, actions FROM ${stack.state.dataset}.events`)).map(
        (r) => [String(r.event_id), (r.actions as string[] | null) ?? []],
      ),
    );
    const rows = events.map((e) => rowBytes(e.body, actions.get(e.eventId) ?? []));
    const per = (n: number) => n / events.length;
    const perFunction = (after: Record<FunctionName, number>, before: Record<FunctionName, number>) => ({
      webhook: per(after.webhook - before.webhook),
      processor: per(after.processor - before.processor),
    });
    return {
      events: events.length,
      latencies,
      missing: events.length - latencies.length,
      ack: { p50: percentile(ackMs, 0.5), p99: percentile(ackMs, 0.99) },
      processor: { p50: percentile(processorMs, 0.5), p99: percentile(processorMs, 0.99) },
      seconds: (lastSeen - started) / 1000,
      pollQueryMs: mean(queryMs),
      perEvent: {
        firestoreReads: per(lines.reduce((s, l) => s + (l.firestore_ops?.reads ?? 0), 0)),
        firestoreWrites: per(lines.reduce((s, l) => s + (l.firestore_ops?.writes ?? 0), 0)),
        processorInvocations: per(lines.length),
        insertAllRequests: per(insertAllRequests),
        cpuMs: { webhook: per(cpu.webhook), processor: per(cpu.processor) },
        logBytes: perFunction(logsAfter.bytes, logsBefore.bytes),
        logLines: perFunction(logsAfter.lines, logsBefore.lines),
        pubsubMessageBytes: mean(events.map((e) => pubsubMessageBytes(e.body))),
        rowBytes: mean(rows),
        rowBillableBytes: mean(rows.map((b) => Math.max(BQ_MIN_ROW_BYTES, b))),
      },
    };
  }
}

export async function measureEndToEnd(): Promise<{ markdown: string; figures: EndToEndFigures }> {
  const progress = (text: string) => console.error(`[e2e bench] ${text}`);
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cio-e2e-bench-'));
  const tap = new LogTap();
  let stack: Stack | undefined;
  try {
    progress('starting the local stack (emulators, functions from dist/, warehouse)');
    stack = await startStack({
      localDir,
      webhookPort: await freePort(),
      projectId: 'bench-e2e',
      // Only what the benchmark sets: dry-run actions, no Track credentials from the shell.
      env: { LOG_LEVEL: 'info' },
      onLog: tap.onLog,
    });
    const bench = new EndToEnd(stack, tap);
    const events: OutgoingEvent[] = generateEvents({
      count: WARM_UP + PACED.events + BURST.events,
      duplicateShare: 0,
      seed: SEED,
    }).map((e) => ({ label: `${e.objectType}/${e.metric}`, eventId: e.eventId, body: Buffer.from(e.body) }));

    // Warm-up: JIT, gRPC channels, the emulators' first transactions.
    progress(`warm-up: ${WARM_UP} events`);
    await bench.phase(events.slice(0, WARM_UP), concurrentSender(stack, BURST.concurrency));
    progress(`paced: ${PACED.events} events at ${PACED.perSecond}/s`);
    const paced = await bench.phase(
      events.slice(WARM_UP, WARM_UP + PACED.events),
      pacedSender(stack, PACED.perSecond),
    );
    progress(`burst: ${BURST.events} events, ${BURST.concurrency} senders`);
    const burst = await bench.phase(
      events.slice(WARM_UP + PACED.events),
      concurrentSender(stack, BURST.concurrency),
    );
    const figures: EndToEndFigures = {
      pollMs: POLL_MS,
      paced: { ...paced, perSecond: PACED.perSecond },
      burst: { ...burst, concurrency: BURST.concurrency },
    };
    return { markdown: render(figures), figures };
  } finally {
    await stack?.stop();
    fs.rmSync(localDir, { recursive: true, force: true });
  }
}

function render(f: EndToEndFigures): string {
  const phases = [
    [`paced, ${f.paced.perSecond} events/s`, f.paced],
    [`burst, ${f.burst.concurrency} senders`, f.burst],
  ] as const;
  const missing = phases.filter(([, p]) => p.missing > 0);
  return [
    `Generated events (every object_type/metric in a realistic mix, no duplicates, seed ${SEED}) after ${WARM_UP} ` +
      `warm-up events; Track in dry-run. Latency = from the event's 200 to the first warehouse poll that returned its ` +
      `row (a poll every ${f.pollMs} ms, ${fmt(f.paced.pollQueryMs)} ms each: a figure is late by up to one ` +
      'interval, or early by as long as a 200 waits in this process, which also runs the warehouse). The Pub/Sub ' +
      'emulator pushes at most 2 messages at a time, so the burst measures its queue: the ' +
      "drain rate is the emulator's, not what Pub/Sub would push to an autoscaled processor." +
      missing.map(([name, p]) => ` **${name}: ${p.missing} rows never appeared.**`).join(''),
    '',
    table(
      [
        'phase',
        'events',
        'webhook 200 → row p50 / p90 / p99 / max (ms)',
        'POST → 200 p50 / p99 (ms)',
        'processor invocation p50 / p99 (ms)',
        'first POST → last row (s)',
      ],
      phases.map(([name, p]) => {
        const q = (x: number) => fmt(percentile(p.latencies, x), 0);
        return [
          name,
          p.events,
          `${q(0.5)} / ${q(0.9)} / ${q(0.99)} / ${fmt(p.latencies.at(-1) ?? NaN, 0)}`,
          `${fmt(p.ack.p50)} / ${fmt(p.ack.p99)}`,
          `${fmt(p.processor.p50, 0)} / ${fmt(p.processor.p99, 0)}`,
          `${fmt(p.seconds)} (${fmt(p.events / p.seconds, 0)} events/s)`,
        ];
      }),
    ),
    '',
    'Measured per event (all deliveries of it):',
    '',
    table(
      [
        'phase',
        'Firestore reads / writes',
        'processor invocations',
        'insertAll requests per 1000 events',
        'CPU ms: webhook / processor',
        'log lines (bytes): webhook / processor',
        'Pub/Sub message bytes',
        'row bytes (billed, 1 KB min)',
      ],
      phases.map(([name, { perEvent: p }]) => [
        name,
        `${fmt(p.firestoreReads, 2)} / ${fmt(p.firestoreWrites, 2)}`,
        fmt(p.processorInvocations, 2),
        fmt(p.insertAllRequests * 1000, 0),
        `${fmt(p.cpuMs.webhook, 2)} / ${fmt(p.cpuMs.processor, 2)}`,
        `${fmt(p.logLines.webhook, 2)} (${fmt(p.logBytes.webhook, 0)}) / ${fmt(p.logLines.processor, 2)} (${fmt(p.logBytes.processor, 0)})`,
        fmt(p.pubsubMessageBytes, 0),
        `${fmt(p.rowBytes, 0)} (${fmt(p.rowBillableBytes, 0)})`,
      ]),
    ),
  ].join('\n');
}

export const benchmark: Benchmark = { name: 'e2e', run: async () => (await measureEndToEnd()).markdown };
