// The capacity model, Terraform and the README's Scaling section tell one story: the model reads its settings from
// terraform/ (never a copy), its list of sequential ledger fields matches the ledger's code, and every figure the
// README gives for one deployment is what the model computes from the Terraform defaults and the measured figures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCapacityFigures } from '../../bench/capacity/measured';
import {
  SEQUENTIAL_LEDGER_FIELDS,
  cloudEnvironment,
  deliveryMix,
  simulate,
  sustainedCapacity,
  trackAdmissionSeconds,
} from '../../bench/capacity/model';
import { DEFAULT_MIX, SCENARIOS } from '../../bench/capacity/scenarios';
import { readDeploymentSettings, type DeploymentSettings } from '../../bench/capacity/terraform';

const ROOT = path.join(__dirname, '..', '..');
const TF_DIR = path.join(ROOT, 'terraform');

function tempTerraform(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-tf-'));
  fs.copyFileSync(path.join(TF_DIR, 'variables.tf'), path.join(dir, 'variables.tf'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const field = (name: string, body: string) => `
resource "google_firestore_field" "${name}" {
  project    = var.project_id
  database   = "(default)"
  collection = var.dedupe_collection
  ${body}
  index_config {}
}`;

describe('capacity model and terraform/', () => {
  it('reads the settings from the Terraform defaults, not from a copy', async () => {
    const real = await readDeploymentSettings(TF_DIR);
    const variables = fs.readFileSync(path.join(TF_DIR, 'variables.tf'), 'utf8');
    const changed = variables.replace(
      /(variable "webhook_max_instances" \{[\s\S]*?default\s*=\s*)\d+/,
      (_, head: string) => `${head}7`,
    );
    const dir = tempTerraform({});
    fs.writeFileSync(path.join(dir, 'variables.tf'), changed);
    const settings = await readDeploymentSettings(dir);
    expect(settings.webhook.maxInstances).toBe(7);
    expect({ ...settings, webhook: real.webhook, unindexedLedgerFields: [] }).toEqual({
      ...real,
      unindexedLedgerFields: [],
    });
    // Durations ("600s") become seconds.
    expect(real.retry.maximumBackoffSeconds).toBe(600);
    expect(real.processor.maxInstances * real.trackMaxRps).toBeLessThanOrEqual(real.trackBudgetRps);
  });

  it('finds the ledger fields exempt from indexing, one resource each or through for_each', async () => {
    expect((await readDeploymentSettings(TF_DIR)).unindexedLedgerFields).toContain('expire_at');
    const literal = tempTerraform({
      'f.tf': field('a', 'field = "lease_until"') + field('b', 'field = "done_at"'),
    });
    expect((await readDeploymentSettings(literal)).unindexedLedgerFields).toEqual(['done_at', 'lease_until']);
    const forEach = tempTerraform({
      'f.tf': field('all', 'for_each = toset(["event_id", "first_seen_at"])\n  field = each.value'),
    });
    expect((await readDeploymentSettings(forEach)).unindexedLedgerFields).toEqual([
      'event_id',
      'first_seen_at',
    ]);
    const viaLocal = tempTerraform({
      'f.tf':
        'locals {\n  unindexed = ["state", "lease_until"]\n}\n' +
        field('all', 'for_each = toset(local.unindexed)\n  field = each.key'),
    });
    expect((await readDeploymentSettings(viaLocal)).unindexedLedgerFields).toEqual(['lease_until', 'state']);
    // An index_config that keeps indexes is no exemption.
    const kept = tempTerraform({
      'f.tf': field('kept', 'field = "done_at"').replace(
        'index_config {}',
        'index_config {\n    indexes {\n      order = "ASCENDING"\n    }\n  }',
      ),
    });
    expect((await readDeploymentSettings(kept)).unindexedLedgerFields).toEqual([]);
  });

  it('knows every ledger field whose values only grow: the timestamps and the time-ordered event_id', () => {
    const ledger = fs.readFileSync(path.join(ROOT, 'shared', 'processor', 'ledger.ts'), 'utf8');
    const doc = /interface LedgerDoc \{([\s\S]*?)\n\}/.exec(ledger)![1];
    const timestamps = [...doc.matchAll(/^\s*(\w+): Timestamp\b/gm)].map((m) => m[1]).sort();
    expect(timestamps.length).toBeGreaterThan(0);
    expect([...timestamps, 'event_id'].sort()).toEqual(SEQUENTIAL_LEDGER_FIELDS);
  });
});

describe('the README Scaling section agrees with the model and the Terraform defaults', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const scaling = /\n## Scaling\n([\s\S]*?)\n## /.exec(readme)![1];
  const figures = loadCapacityFigures();
  let defaults: DeploymentSettings;
  beforeAll(async () => {
    defaults = await readDeploymentSettings(TF_DIR);
  });
  const sustained = (
    settings: DeploymentSettings,
    mix: { actionableShare: number; duplicateShare: number } = DEFAULT_MIX,
  ) => sustainedCapacity(mix, settings, figures, cloudEnvironment(settings));
  const unindexed = (s: DeploymentSettings) => ({
    ...s,
    unindexedLedgerFields: [...SEQUENTIAL_LEDGER_FIELDS],
  });
  const stage = (settings: DeploymentSettings, limit: string) =>
    sustained(settings).find((s) => s.limit === limit)!.perSecond;
  /** The number the README writes (e.g. "about **1,090 events/s**") after `before`. */
  const written = (before: RegExp): number => {
    const match = new RegExp(before.source + String.raw`\**([\d,]+)`).exec(scaling);
    if (!match) throw new Error(`README Scaling: no number after ${before}`);
    return Number(match[1].replace(/,/g, ''));
  };
  /**
   * The README rounds: within 3% of figures that follow from documented limits, within 25% of those that follow from
   * measured CPU time, which moves by a quarter between runs on a shared machine. The message says what to write.
   */
  const agrees = (what: string, readmeValue: number, model: number, measured = false) => {
    const ok = Math.abs(readmeValue - model) <= (measured ? 0.25 : 0.03) * model;
    if (!ok)
      throw new Error(
        `README Scaling says ${readmeValue} for ${what}; the model computes ${Math.round(model)}`,
      );
  };

  it('says how far one deployment goes: the processor binds, the ledger being unindexed', () => {
    expect(defaults.unindexedLedgerFields).toEqual(expect.arrayContaining([...SEQUENTIAL_LEDGER_FIELDS]));
    const [first] = sustained(defaults);
    agrees('one deployment', written(/keeps up with about /), first.perSecond, true);
    expect(first.limit).toBe('processor CPU');
    agrees('the webhook cap', written(/that is about /), stage(defaults, 'webhook instances'), true);
  });

  it('gives each stage the rate the model gives it', () => {
    const webhook = stage(defaults, 'webhook instances');
    agrees('the webhook', written(/\| webhook \| about /), webhook, true);
    const perInstance = webhook / defaults.webhook.maxInstances;
    agrees('one webhook instance', written(/instances, each about /), perInstance, true);
    agrees('one webhook instance at the target', written(/flat out \(/), perInstance * 0.6, true);
    agrees('webhook instances per request/s', written(/peak requests\/s ÷ /), perInstance * 0.6, true);
    agrees(
      'the processor',
      written(/\| processor \| about /),
      stage(unindexed(defaults), 'processor CPU'),
      true,
    );
    const mix = deliveryMix(
      { ...DEFAULT_MIX, peakPerSecond: 0, durationSeconds: 0, basePerSecond: 0 },
      figures,
    );
    agrees('the indexed ledger', written(/\| Firestore ledger \| /), 500 / mix.writes);
    agrees('a new ledger collection', written(/500 operations\/s \(about /), 500 / (mix.reads + mix.writes));
    const storm = { ...DEFAULT_MIX, actionableShare: 0.2 };
    const tracked = sustained(unindexed(defaults), storm).find((s) => s.limit === 'Track API budget')!;
    agrees('a 20% bounce storm', written(/a 20% storm: about /), tracked.perSecond);
  });

  it('gives the processor ceiling and the Track rules Terraform and the processor enforce', () => {
    const admission = trackAdmissionSeconds(defaults.leaseSeconds);
    expect(scaling).toContain(`≤ ${admission} × \`track_max_rps\``);
    expect(scaling).toContain(`waits up to ${admission} s`);
    // The webhook raised as the README says for such traffic (peak ÷ 580 instances), so that the ceiling is the
    // processor's: with its default 10 instances the two are within a few percent, which a run's CPU figures swap.
    const ceiling = {
      ...unindexed(defaults),
      webhook: { ...defaults.webhook, maxInstances: defaults.trackBudgetRps },
      processor: { ...defaults.processor, maxInstances: defaults.trackBudgetRps, concurrency: admission },
      trackMaxRps: 1,
    };
    const [top] = sustained(ceiling);
    agrees('the ceiling', written(/the ceiling is \d+ instances, about /), top.perSecond, true);
    expect(top.limit).toBe('processor concurrency');
    expect(scaling).toContain(`the ceiling is ${defaults.trackBudgetRps} instances`);
    expect(scaling).toContain(`with ${admission} requests in flight each, concurrency binds before CPU`);
    const vcpus =
      defaults.webhook.maxInstances * defaults.webhook.vcpus +
      defaults.processor.maxInstances * defaults.processor.vcpus;
    expect(scaling).toContain(`(${vcpus} vCPU with the defaults)`);
  });

  it('keeps the webhook, which must never refuse Customer.io, faster than everything behind it', () => {
    const [slowest] = sustained(defaults).filter((s) => s.limit !== 'webhook instances');
    expect(stage(defaults, 'webhook instances')).toBeGreaterThan(slowest.perSecond);
  });

  it('holds the steady scenario with the defaults', () => {
    const steady = SCENARIOS.find((s) => s.id === 'steady-100')!;
    expect(simulate(steady.shape, defaults, figures, cloudEnvironment(defaults)).verdict).toBe('holds');
  });
});
