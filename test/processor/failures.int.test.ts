// Exactly-once effects under duplicates, crashes and failures of each dependency. Faults are injected only at the
// HTTP boundary (the Track API fake, the local warehouse server); Firestore is the real emulator. The warehouse
// stores repeated insertIds (dedupeInsertIds: false), so a double insert would show as a second row.
import fs from 'node:fs';
import path from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { Ledger } from '../../shared/processor/ledger';
import { startHarness, webhookAttributes, type Harness } from '../support/processor-harness';

const BOUNCE = fs.readFileSync(
  path.join(__dirname, '..', 'fixtures', 'events', 'email-bounced-newsletter.json'),
  'utf8',
);
const BOUNCE_ID = '01JD2KB17F8G9H0J1K2M3N4P5Q';
const bounce = { data: BOUNCE, attributes: webhookAttributes(BOUNCE) };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const outcomes = (results: Array<{ outcome: string }>) => results.map((r) => r.outcome);
const effects = (harness: Harness) => harness.track.effects().map((c) => `${c.method} ${c.path}`);
const storedRows = async (harness: Harness) =>
  (await harness.eventRows()).filter((r) => r.event_id === BOUNCE_ID);
const lastLine = (harness: Harness) => harness.logs.filter((l) => typeof l.outcome === 'string').at(-1);

it('delivers the same event 10× concurrently: one row, one set of actions, all acked', async () => {
  h = await startHarness({ env: { CIO_SUPPRESS_ON: 'bounced' } });
  const harness = h;
  const runs = await Promise.all(Array.from({ length: 10 }, () => harness.deliverUntilAcked(bounce, 100)));
  const final = runs.map((r) => r.at(-1)!.outcome).sort();
  expect(final).toEqual([...Array<string>(9).fill('duplicate'), 'processed']);
  // Every nack was a live lease or a contended claim, never a failure of an effect.
  const nacks = runs.flat().filter((r) => r.status !== 200);
  expect(new Set(outcomes(nacks)).size).toBeLessThanOrEqual(2);
  for (const o of outcomes(nacks)) expect(['in_progress_nack', 'retryable_failure']).toContain(o);
  expect(h.track.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
    'PUT /api/v1/customers/u-1003',
    'POST /api/v1/customers/u-1003/suppress',
  ]);
  expect(await storedRows(h)).toHaveLength(1);
  expect(h.warehouse.stats.receivedByInsertId(h.config.bqTable, BOUNCE_ID)).toBe(1);
});

it('resumes after the insert failed past its retries: the action is not repeated', async () => {
  h = await startHarness();
  // Every send of the first delivery fails (3 attempts); the redelivery finds the warehouse back.
  h.warehouse.faults.add({ kind: 'status', status: 503, times: 3, table: h.config.bqTable });
  expect(await h.deliver(bounce)).toEqual({ status: 503, outcome: 'retryable_failure' });
  expect(lastLine(h)).toMatchObject({
    step: 'warehouse',
    classification: 'warehouse:503',
    progress_saved: true,
    firestore_ops: { reads: 2, writes: 2 },
  });
  expect(await h.ledgerDoc(BOUNCE_ID)).toMatchObject({
    state: 'processing',
    actions_completed: { 'identify:email_bounced': 'identify:email_bounced' },
    warehouse_done: false,
  });
  // The failure path released the lease: the redelivery resumes at once.
  expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
  expect(lastLine(h)).toMatchObject({ attempts: 2, actions: ['identify:email_bounced'] });
  expect(effects(h)).toEqual(['PUT /api/v1/customers/u-1003']);
  expect(h.track.calls).toHaveLength(1);
  const rows = await storedRows(h);
  expect(rows).toHaveLength(1);
  expect(rows[0].actions).toEqual(['identify:email_bounced']);
  expect(h.warehouse.stats.receivedByInsertId(h.config.bqTable, BOUNCE_ID)).toBe(4);
  expect(await h.ledgerDoc(BOUNCE_ID)).toMatchObject({ state: 'done', attempts: 2 });
});

it('lets another worker take over when the claim holder died, once the lease expires', async () => {
  h = await startHarness({ env: { DEDUPE_LEASE_SECONDS: '5' } });
  // A worker claims the event and dies before doing anything else.
  const firestore = new Firestore({ projectId: h.config.projectId });
  try {
    const dead = new Ledger(firestore, {
      collection: h.config.dedupeCollection,
      leaseSeconds: 5,
      ttlDays: 30,
    });
    expect(
      (await dead.claim({ workspace: 'default', eventId: BOUNCE_ID }, { reads: 0, writes: 0 })).kind,
    ).toBe('claimed');
  } finally {
    await firestore.terminate();
  }
  const results = await h.deliverUntilAcked(bounce, 500);
  expect(
    outcomes(results)
      .slice(0, -1)
      .every((o) => o === 'in_progress_nack'),
  ).toBe(true);
  expect(results.length).toBeGreaterThan(1);
  expect(results.at(-1)).toEqual({ status: 200, outcome: 'processed' });
  expect(lastLine(h)).toMatchObject({ attempts: 2 });
  expect(effects(h)).toEqual(['PUT /api/v1/customers/u-1003']);
  expect(await storedRows(h)).toHaveLength(1);
});

describe('Track API failures', () => {
  it('nacks on 500 (after the client retried twice), then completes on the redelivery', async () => {
    h = await startHarness();
    h.track.faults.add({ kind: 'status', status: 500, times: 3 });
    expect(await h.deliver(bounce)).toEqual({ status: 503, outcome: 'retryable_failure' });
    expect(lastLine(h)).toMatchObject({ severity: 'WARNING', step: 'actions', classification: 'track:500' });
    expect(h.track.calls.map((c) => c.retryCount)).toEqual([undefined, '1', '2']);
    expect(await storedRows(h)).toEqual([]);
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(effects(h)).toEqual(['PUT /api/v1/customers/u-1003']);
    expect((await storedRows(h))[0].actions).toEqual(['identify:email_bounced']);
  });

  it('nacks on 429 and completes on the redelivery', async () => {
    h = await startHarness();
    h.track.faults.add({ kind: 'status', status: 429, times: 3, retryAfter: '0' });
    expect(await h.deliver(bounce)).toEqual({ status: 503, outcome: 'retryable_failure' });
    expect(lastLine(h)).toMatchObject({ classification: 'track:429' });
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(effects(h)).toEqual(['PUT /api/v1/customers/u-1003']);
    expect(await storedRows(h)).toHaveLength(1);
  });

  it.each([401, 403])(
    'nacks on %i (bad or revoked credentials: every event would lose its actions), logging at ERROR',
    async (status) => {
      h = await startHarness();
      h.track.faults.add({ kind: 'status', status, times: 1 });
      expect(await h.deliver(bounce)).toEqual({ status: 503, outcome: 'retryable_failure' });
      expect(lastLine(h)).toMatchObject({
        severity: 'ERROR',
        step: 'actions',
        classification: `track:credentials:${status}`,
      });
      expect(await storedRows(h)).toEqual([]);
      expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
      expect(effects(h)).toEqual(['PUT /api/v1/customers/u-1003']);
      expect((await storedRows(h))[0].actions).toEqual(['identify:email_bounced']);
    },
  );

  it('completes on 400, recording the error on the row and logging it at ERROR', async () => {
    h = await startHarness();
    h.track.faults.add({ kind: 'status', status: 400, times: 1 });
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(h.track.calls).toHaveLength(1);
    expect((await storedRows(h))[0].actions).toEqual(['error:identify:email_bounced:400']);
    expect(lastLine(h)).toMatchObject({
      severity: 'ERROR',
      outcome: 'processed',
      errors: [{ action: 'identify:email_bounced', classification: 'permanent', status: 400 }],
    });
    expect(await h.ledgerDoc(BOUNCE_ID)).toMatchObject({ state: 'done' });
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'duplicate' });
    expect(h.track.calls).toHaveLength(1);
  });

  it('nacks when the API hangs past the client timeout, within the per-event deadline', async () => {
    // Lease 8 s → deadline 4 s → 500 ms per request.
    h = await startHarness({ env: { DEDUPE_LEASE_SECONDS: '8' } });
    h.track.faults.add({ kind: 'hang', ms: 30_000, times: 3 });
    expect(await h.deliver(bounce)).toEqual({ status: 503, outcome: 'retryable_failure' });
    // The client gave up on each of its 3 attempts; the failure path then released the lease (nothing in flight).
    expect(lastLine(h)).toMatchObject({ classification: 'track:timeout', progress_saved: true });
    expect(h.track.calls.map((c) => c.status)).toEqual([undefined, undefined, undefined]);
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(await storedRows(h)).toHaveLength(1);
  });

  it('resumes a partly done action set: a failed suppress does not repeat the identify', async () => {
    h = await startHarness({ env: { CIO_SUPPRESS_ON: 'bounced' } });
    h.track.faults.add({ kind: 'status', status: 503, times: 3, path: /suppress$/ });
    expect(await h.deliver(bounce)).toEqual({ status: 503, outcome: 'retryable_failure' });
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(effects(h)).toEqual(['PUT /api/v1/customers/u-1003', 'POST /api/v1/customers/u-1003/suppress']);
    expect(h.track.calls.filter((c) => c.method === 'PUT')).toHaveLength(1);
    expect((await storedRows(h))[0].actions).toEqual(['identify:email_bounced', 'suppress']);
  });
});

describe('BigQuery failures', () => {
  it('retries a 503 within the delivery: still one row', async () => {
    h = await startHarness();
    h.warehouse.faults.add({ kind: 'status', status: 503, times: 1, table: h.config.bqTable });
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(await storedRows(h)).toHaveLength(1);
    expect(h.warehouse.stats.receivedByInsertId(h.config.bqTable, BOUNCE_ID)).toBe(2);
    expect(h.track.calls).toHaveLength(1);
  });

  it('retries a partial failure (backendError): still one row', async () => {
    h = await startHarness();
    h.warehouse.faults.add({ kind: 'partial', reason: 'backendError', times: 1, table: h.config.bqTable });
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(await storedRows(h)).toHaveLength(1);
    expect(h.warehouse.stats.receivedByInsertId(h.config.bqTable, BOUNCE_ID)).toBe(2);
  });

  it('parks a row BigQuery refuses as invalid and completes the event', async () => {
    h = await startHarness();
    h.warehouse.faults.add({ kind: 'partial', reason: 'invalid', times: 1, table: h.config.bqTable });
    expect(await h.deliver(bounce)).toEqual({ status: 200, outcome: 'processed' });
    expect(await storedRows(h)).toEqual([]);
    const rejects = await h.rejectRows();
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ reason: 'row_invalid', event_id: BOUNCE_ID });
    expect(Buffer.from(rejects[0].raw_body as Uint8Array).toString()).toBe(BOUNCE);
    expect(lastLine(h)).toMatchObject({ severity: 'ERROR', outcome: 'processed' });
    expect(await h.ledgerDoc(BOUNCE_ID)).toMatchObject({
      state: 'done',
      actions: ['identify:email_bounced'],
    });
    expect(h.track.calls).toHaveLength(1);
  });

  it('nacks without losing anything when Firestore holds the lease but BigQuery hangs past the deadline', async () => {
    // Deadline 2.5 s, request timeout 625 ms: the hung insert is abandoned, the lease is kept (work in flight).
    h = await startHarness({ env: { DEDUPE_LEASE_SECONDS: '5' } });
    h.warehouse.faults.add({ kind: 'hang', ms: 20_000, times: 3, table: h.config.bqTable });
    expect(await h.deliver(bounce)).toEqual({ status: 503, outcome: 'retryable_failure' });
    expect(await h.ledgerDoc(BOUNCE_ID)).toMatchObject({
      state: 'processing',
      actions_completed: { 'identify:email_bounced': 'identify:email_bounced' },
    });
    h.warehouse.faults.clear();
    const results = await h.deliverUntilAcked(bounce, 500);
    expect(results.at(-1)).toEqual({ status: 200, outcome: 'processed' });
    expect(h.track.calls).toHaveLength(1);
  });
});
