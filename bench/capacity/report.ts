// What the capacity model says, for people: the one-screen summary and timeline `npm run capacity` prints, the
// backlog-and-delay chart, and the Capacity section of BENCHMARKS.md (the four scenarios, how far one deployment
// goes, the limits with their sources).

import { table } from '../report/markdown';
import { lineChart } from '../report/svg';
import { LIMITS, LIMITS_READ_ON, MODEL_ASSUMPTIONS } from './limits';
import type { CapacityFigures } from './measured';
import {
  deliveryMix,
  indexedSequentialFields,
  sustainedCapacity,
  trackAdmissionSeconds,
  type Environment,
  type LimitName,
  type Simulation,
  type StageCapacity,
} from './model';
import type { Scenario } from './scenarios';
import type { DeploymentSettings } from './terraform';

// ---------------------------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------------------------

const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** 950, 95,000, 950 k, 9.50 M. */
export function count(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n < 100_000) return int(n);
  if (n < 1e6) return `${int(n / 1000)} k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} M`;
}

export function rate(n: number): string {
  return `${n < 10 && n > 0 && !Number.isInteger(n) ? n.toFixed(1) : count(n)}/s`;
}

/** 45 s, 12 min, 3.4 h, 2.1 days; "never" for Infinity. */
export function duration(seconds: number): string {
  if (seconds === Infinity) return 'never';
  if (!Number.isFinite(seconds)) return 'n/a';
  if (seconds < 10) return `${+seconds.toFixed(1)} s`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/** Minutes since the start as h:mm. */
export function clock(minute: number): string {
  return `${Math.floor(minute / 60)}:${String(Math.floor(minute % 60)).padStart(2, '0')}`;
}

const instances = (n: number) => `${n} instance${n === 1 ? '' : 's'}`;
const usd = (n: number) => `$${n < 10 ? n.toFixed(2) : int(n)}`;
const percent = (share: number) => `${+(share * 100).toFixed(2)}%`;

// ---------------------------------------------------------------------------------------------------------------
// What binds, and what moves it
// ---------------------------------------------------------------------------------------------------------------

export function describeShape(shape: Simulation['shape']): string {
  const mix = `${percent(shape.actionableShare)} actionable, ${percent(shape.duplicateShare)} duplicates`;
  if (shape.peakPerSecond === shape.basePerSecond) {
    return `steady ${rate(shape.peakPerSecond)} for ${duration(shape.durationSeconds)} (${mix})`;
  }
  return (
    `burst of ${rate(shape.peakPerSecond)} for ${duration(shape.durationSeconds)} (${mix}), ` +
    `${shape.basePerSecond > 0 ? `on top of ${rate(shape.basePerSecond)}` : 'into a deployment at rest'}`
  );
}

export function describeSettings(s: DeploymentSettings, env: Environment): string {
  return settingsParts(s, env).join('; ');
}

function settingsParts(s: DeploymentSettings, env: Environment): string[] {
  const fn = (f: DeploymentSettings['webhook']) =>
    `${f.minInstances}–${f.maxInstances} instances × ${f.concurrency} concurrent, ${f.vcpus} vCPU`;
  const indexed = indexedSequentialFields(s);
  return [
    `webhook ${fn(s.webhook)}; processor ${fn(s.processor)}`,
    env.trackEnabled
      ? `Track ${s.trackMaxRps}/s per processor instance, ${s.trackBudgetRps}/s for the deployment`
      : 'Track API in dry-run',
    indexed.length > 0
      ? `ledger fields still indexed: ${indexed.join(', ')}`
      : 'no sequential ledger field indexed',
    `Cloud Run CPU quota ${env.regionalCpuQuota} vCPU in the region`,
  ];
}

/** Words of `text` in lines of at most `width`, every line after the first indented by `indent` spaces. */
export function wrap(text: string, indent: number, width = 116): string {
  const lead = /^ */.exec(text)![0];
  const lines: string[] = [];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    const margin = lines.length === 0 ? 0 : indent;
    if (line.trim() !== '' && margin + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line.trim() === '' ? line + word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** The setting (or request) that raises `limit`, with numbers for this deployment and shape. */
export function remedy(
  limit: LimitName,
  sim: Simulation,
  figures: CapacityFigures,
  nextStage: StageCapacity | undefined,
): string {
  const s = sim.settings;
  const peak = (pick: (r: Simulation['minutes'][number]) => number) => Math.max(0, ...sim.minutes.map(pick));
  const then = nextStage ? `; then ${nextStage.limit} binds at about ${rate(nextStage.perSecond)}` : '';
  switch (limit) {
    case 'webhook instances': {
      const needed = peak((r) => r.webhook.needed);
      return (
        `raise webhook_max_instances from ${s.webhook.maxInstances} to at least ${needed} (and the region's ` +
        `Cloud Run CPU quota with it): a capped webhook answers 429 and Customer.io holds every later event ` +
        `back for an hour${then}`
      );
    }
    case 'Cloud Run CPU quota': {
      const vcpus =
        peak((r) => r.webhook.needed) * s.webhook.vcpus + peak((r) => r.processor.needed) * s.processor.vcpus;
      return `request a Cloud Run CPU allocation quota of at least ${vcpus} vCPU in the region${then}`;
    }
    case 'processor CPU': {
      const needed = peak((r) => r.processor.needed);
      const admission = trackAdmissionSeconds(s.leaseSeconds);
      if (needed > s.trackBudgetRps) {
        return (
          `the processor needs ${needed} instances, but Terraform keeps processor_max_instances × track_max_rps ≤ ` +
          `track_api_rps_budget (${s.trackBudgetRps}): at most ${s.trackBudgetRps} instances at track_max_rps = 1 ` +
          `(with processor_concurrency ≤ ${Math.floor(admission)}); beyond that, let the backlog drain or give ` +
          `workspaces their own deployment (each has its own Track budget)${then}`
        );
      }
      const rps = Math.floor(s.trackBudgetRps / needed);
      return (
        `raise processor_max_instances from ${s.processor.maxInstances} to ${needed}; Terraform keeps ` +
        `processor_max_instances × track_max_rps ≤ track_api_rps_budget (${s.trackBudgetRps}), so lower ` +
        `track_max_rps to ${rps} with it, and keep processor_concurrency ≤ ${Math.floor(admission * rps)} ` +
        `(${admission} s × track_max_rps) so that bounces wait for a Track slot instead of being nacked${then}`
      );
    }
    case 'processor concurrency':
      return `raise processor_concurrency from ${s.processor.concurrency} (at most 1000)${then}`;
    case 'Firestore ramp (500/50/5)':
      return (
        'nothing to set: a new or quiet ledger collection takes 500 operations/s and 50% more every 5 minutes; ' +
        `the backlog of the first minutes drains once it has grown${then}`
      );
    case 'Firestore sequential index':
      return (
        `exempt ${indexedSequentialFields(s).join(', ')} from indexing (terraform/firestore.tf: one ` +
        `google_firestore_field with an empty index_config each; the ledger is read by document id only)${then}`
      );
    case 'Track API budget': {
      const share = deliveryMix(sim.shape, figures).actionable;
      if (sim.trackRegime === 'nack') {
        const admission = trackAdmissionSeconds(s.leaseSeconds);
        return (
          `processor_concurrency (${s.processor.concurrency}) exceeds the bounces an instance can hold for its ` +
          `Track slots (${admission} s × track_max_rps = ${Math.floor(admission * s.trackMaxRps)}), so bounces ` +
          `beyond Customer.io's ${s.trackBudgetRps} calls/s are nacked and retried until they are dead-lettered: ` +
          `lower processor_concurrency to ${Math.floor(admission * s.trackMaxRps)} (everything then waits with ` +
          `the bounces at ${rate(s.trackBudgetRps / share)}), or replay the dead letters after the storm`
        );
      }
      return (
        `Customer.io's limit of about ${s.trackBudgetRps} Track calls/s per workspace: with ${percent(share)} ` +
        `of deliveries needing a call the processor takes ${rate(s.trackBudgetRps / share)} and every event waits ` +
        `with the bounces; only Customer.io can raise it (then raise track_api_rps_budget), and each workspace ` +
        `has its own`
      );
    }
    case 'BigQuery streaming quota':
      return `request a higher BigQuery streaming insert quota (rows per second per table)${then}`;
    case 'Pub/Sub push window':
      return "the local Pub/Sub emulator's push concurrency (production Pub/Sub follows the processor)";
  }
}

/** Limits raised by the same setting: more processor instances also bring more concurrency slots. */
const RAISED_TOGETHER: Partial<Record<LimitName, LimitName[]>> = {
  'processor CPU': ['processor concurrency', 'Cloud Run CPU quota'],
  'Cloud Run CPU quota': ['processor CPU', 'processor concurrency', 'webhook instances'],
};

/** The stage that binds once `limit` is raised out of the way. */
export function nextAfter(limit: LimitName, stages: StageCapacity[]): StageCapacity | undefined {
  const skip = new Set<LimitName>([limit, 'Firestore ramp (500/50/5)', ...(RAISED_TOGETHER[limit] ?? [])]);
  return stages.find((s) => !skip.has(s.limit));
}

/**
 * The limit to act on: what makes it break (a refusing webhook, dead-lettered bounces), else the one that bound
 * longest among those a setting moves (Firestore's ramp only when nothing else bound).
 */
export function primaryLimit(sim: Simulation): LimitName | undefined {
  const longest = (spans: Simulation['bindings']) =>
    [...spans].sort((a, b) => b.seconds - a.seconds)[0]?.limit;
  const refusing = sim.bindings.find(
    (b) => b.limit === 'webhook instances' || b.limit === 'Cloud Run CPU quota',
  );
  if (sim.totals.refused > 0 && refusing) return refusing.limit;
  if (sim.totals.deadLettered > 0) return 'Track API budget';
  return (
    longest(sim.bindings.filter((b) => b.limit !== 'Firestore ramp (500/50/5)')) ?? longest(sim.bindings)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The one-screen summary and the timeline
// ---------------------------------------------------------------------------------------------------------------

export function summary(sim: Simulation, figures: CapacityFigures): string {
  const t = sim.totals;
  const m = sim.minutes;
  const peak = (pick: (r: (typeof m)[number]) => number) => Math.max(0, ...m.map(pick));
  const stages = sustainedCapacity(sim.shape, sim.settings, figures, sim.environment);
  const lines = [
    `Traffic     ${describeShape(sim.shape)}`,
    `Deployment  ${settingsParts(sim.settings, sim.environment).join('\n            ')}`,
    wrap(
      `Figures     measured ${figures.measuredAt.slice(0, 10)} (bench/capacity/measured.json): CPU ` +
        `${figures.cpuMs.webhook.toFixed(2)} / ${figures.cpuMs.processor.toFixed(2)} ms per request (webhook / ` +
        `processor), ${figures.firestore.fresh.reads} read + ${figures.firestore.fresh.writes} writes per event`,
      12,
    ),
    '',
    `${sim.verdict.toUpperCase()}: ${sim.verdict === 'holds' ? 'every event lands within a minute' : sim.reasons.join('; ')}`,
  ];
  const [first, ...rest] = sim.bindings;
  if (first !== undefined) {
    lines.push(
      wrap(
        `  binds first   ${first.limit} at ${clock(first.firstSecond / 60)}` +
          (rest.length > 0
            ? `; then ${rest.map((b) => `${b.limit} from ${clock(b.firstSecond / 60)} (${duration(b.seconds)})`).join(', ')}`
            : ''),
        16,
      ),
    );
    const limit = primaryLimit(sim)!;
    lines.push(wrap(`  moves it      ${remedy(limit, sim, figures, nextAfter(limit, stages))}`, 16));
  }
  lines.push(
    wrap(
      `  sustains      ${rate(stages[0]!.perSecond)} with this mix (${stages[0]!.limit}); ` +
        stages
          .slice(1, 4)
          .map((s) => `${s.limit} ${rate(s.perSecond)}`)
          .join(', '),
      16,
    ),
    '',
    `  Pub/Sub       peak backlog ${count(t.peakBacklog)} messages, oldest ${duration(t.peakOldestAgeSeconds)}; ` +
      (t.drainSeconds === 0
        ? 'no backlog after the shape'
        : `drains ${duration(t.drainSeconds)} after the shape ends`),
    `  delay         Customer.io → row up to ${duration(t.maxDelaySeconds)}` +
      (sim.environment.trackEnabled
        ? `; bounces and complaints wait up to ${duration(t.maxBounceWaitSeconds)} for their Track call`
        : ''),
    `  webhook       needs ${instances(peak((r) => r.webhook.needed))} at peak, ${m[0]?.webhook.available ?? 0} ` +
      `available${t.refused > 0 ? `: ${count(t.refused)} requests refused (429)` : ''}`,
    `  processor     needs ${instances(peak((r) => r.processor.needed))} at peak, ` +
      `${peak((r) => r.processor.available)} available; takes up to ${rate(peak((r) => r.deliveredPerSecond))}`,
    `  Firestore     up to ${rate(peak((r) => r.firestore.writesPerSecond))} writes and ` +
      `${rate(peak((r) => r.firestore.readsPerSecond))} reads; ramp allows ` +
      `${rate(m[0]?.firestore.rampOpsPerSecond ?? 0)} → ${rate(peak((r) => r.firestore.rampOpsPerSecond))} ops` +
      (sim.environment.sequentialIndexWrites !== undefined
        ? `, sequential index ${rate(sim.environment.sequentialIndexWrites)} writes`
        : ''),
    (sim.environment.trackEnabled
      ? `  Track API     up to ${rate(peak((r) => r.track.callsPerSecond))} of ` +
        rate(peak((r) => r.track.capacityPerSecond))
      : '  Track API     dry-run: no calls') +
      (sim.trackRegime === 'nack' && sim.shape.actionableShare > 0
        ? ' (processor_concurrency exceeds what its Track slots can hold: bounces beyond the budget are nacked and retried)'
        : ''),
    `  BigQuery      up to ${rate(peak((r) => r.bigquery.rowsPerSecond))} rows in ` +
      `${rate(peak((r) => r.bigquery.insertAllPerSecond))} insertAll requests, quota ${rate(sim.environment.bigqueryRowsPerSecond)} rows per table`,
    `  cost          ${usd(t.costUsd)} for ${count(t.distinctEvents)} events (${usd(t.costPerMillionEvents)} per million, ` +
      'bench/report/cost.ts prices)',
  );
  if (t.expired > 0)
    lines.push(`  LOST          ${count(t.expired)} messages older than the subscription retention`);
  if (t.deadLettered > 0)
    lines.push(`  dead letters  ${count(t.deadLettered)} bounces (replay-dead-letters)`);
  return lines.join('\n');
}

/** Minutes between timeline rows so that the table fits a screen. */
export function timelineStep(minutes: number, rows = 24): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
  return steps.find((s) => minutes / s <= rows) ?? 1440;
}

export function timeline(sim: Simulation, stepMinutes = timelineStep(sim.minutes.length)): string {
  const rows = sim.minutes.filter((r, i) => r.minute % stepMinutes === 0 || i === sim.minutes.length - 1);
  const header = [
    'time',
    'sent/s',
    'webhook',
    'processed/s',
    'processor',
    'backlog',
    'oldest',
    'writes/s',
    'Track/s',
    'rows/s',
    'delay',
    'binding',
  ];
  const cells = rows.map((r) => [
    clock(r.minute),
    count(r.offeredPerSecond),
    `${r.webhook.needed}→${r.webhook.running}`,
    count(r.deliveredPerSecond),
    `${r.processor.needed}→${r.processor.running}`,
    count(r.backlog),
    duration(r.oldestAgeSeconds),
    count(r.firestore.writesPerSecond),
    count(r.track.callsPerSecond),
    count(r.bigquery.rowsPerSecond),
    Number.isNaN(r.delaySeconds) ? '–' : duration(r.delaySeconds),
    r.binding ?? (r.refusedPerSecond > 0 ? 'webhook' : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 0 || i === c.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    wrap(
      `Timeline, every ${stepMinutes} min (instances: needed for the arriving traffic → running, at most ` +
        `${sim.minutes[0]?.webhook.available ?? 0} webhook and ${sim.minutes[0]?.processor.available ?? 0} ` +
        'processor; rates: means over the minute; backlog and oldest message: at its end):',
      2,
    ),
    line(header),
    ...cells.map(line),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Chart
// ---------------------------------------------------------------------------------------------------------------

/** 0 and round steps up to at least `max` (1, 2 or 5 × a power of ten). */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step - 1e-9; v += step) ticks.push(v);
  return ticks;
}

export function backlogChart(sim: Simulation, title: string): string {
  const m = sim.minutes;
  const end = Math.max(1, m.length);
  const xStep = timelineStep(end, 8);
  const xTicks: number[] = [];
  for (let v = 0; xTicks.at(-1) === undefined || xTicks.at(-1)! < end; v += xStep) xTicks.push(v);
  const backlogTicks = niceTicks(Math.max(10, ...m.map((r) => r.backlog)));
  const maxDelay = Math.max(1, ...m.map((r) => r.oldestAgeSeconds));
  const unit = maxDelay >= 2 * 3600 ? 3600 : 60;
  const delayTicks = niceTicks(Math.max(1, maxDelay / unit));
  const first = sim.bindings[0];
  return lineChart({
    title,
    subtitle:
      `Capacity model (npm run capacity): ${sim.verdict}` +
      (first ? `, bound first by ${first.limit}.` : '.'),
    x: {
      label: 'time since the traffic started (h:mm)',
      min: 0,
      max: xTicks.at(-1)!,
      ticks: xTicks,
      format: clock,
    },
    y: {
      label: 'messages in the subscription',
      min: 0,
      max: backlogTicks.at(-1)!,
      ticks: backlogTicks,
      format: (v) =>
        v >= 1e6 ? `${+(v / 1e6).toFixed(2)} M` : v >= 1e4 ? `${+(v / 1e3).toFixed(1)} k` : int(v),
    },
    y2: {
      label: `age of the oldest message (${unit === 3600 ? 'hours' : 'minutes'})`,
      min: 0,
      max: delayTicks.at(-1)!,
      ticks: delayTicks,
      format: (v) => String(+v.toFixed(1)),
    },
    series: [
      {
        name: 'backlog (left axis)',
        color: '#1d4ed8',
        points: m.map((r): [number, number] => [r.minute + 1, r.backlog]),
      },
      {
        name: 'oldest message age (right axis)',
        color: '#c2410c',
        dashed: true,
        right: true,
        points: m.map((r): [number, number] => [r.minute + 1, r.oldestAgeSeconds / unit]),
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// BENCHMARKS.md
// ---------------------------------------------------------------------------------------------------------------

export interface ScenarioResult {
  scenario: Scenario;
  simulation: Simulation;
}

export function capacitySection(
  results: ScenarioResult[],
  figures: CapacityFigures,
  settings: DeploymentSettings,
  env: Environment,
  chartsDir: string,
  validation: string,
): { markdown: string; charts: Record<string, string> } {
  const charts: Record<string, string> = {};
  for (const { scenario, simulation } of results) {
    charts[`capacity-${scenario.id}.svg`] = backlogChart(simulation, scenario.title);
  }
  const mix = results[0]!.scenario.shape;
  const stages = sustainedCapacity(mix, settings, figures, env);
  const rows = results.map(({ scenario, simulation: sim }) => {
    const t = sim.totals;
    const bindings = sim.bindings.map((b) => `${b.limit} (${duration(b.seconds)})`).join(' → ');
    return [
      scenario.title,
      `**${sim.verdict}**`,
      bindings || 'none',
      count(t.peakBacklog),
      t.drainSeconds === 0 ? '–' : duration(t.drainSeconds),
      duration(t.maxDelaySeconds),
      duration(t.maxBounceWaitSeconds),
      `${usd(t.costUsd)} (${usd(t.costPerMillionEvents)}/M)`,
    ];
  });
  const remedies = results
    .filter(({ simulation }) => simulation.bindings.length > 0)
    .map(({ scenario, simulation }) => {
      const limit = primaryLimit(simulation)!;
      return `- ${scenario.title}: ${remedy(limit, simulation, figures, nextAfter(limit, stages))}.`;
    });
  const limits = Object.values(LIMITS).map((l) => [
    l.text,
    l.source,
    l.confirmed ? 'confirmed' : 'assumption',
  ]);
  const markdown = [
    'What the traffic shapes below do to one deployment with the Terraform defaults (terraform/variables.tf, read ' +
      'by the model, as is which ledger fields terraform/firestore.tf exempts from indexing), computed second by ' +
      'second by `npm run capacity` (bench/capacity/) from the figures this run measured (CPU per request, ' +
      'Firestore operations per event, insertAll batching, bytes per event; saved in bench/capacity/measured.json) ' +
      `and the documented limits listed after the charts. Mix: ${percent(mix.actionableShare)} of events need a ` +
      `Track call, ${percent(mix.duplicateShare)} of requests are duplicates (bounce storm: ` +
      `${percent(results.at(-1)!.scenario.shape.actionableShare)}). **holds**: every event lands within ` +
      `${MODEL_ASSUMPTIONS.keepsUpSeconds} s; **bends**: a backlog builds and drains, nothing is lost; **breaks**: ` +
      'Customer.io is refused (and holds its stream back an hour), or messages expire or are dead-lettered.',
    '',
    `Deployment: ${describeSettings(settings, env)}.`,
    '',
    table(
      [
        'scenario',
        'verdict',
        'binding limits (time bound)',
        'peak backlog',
        'drains after the shape',
        'max delay to the row',
        'bounces wait',
        'cost',
      ],
      rows,
    ),
    '',
    'What moves the limit that matters most (what breaks it, else what binds longest):',
    '',
    ...remedies,
    '',
    ...results.map(
      ({ scenario }) =>
        `![${scenario.title}: backlog and oldest message age](${chartsDir}/capacity-${scenario.id}.svg)`,
    ),
    '',
    '### How far one deployment goes',
    '',
    `Sustained requests/s each stage takes with the mix above, once Firestore's ramp is past (slowest first):`,
    '',
    table(
      ['stage', 'sustains'],
      stages.map((s, i) => [
        i === 0 ? `**${s.limit}**` : s.limit,
        i === 0 ? `**${rate(s.perSecond)}**` : rate(s.perSecond),
      ]),
    ),
    '',
    `### Limits (read on ${LIMITS_READ_ON})`,
    '',
    table(['limit', 'source', 'status'], limits),
    '',
    'Model assumptions (not documented, not measurable here):',
    '',
    `- Request wall time in Google Cloud: webhook ${MODEL_ASSUMPTIONS.webhookLatencyMs} ms (publish round trip), ` +
      `processor ${MODEL_ASSUMPTIONS.processorLatencyMs} ms (ledger transaction, batched insertAll, done write); ` +
      'they decide the concurrency limits and add to the delay, CPU decides the rest.',
    `- A Node.js instance uses ${MODEL_ASSUMPTIONS.usableVcpusPerInstance} vCPU whatever it is given (one thread ` +
      'runs the JavaScript, gRPC included); an instance at its cap runs that vCPU flat out.',
    '- Pub/Sub delivers in publish order (it does not promise to; the oldest-message age is what its metric ' +
      'reports) and its push rate follows the processor.',
    '- Firestore: the ramp grows from what the collection served in the previous five minutes, never shrinks; ' +
      'the sequential-index limit holds whatever the ramp.',
    '- Customer.io, after a refused request, holds everything for an hour, then catches up as fast as the webhook ' +
      'accepts.',
    `- Pub/Sub's retry backoff doubles from retry_minimum_backoff to retry_maximum_backoff (dead letter after ` +
      'max_delivery_attempts).',
    '',
    '### The model against the local stack',
    '',
    validation,
  ].join('\n');
  return { markdown, charts };
}
