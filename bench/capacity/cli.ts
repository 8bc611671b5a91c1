// `npm run capacity`: what a traffic shape does to the deployment Terraform describes. Prints the verdict, the limit
// that binds first and what moves it, then the timeline; --chart writes the backlog-and-delay chart, --json the
// whole per-minute timeline.

import fs from 'node:fs';
import {
  UsageError,
  numberOption,
  parseCommandLine,
  stringOption,
  type ParsedValues,
} from '../../scripts/cli/args';
import { loadCapacityFigures } from './measured';
import { SEQUENTIAL_LEDGER_FIELDS, cloudEnvironment, simulate, type Shape } from './model';
import { backlogChart, describeShape, summary, timeline } from './report';
import { DEFAULT_MIX } from './scenarios';
import { readDeploymentSettings, type DeploymentSettings } from './terraform';

export const HELP = `Usage: npm run capacity -- (--steady RATE | --burst RATE) [options]

What a traffic shape does to one deployment: instances, Pub/Sub backlog and the age of its oldest message,
Firestore writes against the ramp rule and the index limit, Track calls against the budget, BigQuery rows,
delay from Customer.io to the row, and cost, minute by minute; then which limit binds first and what moves it.
Settings default to terraform/variables.tf, figures to the last \`npm run bench\` (bench/capacity/measured.json).

Traffic (RATE: 2000/s, 2k/s, 90000/min; DURATION: 90s, 30m, 2h, 1h30m):
  --steady RATE              a constant rate the deployment already carries (Firestore warmed to it)
  --burst RATE               a burst into the deployment, then back to --base
  --for DURATION             how long (default 60m steady, 30m burst)
  --base RATE                traffic before and after the burst (default 0/s)
  --actionable SHARE         share of events that call the Track API, 0-1 (default ${DEFAULT_MIX.actionableShare})
  --duplicates SHARE         share of requests that repeat an event, 0-1 (default ${DEFAULT_MIX.duplicateShare})

Deployment (Terraform variables; default: their defaults):
  --webhook-min-instances N  --webhook-max-instances N  --webhook-concurrency N  --webhook-cpu N
  --processor-min-instances N  --processor-max-instances N  --processor-concurrency N  --processor-cpu N
  --track-max-rps N          track_max_rps (Track calls/s per processor instance)
  --track-budget N           track_api_rps_budget (Track calls/s for the deployment)
  --unindexed-ledger         as if every sequential ledger field (${SEQUENTIAL_LEDGER_FIELDS.join(', ')}) were
                             exempt from indexing in terraform/firestore.tf
  --dry-run                  no Track calls (track_api_enabled = false)
  --cpu-quota N              the project's Cloud Run CPU quota in the region, vCPU (default 1000)

Output:
  --every DURATION           timeline step (default: whatever fits a screen)
  --chart FILE               write the backlog and delay chart (SVG)
  --json                     print the simulation as JSON instead
  --help

Examples:
  npm run capacity -- --burst 10000/s --for 30m
  npm run capacity -- --steady 100/s
  npm run capacity -- --burst 2000/s --actionable 0.2 --processor-max-instances 50 --track-max-rps 2`;

const OPTIONS = {
  steady: { type: 'string' },
  burst: { type: 'string' },
  for: { type: 'string' },
  base: { type: 'string' },
  actionable: { type: 'string' },
  duplicates: { type: 'string' },
  'webhook-min-instances': { type: 'string' },
  'webhook-max-instances': { type: 'string' },
  'webhook-concurrency': { type: 'string' },
  'webhook-cpu': { type: 'string' },
  'processor-min-instances': { type: 'string' },
  'processor-max-instances': { type: 'string' },
  'processor-concurrency': { type: 'string' },
  'processor-cpu': { type: 'string' },
  'track-max-rps': { type: 'string' },
  'track-budget': { type: 'string' },
  'unindexed-ledger': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'cpu-quota': { type: 'string' },
  every: { type: 'string' },
  chart: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const UNITS: Record<string, number> = { s: 1, sec: 1, min: 60, m: 60, h: 3600 };

/** "2000/s", "2k/s", "90000/min", "100" (per second) → events per second. */
export function parseRate(raw: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(k)?(?:\/(s|sec|min|m|h))?$/.exec(raw.trim());
  if (!match)
    throw new UsageError(`--${flag} must be a rate such as 2000/s, 2k/s or 90000/min, got "${raw}"`);
  const value = (Number(match[1]) * (match[2] ? 1000 : 1)) / UNITS[match[3] ?? 's']!;
  if (value > 1e6) throw new UsageError(`--${flag} must be at most 1,000,000 events/s, got "${raw}"`);
  return value;
}

/** "90s", "30m", "2h", "1h30m" → seconds. */
export function parseDuration(raw: string, flag: string): number {
  const parts = [...raw.trim().matchAll(/(\d+)(h|m|s)/g)];
  const whole = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || whole !== raw.trim()) {
    throw new UsageError(`--${flag} must be a duration such as 90s, 30m, 2h or 1h30m, got "${raw}"`);
  }
  const seconds = parts.reduce(
    (sum, p) => sum + Number(p[1]) * { h: 3600, m: 60, s: 1 }[p[2] as 'h' | 'm' | 's'],
    0,
  );
  if (seconds < 60 || seconds > 7 * 86_400) {
    throw new UsageError(`--${flag} must be between 1m and 7 days, got "${raw}"`);
  }
  return seconds;
}

function share(values: ParsedValues, name: string, fallback: number): number {
  return numberOption(values, name, { min: 0, max: 1, integer: false }) ?? fallback;
}

export function shapeFrom(values: ParsedValues): Shape {
  const steady = stringOption(values, 'steady');
  const burst = stringOption(values, 'burst');
  if ((steady === undefined) === (burst === undefined)) {
    throw new UsageError('give one of --steady RATE or --burst RATE');
  }
  if (steady !== undefined && stringOption(values, 'base') !== undefined) {
    throw new UsageError('--base goes with --burst (a steady shape is its own base)');
  }
  const forRaw = stringOption(values, 'for');
  const durationSeconds =
    forRaw !== undefined ? parseDuration(forRaw, 'for') : steady !== undefined ? 3600 : 1800;
  const peak = parseRate((steady ?? burst)!, steady !== undefined ? 'steady' : 'burst');
  const baseRaw = stringOption(values, 'base');
  return {
    peakPerSecond: peak,
    durationSeconds,
    basePerSecond: steady !== undefined ? peak : baseRaw !== undefined ? parseRate(baseRaw, 'base') : 0,
    actionableShare: share(values, 'actionable', DEFAULT_MIX.actionableShare),
    duplicateShare: share(values, 'duplicates', DEFAULT_MIX.duplicateShare),
  };
}

/** The Terraform defaults with the flags applied, checked as terraform/variables.tf checks them. */
export function settingsFrom(values: ParsedValues, defaults: DeploymentSettings): DeploymentSettings {
  const int = (name: string, min: number, max: number) => numberOption(values, name, { min, max });
  const cpu = (name: string): number | undefined => {
    const v = int(name, 1, 8);
    if (v !== undefined && ![1, 2, 4, 6, 8].includes(v)) {
      throw new UsageError(`--${name} must be one of 1, 2, 4, 6, 8 (Cloud Run functions), got ${v}`);
    }
    return v;
  };
  const fn = (prefix: 'webhook' | 'processor') => {
    const d = defaults[prefix];
    const f = {
      minInstances: int(`${prefix}-min-instances`, 0, 100) ?? d.minInstances,
      maxInstances: int(`${prefix}-max-instances`, 1, 1000) ?? d.maxInstances,
      concurrency: int(`${prefix}-concurrency`, 1, 1000) ?? d.concurrency,
      vcpus: cpu(`${prefix}-cpu`) ?? d.vcpus,
    };
    if (f.minInstances > f.maxInstances) {
      throw new UsageError(
        `--${prefix}-min-instances (${f.minInstances}) exceeds max instances (${f.maxInstances})`,
      );
    }
    return f;
  };
  const settings: DeploymentSettings = {
    ...defaults,
    webhook: fn('webhook'),
    processor: fn('processor'),
    trackMaxRps: int('track-max-rps', 1, 100) ?? defaults.trackMaxRps,
    trackBudgetRps: int('track-budget', 1, 100) ?? defaults.trackBudgetRps,
    unindexedLedgerFields:
      values['unindexed-ledger'] === true ? [...SEQUENTIAL_LEDGER_FIELDS] : defaults.unindexedLedgerFields,
  };
  if (settings.processor.maxInstances * settings.trackMaxRps > settings.trackBudgetRps) {
    throw new UsageError(
      `processor max instances × track max rps (${settings.processor.maxInstances} × ${settings.trackMaxRps}) ` +
        `exceeds the Track budget (${settings.trackBudgetRps}); Terraform refuses that deployment: lower one of them`,
    );
  }
  return settings;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export async function runCapacity(argv: readonly string[], io: Output): Promise<number> {
  try {
    const { values } = parseCommandLine(argv, OPTIONS);
    if (values.help === true) {
      io.out(HELP + '\n');
      return 0;
    }
    const shape = shapeFrom(values);
    const settings = settingsFrom(values, await readDeploymentSettings());
    const cpuQuota = numberOption(values, 'cpu-quota', { min: 1, max: 100_000 });
    const env = cloudEnvironment(settings, {
      trackEnabled: values['dry-run'] !== true,
      ...(cpuQuota !== undefined && { regionalCpuQuota: cpuQuota }),
    });
    const every = stringOption(values, 'every');
    const step = every !== undefined ? parseDuration(every, 'every') / 60 : undefined;
    const figures = loadCapacityFigures();
    const simulation = simulate(shape, settings, figures, env);
    const chart = stringOption(values, 'chart');
    if (chart !== undefined)
      fs.writeFileSync(chart, backlogChart(simulation, `Capacity: ${describeShape(shape)}`));
    if (values.json === true) {
      io.out(JSON.stringify(simulation, (_, v: unknown) => (v === Infinity ? 'Infinity' : v), 2) + '\n');
    } else {
      io.out(`${summary(simulation, figures)}\n\n${timeline(simulation, step)}\n`);
      if (chart !== undefined) io.out(`\nChart: ${chart}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`capacity: ${err.message} (see npm run capacity -- --help)\n`);
      return 2;
    }
    io.err(`capacity: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  runCapacity(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  }).then((code) => (process.exitCode = code));
}
