// BENCHMARKS.md and its charts, from the figures of one `npm run bench`: the key figures against their targets, each
// benchmark's own tables, the charts, the cost per million events built from the measured operation counts, and
// what the capacity model makes of those figures (bench/capacity/).

import type { ValidationFigures } from '../capacity.bench';
import type { CompletenessFigures } from '../completeness.bench';
import type { CapacityFigures } from '../capacity/measured';
import { cloudEnvironment, simulate, sustainedCapacity } from '../capacity/model';
import { capacitySection, count } from '../capacity/report';
import { DEFAULT_MIX, SCENARIOS } from '../capacity/scenarios';
import type { DeploymentSettings } from '../capacity/terraform';
import {
  throughputRatio,
  type EndToEndFigures,
  type PhaseFigures,
  type ProcessorFigures,
  type WebhookFigures,
} from '../figures';
import {
  ASSUMPTIONS,
  PRICES,
  PRICES_READ_ON,
  costPerMillionEvents,
  minInstanceMonthlyUsd,
  total,
  type MeasuredPerEvent,
} from './cost';
import { fmt, percentile, table } from './markdown';
import { decades, lineChart } from './svg';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
}

export interface ReportInput {
  startedAt: Date;
  minutes: number;
  machine: Machine;
  /** 1, 5 and 15 minute load averages when the run started and when it ended. */
  load: { before: number[]; after: number[] };
  webhook: { markdown: string; figures: WebhookFigures };
  processor: { markdown: string; figures: ProcessorFigures };
  e2e: { markdown: string; figures: EndToEndFigures };
  /** The capacity model's inputs from this run, the Terraform defaults, and its check against the local stack. */
  capacity: {
    figures: CapacityFigures;
    settings: DeploymentSettings;
    validation: { markdown: string; figures: ValidationFigures };
  };
  /** bench/completeness.bench.ts: backfill and reconcile against the App API stand-in. */
  completeness?: { markdown: string; figures: CompletenessFigures };
}

export interface Report {
  markdown: string;
  /** File name (in bench/charts/) → SVG. */
  charts: Record<string, string>;
}

/** Where the charts go, relative to BENCHMARKS.md (the repository root). */
export const CHARTS_DIR = 'bench/charts';

const COLORS = { p99: '#c2410c', p50: '#1d4ed8', paced: '#1d4ed8', burst: '#c2410c', target: '#15803d' };

const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

/** Backfill against the App API's limit (dry run, then writing), its memory, and a day's reconcile. */
function completenessRows(figures: CompletenessFigures | undefined): string[][] {
  if (figures === undefined) return [];
  const writing = figures.backfill.filter((r) => !r.dryRun);
  const dry = figures.backfill.find((r) => r.dryRun);
  const share = (r: { requestRate: number }) => r.requestRate / 10;
  const sizes = (runs: Array<{ deliveries: number }>) =>
    runs.map((r) => `${count(r.deliveries / 1000)}k`).join(' / ');
  const rows: string[][] = [];
  if (dry !== undefined && writing[0] !== undefined)
    rows.push([
      `backfill of ${dry.deliveries.toLocaleString('en-US')} deliveries, share of the App API's 10 requests/s: dry run / writing to the local warehouse`,
      `${fmt(share(dry) * 100, 0)}% / ${fmt(share(writing[0]) * 100, 0)}%`,
      '≥ 80%',
      `${verdict(share(dry) >= 0.8)} / ${verdict(share(writing[0]) >= 0.8)} (the local warehouse binds)`,
    ]);
  if (writing.length > 1)
    rows.push([
      `backfill peak RSS, ${sizes(writing)} deliveries`,
      writing.map((r) => `${fmt(r.peakRssMiB, 0)} MiB`).join(' / '),
      'flat',
      '',
    ]);
  rows.push([
    `reconcile of a day with ${figures.reconcile.events.toLocaleString('en-US')} webhook events`,
    `${fmt(figures.reconcile.seconds, 1)} s`,
    '< 60 s',
    verdict(figures.reconcile.seconds < 60),
  ]);
  return rows;
}
/** "met", "**missed**", or which levels met and which missed. */
function perLevelVerdict(levels: number[], ok: boolean[]): string {
  if (ok.every(Boolean)) return verdict(true);
  if (!ok.some(Boolean)) return verdict(false);
  const at = (want: boolean) => levels.filter((_, i) => ok[i] === want).join(', ');
  return `met at ${at(true)}; **missed** at ${at(false)}`;
}
const usd = (n: number) => `$${n < 0.1 ? n.toFixed(3) : n.toFixed(2)}`;
const loads = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');

function formatMs(ms: number): string {
  if (ms < 1000) return `${fmt(ms, ms >= 1 ? 0 : 1)} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) || s >= 10 ? fmt(s, 0) : fmt(s, 1)} s`;
}

/** Inputs of the cost model: steady load from the burst, typical invocation durations from the quiet runs. */
export function measuredPerEvent(webhook: WebhookFigures, e2e: EndToEndFigures): MeasuredPerEvent {
  const p = e2e.burst.perEvent;
  return {
    firestoreReads: p.firestoreReads,
    firestoreWrites: p.firestoreWrites,
    pubsubMessageBytes: p.pubsubMessageBytes,
    rowBytes: p.rowBytes,
    rowBillableBytes: p.rowBillableBytes,
    // Every event was POSTed once (no duplicates in the stream).
    invocations: { webhook: 1, processor: p.processorInvocations },
    cpuMs: p.cpuMs,
    latencyMs: { webhook: webhook.webhook[0].p50, processor: e2e.paced.processor.p50 },
    logBytes: p.logBytes.webhook + p.logBytes.processor,
    logLines: p.logLines.webhook + p.logLines.processor,
  };
}

function ackChart(f: WebhookFigures): string {
  const all = [...f.webhook, ...f.baseline];
  const yTicks = decades(Math.min(...all.map((r) => r.p50)), Math.max(...all.map((r) => r.p99), 50));
  const series = (name: string, results: typeof f.webhook, key: 'p50' | 'p99', dashed: boolean) => ({
    name,
    color: COLORS[key],
    dashed,
    dots: true,
    points: results.map((r): [number, number] => [r.concurrency, r[key]]),
  });
  return lineChart({
    title: 'Webhook ack latency against concurrency',
    subtitle: 'Signed POST → 200 on loopback; cioWebhook waits for the Pub/Sub emulator to ack the publish.',
    x: {
      label: 'requests in flight (log scale)',
      min: 1,
      max: Math.max(...f.webhook.map((r) => r.concurrency)),
      log: true,
      ticks: f.webhook.map((r) => r.concurrency),
      format: (v) => String(v),
    },
    y: {
      label: 'latency, ms (log scale)',
      min: yTicks[0],
      max: yTicks.at(-1)!,
      log: true,
      ticks: yTicks,
      format: (v) => String(v),
    },
    series: [
      series('cioWebhook p99', f.webhook, 'p99', false),
      series('cioWebhook p50', f.webhook, 'p50', false),
      series('HMAC-only baseline p99', f.baseline, 'p99', true),
      series('HMAC-only baseline p50', f.baseline, 'p50', true),
    ],
    guides: [{ y: 50, label: 'target: cioWebhook p99 < 50 ms at 32 in flight', color: COLORS.target }],
  });
}

function cdf(latencies: number[]): Array<[number, number]> {
  return latencies.map((ms, i) => [ms, (i + 1) / latencies.length]);
}

function e2eChart(f: EndToEndFigures): string {
  const all = [...f.paced.latencies, ...f.burst.latencies].sort((a, b) => a - b);
  // From the 1st percentile: a stray reading near 0 (the poll ran while the 200 waited in our event loop) would
  // stretch the axis over empty decades; it is drawn at the left edge.
  const xTicks = decades(Math.max(1, percentile(all, 0.01)), all.at(-1)!);
  const name = (label: string, p: PhaseFigures) =>
    `${label}: p50 ${formatMs(percentile(p.latencies, 0.5))}, p99 ${formatMs(percentile(p.latencies, 0.99))}`;
  return lineChart({
    title: 'End to end: webhook 200 → row in the warehouse',
    subtitle:
      `Cumulative share of events, full local stack. Burst: the Pub/Sub emulator pushes 2 at a time, ` +
      `so its queue dominates.`,
    x: {
      label: 'latency (log scale)',
      min: xTicks[0],
      max: xTicks.at(-1)!,
      log: true,
      ticks: xTicks,
      format: formatMs,
    },
    y: {
      label: 'share of events with their row in',
      min: 0,
      max: 1,
      ticks: [0, 0.25, 0.5, 0.75, 1],
      format: (v) => `${Math.round(v * 100)}%`,
    },
    series: [
      {
        name: name(`paced ${f.paced.perSecond}/s`, f.paced),
        color: COLORS.paced,
        step: true,
        points: cdf(f.paced.latencies),
      },
      {
        name: name(`burst of ${f.burst.events}, ${f.burst.concurrency} senders`, f.burst),
        color: COLORS.burst,
        step: true,
        points: cdf(f.burst.latencies),
      },
    ],
    guides: [
      { y: 0.5, label: 'p50', color: '#6b7280' },
      { y: 0.99, label: 'p99', color: '#6b7280' },
    ],
  });
}

function costSection(input: ReportInput): {
  markdown: string;
  steady: number;
  sparse: number;
  fixed: number;
} {
  const measured = measuredPerEvent(input.webhook.figures, input.e2e.figures);
  const lines = costPerMillionEvents(measured);
  const steady = total(lines, 'steady');
  const sparse = total(lines, 'sparse');
  const fixed = minInstanceMonthlyUsd();
  const prices = Object.values(PRICES);
  const markdown = [
    "USD per million distinct events, beyond the free tiers, with Terraform's defaults (1 vCPU / 512 MiB per " +
      'function, one warm webhook instance). Quantities per event come from this run: Firestore operations, ' +
      'processor invocations, CPU and log bytes were measured in the burst of the end-to-end benchmark (steady ' +
      'load); Pub/Sub message and warehouse row sizes were computed by the production code for the events sent. ' +
      '**Steady**: instances busy with a stream of events, billed for their CPU time over a utilisation of ' +
      `${ASSUMPTIONS.steadyCpuUtilisation}. **Sparse**: every request alone on an instance, billed its duration ` +
      `rounded up to ${ASSUMPTIONS.billingGranularityMs} ms. CPU times are this machine's; a Cloud Run vCPU is ` +
      'not the same CPU, so read compute as a ballpark. The totals include one month of BigQuery storage.',
    '',
    table(
      ['service', 'item', 'per event', 'price', 'steady', 'sparse'],
      [
        ...lines.map((l) => [
          l.service,
          l.item,
          l.quantity,
          `${l.price.text}${l.price.confirmed ? '' : ' (assumption)'}`,
          usd(l.steady),
          usd(l.sparse),
        ]),
        ['**total**', '', '', '', `**${usd(steady)}**`, `**${usd(sparse)}**`],
      ],
    ),
    '',
    `Plus, whatever the traffic, the warm webhook instance (webhook_min_instances = ` +
      `${ASSUMPTIONS.webhookMinInstances}) at the idle rate: about ${usd(fixed)} per month (assumption: idle price ` +
      'from secondary sources). Duplicates Customer.io sends cost a webhook request, a publish and a push each, and ' +
      'one Firestore read in the processor (see the processor benchmark), but no write, row or Track call.',
    '',
    `Prices (list prices in USD, read on ${PRICES_READ_ON} from the stored copies of the pages named; ` +
      '"assumption" = not confirmed on Google\'s own page):',
    '',
    table(
      ['price', 'source', 'status'],
      prices.map((p) => [p.text, p.source, p.confirmed ? 'confirmed' : 'assumption']),
    ),
    '',
    'Assumptions (not measurable on this machine):',
    '',
    `- Ledger document: ${ASSUMPTIONS.ledgerDocBytes} B stored with its index entries, kept ` +
      `${ASSUMPTIONS.ledgerDays} days (DEDUPE_TTL_DAYS 30 plus up to a day of TTL lag).`,
    `- Pub/Sub: every publish request carries one message (group commit only batches concurrent requests), so it is ` +
      `billed the ${ASSUMPTIONS.pubsubMinRequestBytes}-byte minimum; the topic keeps messages ` +
      `${ASSUMPTIONS.topicRetentionDays} days (events_retention).`,
    `- Cloud Logging: ${ASSUMPTIONS.logEntryOverheadBytes} B of LogEntry metadata around each stdout line. Cloud ` +
      `Run's request log entries (${ASSUMPTIONS.requestLogBytes} B per invocation) are ` +
      (ASSUMPTIONS.requestLogsKept > 0
        ? 'counted, as with keep_request_logs = true.'
        : "not: Terraform's default excludes them (keep_request_logs = false)."),
    `- Steady compute: Cloud Run keeps instances about ${ASSUMPTIONS.steadyCpuUtilisation * 100}% busy.`,
  ].join('\n');
  return { markdown, steady, sparse, fixed };
}

export function renderReport(input: ReportInput): Report {
  const { webhook, processor, e2e, machine, load, capacity } = input;
  const w = webhook.figures;
  const at32 = w.webhook.find((r) => r.concurrency === 32)!;
  const ratios = w.webhook.map((r, i) => throughputRatio(r, w.baseline[i]).median);
  const cold = w.coldStartMs.webhook / w.coldStartMs.hello;
  const batched = processor.figures.find((v) => v.label.startsWith('micro-batched, no actions'))!.figures;
  const naive = processor.figures.find((v) => v.label.startsWith('naive'))!.figures;
  const mixed = processor.figures.find((v) => v.label.includes('bounced/spammed'))!.figures;
  const { paced, burst } = e2e.figures;
  const cost = costSection(input);
  const q = (p: PhaseFigures, x: number) => formatMs(percentile(p.latencies, x));
  const cloud = cloudEnvironment(capacity.settings);
  const scenarios = SCENARIOS.map((scenario) => ({
    scenario,
    simulation: simulate(scenario.shape, capacity.settings, capacity.figures, cloud),
  }));
  const capacityReport = capacitySection(
    scenarios,
    capacity.figures,
    capacity.settings,
    cloud,
    CHARTS_DIR,
    capacity.validation.markdown,
  );
  const [sustained] = sustainedCapacity(DEFAULT_MIX, capacity.settings, capacity.figures, cloud);
  const charts = {
    'ack-latency.svg': ackChart(w),
    'e2e-latency.svg': e2eChart(e2e.figures),
    ...capacityReport.charts,
  };

  const markdown = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts) on ${input.startedAt.toISOString()}, in ` +
      `${fmt(input.minutes)} minutes. Regenerate rather than edit.`,
    '',
    `> **Read these figures as ratios within one run.** They come from a ${machine.nproc}-core shared machine on ` +
      'which other work ran at the same time (load average 1 / 5 / 15 min: ' +
      `${loads(load.before)} at the start, ${loads(load.after)} at the end). Absolute numbers move from run to run; ` +
      'the comparisons (cioWebhook against the bare framework, micro-batched against naive, paced against burst) ' +
      'are measured in alternation within the same run and are what to rely on.',
    '',
    `Machine: ${machine.nproc} CPUs (${machine.cpuModel}), ${fmt(machine.memoryGiB)} GiB memory, ` +
      `Linux ${machine.kernel}, Node ${machine.node}.`,
    '',
    '## Key figures',
    '',
    table(
      ['figure', 'measured', 'target', ''],
      [
        [
          'cioWebhook ack p99 at 32 requests in flight',
          `${fmt(at32.p99)} ms`,
          '< 50 ms',
          verdict(at32.p99 < 50),
        ],
        [
          'cioWebhook / HMAC-only baseline throughput at ' + w.webhook.map((r) => r.concurrency).join(' / '),
          ratios.map((r) => fmt(r, 2)).join(' / '),
          '≥ 0.5',
          perLevelVerdict(
            w.webhook.map((r) => r.concurrency),
            ratios.map((r) => r >= 0.5),
          ),
        ],
        [
          'cold start, cioWebhook / functions-framework hello-world',
          `${fmt(cold, 2)} (${fmt(w.coldStartMs.webhook, 0)} / ${fmt(w.coldStartMs.hello, 0)} ms)`,
          '≤ 2',
          verdict(cold <= 2),
        ],
        [
          'processor events/s, micro-batched / naive (1 insertAll per event)',
          `${fmt(batched.eventsPerSecond, 0)} / ${fmt(naive.eventsPerSecond, 0)}`,
          '',
          '',
        ],
        [
          'insertAll requests per 1000 events, micro-batched / naive',
          `${fmt(batched.insertAllPer1000, 1)} / ${fmt(naive.insertAllPer1000, 1)}`,
          '',
          '',
        ],
        [
          'Firestore reads / writes per event',
          `${fmt(batched.reads, 2)} / ${fmt(batched.writes, 2)}`,
          '',
          '',
        ],
        ['Track calls per actionable event', fmt(mixed.trackPerActionable ?? NaN, 2), '1', ''],
        [
          `end to end, webhook 200 → warehouse row, paced ${paced.perSecond}/s: p50 / p99`,
          `${q(paced, 0.5)} / ${q(paced, 0.99)}`,
          '',
          '',
        ],
        [
          `end to end, burst of ${burst.events} (the emulator's push queue): p50 / p99`,
          `${q(burst, 0.5)} / ${q(burst, 0.99)}`,
          '',
          '',
        ],
        [
          'one deployment with the Terraform defaults sustains (capacity model)',
          `${count(sustained.perSecond)} events/s (${sustained.limit})`,
          '',
          '',
        ],
        ...completenessRows(input.completeness?.figures),
        [
          'cost per million events, steady / sparse traffic',
          `${usd(cost.steady)} / ${usd(cost.sparse)}, plus ${usd(cost.fixed)} per month for the warm webhook`,
          '',
          '',
        ],
      ],
    ),
    '',
    'Reading the webhook targets: with 1 request in flight, throughput is the inverse of latency, and ' +
      `cioWebhook's latency includes the publish round trip to Pub/Sub (p50 ${fmt(w.webhook[0].p50)} ms against ` +
      `the baseline's ${fmt(w.baseline[0].p50)} ms): it answers 200 only once Pub/Sub holds the message (docs/architecture.md, "The webhook"). ` +
      'The ratio rises with concurrency as the group commit shares publish calls. Its cold start ends at its first ' +
      '200, after loading the Pub/Sub client and opening a gRPC channel for the first publish; hello-world answers a ' +
      'GET.',
    '',
    '## Charts',
    '',
    `![Webhook ack latency p50 and p99 against concurrency, cioWebhook and HMAC-only baseline](${CHARTS_DIR}/ack-latency.svg)`,
    '',
    `![End-to-end latency distribution, webhook 200 to warehouse row, paced and burst](${CHARTS_DIR}/e2e-latency.svg)`,
    '',
    '## Webhook',
    '',
    webhook.markdown,
    '## Processor',
    '',
    processor.markdown,
    '',
    '## End to end (local stack)',
    '',
    e2e.markdown,
    '',
    ...(input.completeness === undefined
      ? []
      : [
          '## Completeness (backfill and reconcile against the App API stand-in)',
          '',
          input.completeness.markdown,
          '',
        ]),
    '## Cost per million events',
    '',
    cost.markdown,
    '',
    '## Capacity',
    '',
    capacityReport.markdown,
    '',
  ].join('\n');
  return { markdown, charts };
}
