// `cio-webhooks reconcile` as a user runs it: the drift a person reads, the exit status a script reads, and the run
// written to the warehouse.
import { main } from '../../scripts/cli/index';
import type { Io } from '../../scripts/cli/args';
import { generateEvents } from '../../scripts/cli/generate-events';
import { APP_API_KEY, openCompleteness, type Completeness } from '../support/completeness';

const now = Math.floor(Date.now() / 1000);
let c: Completeness;

beforeEach(async () => {
  c = await openCompleteness();
  const events = generateEvents({
    count: 400,
    seed: 5,
    duplicateShare: 0,
    startMs: (now - 3 * 3600) * 1000,
  }).map((e) => JSON.parse(e.body) as object);
  c.record(events);
  await c.land(events);
  process.env.BIGQUERY_EMULATOR_HOST = c.warehouseServer.url;
});
afterEach(async () => {
  delete process.env.BIGQUERY_EMULATOR_HOST;
  await c.close();
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  let out = '';
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (out += t),
    isTTY: false,
    env: { CIO_APP_API_URL: c.appApi.url, CIO_APP_API_KEY: APP_API_KEY, ...env },
    localDir: '/nonexistent',
  };
  const code = await main(['reconcile', '--project', 'reconcile-test', '--settle', '0', ...args], io);
  return { code, out };
}

test('zero drift: exit 0, a table per day, the run recorded', async () => {
  const { code, out } = await cli(['--since', '1d']);
  expect(out).toMatch(/Drift 0\.00%: 0 missing here \+ 0 only here, of \d+ first occurrences judged/);
  expect(out).toMatch(/threshold 0\.10% · ok/);
  expect(out).toMatch(/By the day Customer\.io created the deliveries:/);
  expect(out).toMatch(/Not judged:\n/);
  expect(code).toBe(0);
  const runs = await c.sql(`SELECT status, missing_here, drift, trigger FROM customerio.reconcile_runs`);
  expect(runs).toEqual([{ status: 'ok', missing_here: 0, drift: 0, trigger: 'cli' }]);
  const [drift] = await c.sql(`SELECT COUNT(*) AS groups, SUM(customerio) AS cio, SUM(matched) AS matched
    FROM customerio.reconcile_drift`);
  expect(drift!.groups).toBeGreaterThan(5);
  expect(drift!.cio).toBe(drift!.matched);
});

test('lost rows: exit 3 over the threshold, the groups and delivery ids printed; --repair fills them', async () => {
  const [lost] = await c.sql(
    `SELECT delivery_id FROM customerio.events WHERE object_type = 'email' AND metric = 'sent' LIMIT 1`,
  );
  await c.sql(`DELETE FROM customerio.events WHERE delivery_id = '${String(lost!.delivery_id)}'`);
  const drifting = await cli(['--since', '1d']);
  process.stderr.write(drifting.out);
  expect(drifting.code).toBe(3);
  expect(drifting.out).toMatch(/Drift [\d.]+%: 1 missing here \+ 0 only here/);
  expect(drifting.out).toMatch(new RegExp(`email +sent +\\w+ +\\d+ +1 +0 +${String(lost!.delivery_id)}`));
  expect(drifting.out).toMatch(/is over the threshold 0\.10%/);
  // A looser threshold passes the same drift.
  expect((await cli(['--since', '1d', '--threshold', '5%'])).code).toBe(0);

  const repaired = await cli(['--since', '1d', '--repair']);
  expect(repaired.out).toMatch(/Repaired: wrote 1 rows \(source = 'app_api'\)/);
  expect((await cli(['--since', '1d'])).code).toBe(0);
  const runs = await c.sql(`SELECT status FROM customerio.reconcile_runs ORDER BY started_at`);
  expect(runs.map((r) => r.status)).toEqual(['drift', 'ok', 'drift', 'ok']);
});

test('a wrong key: exit 1 with what to fix, no run written', async () => {
  const { code, out } = await cli(['--since', '1d'], { CIO_APP_API_KEY: 'not-the-key' });
  expect(code).toBe(1);
  expect(out).toMatch(
    /cio-webhooks reconcile: Customer\.io refused the App API key of workspace default \(401/,
  );
  expect(out).not.toContain('not-the-key');
  expect(await c.sql(`SELECT * FROM customerio.reconcile_runs`)).toEqual([]);
});

test('bad flags and a workspace without a key are usage errors', async () => {
  expect((await cli(['--since', 'yesterday'])).out).toMatch(/--since must be a time before now/);
  expect((await cli(['--threshold', '200%'])).code).toBe(2);
  const other = await cli(['--workspace', 'brand-b']);
  expect([other.code, other.out]).toEqual([
    2,
    expect.stringMatching(/no App API key for workspace "brand-b": add it to CIO_WORKSPACE_APP_API_KEYS/),
  ]);
});
