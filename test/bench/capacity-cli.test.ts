// `npm run capacity`: its flags, its errors, and the summary it prints for the Terraform defaults.
import {
  HELP,
  parseDuration,
  parseRate,
  runCapacity,
  settingsFrom,
  shapeFrom,
} from '../../bench/capacity/cli';
import type { DeploymentSettings } from '../../bench/capacity/terraform';

const defaults: DeploymentSettings = {
  webhook: { minInstances: 1, maxInstances: 50, concurrency: 80, vcpus: 1 },
  processor: { minInstances: 0, maxInstances: 10, concurrency: 80, vcpus: 1 },
  trackMaxRps: 10,
  trackBudgetRps: 100,
  leaseSeconds: 120,
  retry: { minimumBackoffSeconds: 10, maximumBackoffSeconds: 600, maxDeliveryAttempts: 10 },
  retentionSeconds: 604_800,
  unindexedLedgerFields: ['expire_at'],
};

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCapacity(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('npm run capacity', () => {
  it('reads rates and durations the way people write them', () => {
    expect(parseRate('2000/s', 'burst')).toBe(2000);
    expect(parseRate('2k/s', 'burst')).toBe(2000);
    expect(parseRate('90000/min', 'burst')).toBe(1500);
    expect(parseRate('100', 'steady')).toBe(100);
    expect(parseDuration('30m', 'for')).toBe(1800);
    expect(parseDuration('1h30m', 'for')).toBe(5400);
    expect(() => parseRate('fast', 'burst')).toThrow('--burst must be a rate such as 2000/s');
    expect(() => parseDuration('30 minutes', 'for')).toThrow('--for must be a duration such as 90s, 30m');
    expect(() => parseDuration('10s', 'for')).toThrow('between 1m and 7 days');
  });

  it('builds a steady shape (its own base) or a burst back to --base, with the default mix', () => {
    expect(shapeFrom({ steady: '100/s' })).toEqual({
      peakPerSecond: 100,
      durationSeconds: 3600,
      basePerSecond: 100,
      actionableShare: 0.01,
      duplicateShare: 0.02,
    });
    expect(shapeFrom({ burst: '10000/s', for: '30m', base: '50/s', actionable: '0.2' })).toMatchObject({
      peakPerSecond: 10_000,
      durationSeconds: 1800,
      basePerSecond: 50,
      actionableShare: 0.2,
    });
    expect(() => shapeFrom({})).toThrow('give one of --steady RATE or --burst RATE');
    expect(() => shapeFrom({ steady: '1/s', burst: '2/s' })).toThrow('give one of');
    expect(() => shapeFrom({ steady: '1/s', base: '2/s' })).toThrow('--base goes with --burst');
    expect(() => shapeFrom({ burst: '1/s', actionable: '1.5' })).toThrow(
      '--actionable must be between 0 and 1',
    );
  });

  it('applies setting flags over the Terraform defaults and refuses what Terraform refuses', () => {
    const s = settingsFrom({ 'processor-max-instances': '50', 'track-max-rps': '2' }, defaults);
    expect(s.processor.maxInstances).toBe(50);
    expect(s.trackMaxRps).toBe(2);
    expect(s.webhook).toEqual(defaults.webhook);
    expect(() => settingsFrom({ 'processor-max-instances': '50' }, defaults)).toThrow(
      'processor max instances × track max rps (50 × 10) exceeds the Track budget (100)',
    );
    expect(() => settingsFrom({ 'webhook-cpu': '3' }, defaults)).toThrow(
      '--webhook-cpu must be one of 1, 2, 4, 6, 8',
    );
    expect(settingsFrom({ 'unindexed-ledger': true }, defaults).unindexedLedgerFields).toHaveLength(5);
  });

  it('prints the verdict, the binding limit and what moves it, then the timeline (Terraform defaults)', async () => {
    const { code, out, err } = await run('--burst', '10000/s', '--for', '30m');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^Traffic {5}burst of 10,000\/s for 30 min/);
    expect(out).toMatch(/\n(HOLDS|BENDS|BREAKS): /);
    expect(out).toContain('  binds first   ');
    expect(out).toContain('  moves it      ');
    expect(out).toMatch(/\nTimeline, every \d+ min/);
    expect(out).toMatch(/\n0:00 +10,000 /);
  });

  it('explains a bad command line in one line, exit code 2', async () => {
    expect(await run('--burst', '10000/s', '--for', 'soon')).toEqual({
      code: 2,
      out: '',
      err:
        '--for must be a duration such as 90s, 30m, 2h or 1h30m, got "soon"'.replace(/^/, 'capacity: ') +
        ' (see npm run capacity -- --help)\n',
    });
    const unknown = await run('--burst', '1/s', '--speed', '3');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^capacity: .*Unknown option '--speed'.*\n$/);
    expect((await run('--help')).out).toBe(HELP + '\n');
  });
});
