// What the scheduled cioReconcile logs and records: the log lines its alerts count (reconcile_drift, reconcile_failed,
// stall) and the run in reconcile_runs.
import { generateEvents } from '../../scripts/cli/generate-events';
import { createLogger } from '../../shared/log';
import { scheduledReconcile, stallCheck, type ScheduledDeps } from '../../shared/reconcile/scheduled';
import { APP_API_KEY, openCompleteness, type Completeness } from '../support/completeness';

const now = Math.floor(Date.now() / 1000);
let c: Completeness;
let lines: Record<string, unknown>[];

const deps = (overrides: Partial<ScheduledDeps> = {}): ScheduledDeps => ({
  config: { days: 2, threshold: 0.001, repair: false, settleMinutes: 0, stallMinutes: 60 },
  warehouse: c.warehouse,
  clients: [c.client()],
  logger: createLogger('debug', { function: 'cioReconcile' }, (line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  ),
  ...overrides,
});

const events = (count: number, seed: number, startSeconds: number) =>
  generateEvents({ count, seed, duplicateShare: 0, startMs: startSeconds * 1000 }).map(
    (e) => JSON.parse(e.body) as object,
  );

beforeEach(async () => {
  lines = [];
  c = await openCompleteness();
});
afterEach(async () => {
  await c.close();
});

describe('the daily reconcile', () => {
  beforeEach(async () => {
    const sent = events(300, 9, now - 5 * 3600);
    c.record(sent);
    await c.land(sent);
  });

  test('logs reconcile_ok at INFO with the drift, and records the run', async () => {
    const [outcome] = await scheduledReconcile(deps());
    expect(outcome).toMatchObject({
      workspace: 'default',
      outcome: 'reconcile_ok',
      drift: 0,
      missing_here: 0,
    });
    expect(lines.at(-1)).toMatchObject({
      severity: 'INFO',
      outcome: 'reconcile_ok',
      message: expect.stringMatching(/^reconcile: drift 0\.000%/),
    });
    expect(await c.sql(`SELECT trigger, status, drift FROM customerio.reconcile_runs`)).toEqual([
      { trigger: 'schedule', status: 'ok', drift: 0 },
    ]);
  });

  test('logs reconcile_drift at ERROR over the threshold; with repair on, the next run is clean', async () => {
    await c.sql(`DELETE FROM customerio.events WHERE object_type = 'email' AND metric = 'sent'`);
    const [drift] = await scheduledReconcile(deps({ config: { ...deps().config, repair: true } }));
    expect(drift).toMatchObject({ outcome: 'reconcile_drift', repaired: drift!.missing_here });
    expect(Number(drift!.missing_here)).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatchObject({ severity: 'ERROR', outcome: 'reconcile_drift' });
    const [clean] = await scheduledReconcile(deps());
    expect(clean).toMatchObject({ outcome: 'reconcile_ok', missing_here: 0 });
  });

  test("another workspace's rows in the same table are not this workspace's: nothing only here", async () => {
    // Workspace eu's deliveries, sent the same hours, are in the table but not in the default workspace's record.
    await c.land(events(200, 10, now - 5 * 3600), 'eu');
    const [outcome] = await scheduledReconcile(deps());
    expect(outcome).toMatchObject({ outcome: 'reconcile_ok', drift: 0, missing_here: 0, only_here: 0 });
  });

  test("a workspace's repair writes rows of that workspace, which its next run finds", async () => {
    // The same record read with workspace eu's key: the default workspace's rows are not eu's, so all are missing.
    const eu = c.client({ workspace: { label: 'eu', key: APP_API_KEY, region: 'us' } });
    const [repair] = await scheduledReconcile(
      deps({ clients: [eu], config: { ...deps().config, repair: true } }),
    );
    expect(Number(repair!.repaired)).toBeGreaterThan(0);
    const [written] = await c.sql(
      `SELECT COUNT(*) AS n, MIN(workspace) AS workspace FROM customerio.events WHERE source = 'app_api'`,
    );
    expect(written).toEqual({ n: repair!.repaired, workspace: 'eu' });
    const [again] = await scheduledReconcile(deps({ clients: [eu] }));
    expect(again).toMatchObject({ workspace: 'eu', outcome: 'reconcile_ok', missing_here: 0 });
  });

  test('a failure is logged as reconcile_failed at ERROR and recorded as a failed run', async () => {
    const [failed] = await scheduledReconcile(
      deps({ clients: [c.client({ workspace: { label: 'default', key: 'wrong', region: 'us' } })] }),
    );
    expect(failed).toMatchObject({ outcome: 'reconcile_failed', kind: 'unauthorized', retryable: false });
    expect(lines.at(-1)).toMatchObject({ severity: 'ERROR', outcome: 'reconcile_failed' });
    const [run] = await c.sql(`SELECT status, error FROM customerio.reconcile_runs`);
    expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/401/) });
  });
});

describe('the stall check', () => {
  test('events arriving: stream_flowing', async () => {
    const recent = events(20, 1, now - 600);
    c.record(recent);
    await c.land(recent);
    expect((await stallCheck(deps()))[0]).toMatchObject({
      outcome: 'stream_flowing',
      minutes_since_last_event: expect.any(Number),
    });
  });

  test('no events for an hour while Customer.io created deliveries: stall, at ERROR', async () => {
    await c.land(events(20, 2, now - 3 * 3600));
    c.record(events(20, 3, now - 1800));
    const [stall] = await stallCheck(deps());
    expect(stall).toMatchObject({ outcome: 'stall', deliveries_created: c.appApi.record.size });
    expect(Number(stall!.minutes_since_last_event)).toBeGreaterThanOrEqual(170);
    expect(lines.at(-1)).toMatchObject({
      severity: 'ERROR',
      outcome: 'stall',
      message: expect.stringMatching(/holding the stream back/),
    });
  });

  test("another workspace's events do not hide this one's stall", async () => {
    await c.land(events(20, 5, now - 600), 'eu');
    c.record(events(20, 6, now - 1800));
    expect((await stallCheck(deps()))[0]).toMatchObject({ workspace: 'default', outcome: 'stall' });
  });

  test('no events and nothing sent: quiet, nothing to alert on', async () => {
    await c.land(events(20, 4, now - 3 * 3600));
    expect((await stallCheck(deps()))[0]).toMatchObject({ outcome: 'quiet' });
    expect(lines.some((l) => l.severity === 'ERROR')).toBe(false);
  });
});
