// Reconciliation and repair end to end against the local warehouse and the App API stand-in (real clients over
// HTTP): zero drift when every webhook landed, exactly the lost first occurrences when some did not, a repair that
// fills them and a second one that adds nothing, deliveries only here, and a key of another workspace.
import { generateEvents } from '../../scripts/cli/generate-events';
import { checkKeyWorkspace, WorkspaceMismatchError } from '../../shared/reconcile/records';
import { daySlices, runReconciliation, type RunOptions } from '../../shared/reconcile/run';
import { openCompleteness, type Completeness } from '../support/completeness';

const NOW = new Date();
const now = Math.floor(NOW.getTime() / 1000);
const DAY = 86400;

let c: Completeness;
afterEach(async () => {
  await c?.close();
});

const run = (overrides: Partial<RunOptions> = {}) =>
  runReconciliation({
    client: c.client(),
    warehouse: c.warehouse,
    window: { start: now - 3 * DAY, end: now },
    settledBefore: now,
    repair: false,
    ...overrides,
  });

const bodies = (count: number, seed: number, startMs = (now - 2 * DAY) * 1000) =>
  generateEvents({ count, seed, duplicateShare: 0.1, startMs }).map((e) => JSON.parse(e.body) as object);

test('the window is cut at UTC midnights', () => {
  const start = Date.UTC(2025, 0, 1, 18) / 1000;
  expect(daySlices({ start, end: start + 2 * DAY })).toEqual([
    { start, end: start + 6 * 3600 },
    { start: start + 6 * 3600, end: start + 6 * 3600 + DAY },
    { start: start + 6 * 3600 + DAY, end: start + 2 * DAY },
  ]);
});

describe('a workspace whose webhooks all landed', () => {
  beforeEach(async () => {
    c = await openCompleteness();
    const events = bodies(800, 17);
    c.record(events);
    await c.land(events);
  });

  test('reconciles with zero drift: every first occurrence Customer.io records is here', async () => {
    const result = await run();
    const t = result.tally.totals;
    expect(t.deliveries).toBe(c.appApi.record.size);
    expect(t.judged).toBeGreaterThan(300);
    expect([t.matched, t.missingHere, t.onlyHere, t.repaired]).toEqual([t.judged, 0, 0, 0]);
    expect(result.tally.drift).toBe(0);
    // What cannot be compared is said, not counted as drift.
    expect([...result.tally.notJudged.keys()]).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^in_app delivered|push unsubscribed: no reporting webhook event/),
      ]),
    );
  });

  test('rows deleted from the warehouse are reported exactly, repaired, and a second repair adds nothing', async () => {
    const lost = await c.sql(`SELECT delivery_id, metric FROM customerio.events
      WHERE object_type = 'email' AND metric IN ('sent', 'delivered', 'bounced', 'converted')
      ORDER BY event_id LIMIT 25`);
    expect(lost).toHaveLength(25);
    const ids = lost.map((r) => `'${String(r.delivery_id)}'`).join(', ');
    await c.sql(`DELETE FROM customerio.events WHERE delivery_id IN (${ids})`);

    const before = await run();
    expect(before.tally.totals.missingHere).toBe(25);
    expect(before.tally.totals.onlyHere).toBe(0);
    const missing = before.tally.sortedGroups().filter((g) => g.missingHere > 0);
    expect(missing.reduce((n, g) => n + g.missingHere, 0)).toBe(25);
    expect(new Set(missing.map((g) => g.channel))).toEqual(new Set(['email']));
    for (const g of missing) {
      for (const id of g.sampleMissing) expect(lost.map((r) => r.delivery_id)).toContain(id);
    }

    const repair = await run({ repair: true });
    expect(repair.tally.totals.repaired).toBe(25);
    const written = await c.sql(`SELECT delivery_id, metric, source, ARRAY_LENGTH(actions) AS actions
      FROM customerio.events WHERE source = 'app_api'`);
    const pairs = (rows: Record<string, unknown>[]) =>
      rows.map((r) => `${String(r.delivery_id)} ${String(r.metric)}`).sort();
    expect(pairs(written)).toEqual(pairs(lost));
    expect(new Set(written.map((r) => r.actions))).toEqual(new Set([0]));

    const after = await run({ repair: true });
    expect([after.tally.totals.missingHere, after.tally.totals.repaired, after.tally.drift]).toEqual([
      0, 0, 0,
    ]);
    const [count] = await c.sql(`SELECT COUNT(*) AS n FROM customerio.events WHERE source = 'app_api'`);
    expect(count!.n).toBe(25);
  });

  test('deliveries and metrics Customer.io does not record are only here', async () => {
    const t = now - DAY;
    const stray = (delivery: string, metric: string) => ({
      event_id: `stray-${delivery}-${metric}`,
      object_type: 'email',
      metric,
      timestamp: t,
      data: { delivery_id: delivery, campaign_id: 4, identifiers: { id: 'x' } },
    });
    const known = (
      await c.sql(`SELECT delivery_id FROM customerio.events WHERE object_type = 'email'
      AND metric = 'sent' ORDER BY delivery_id LIMIT 1`)
    )[0]!.delivery_id as string;
    await c.land([stray('never-sent-by-cio', 'sent'), stray(known, 'converted')]);
    const result = await run();
    expect(result.tally.totals.onlyHere).toBe(2);
    const only = result.tally.sortedGroups().filter((g) => g.onlyHere > 0);
    expect(only.map((g) => [g.metric, g.sampleOnlyHere])).toEqual(
      expect.arrayContaining([
        ['sent', ['never-sent-by-cio']],
        ['converted', [known]],
      ]),
    );
  });
});

test('a key of another workspace is refused before anything is written', async () => {
  c = await openCompleteness();
  c.record(bodies(200, 1, (now - 3600) * 1000));
  await c.land(bodies(200, 2, (now - 3600) * 1000));
  const err = await checkKeyWorkspace(c.client(), c.warehouse, now).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkspaceMismatchError);
  expect((err as Error).message).toMatch(/CIO_APP_API_KEY\) lists \d+ deliveries .* holds none of them/);
  expect((err as Error).message).toMatch(/Nothing was written/);
  // The same key and warehouse, fed by the same webhook: checked and fine.
  c.record(bodies(50, 3, (now - 1800) * 1000).filter(() => true));
  await c.land(bodies(50, 3, (now - 1800) * 1000));
  await expect(checkKeyWorkspace(c.client(), c.warehouse, now)).resolves.toMatchObject({ checked: true });
});
