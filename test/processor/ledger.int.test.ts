// The ledger against the real Firestore emulator (FIRESTORE_EMULATOR_HOST from the global setup).
import { createHash, randomUUID } from 'node:crypto';
import { Firestore, Timestamp } from '@google-cloud/firestore';
import { RetryableError, classOf } from '../../shared/errors';
import { Ledger, ledgerDocId, type FirestoreOps } from '../../shared/processor/ledger';

/** The identity of an event of the default workspace. */
const dflt = (eventId: string) => ({ workspace: 'default', eventId });

const firestore = new Firestore({ projectId: `ledger-test-${process.pid}` });
afterAll(() => firestore.terminate());

const ops = (): FirestoreOps => ({ reads: 0, writes: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ledger(leaseSeconds = 60) {
  const collection = `ledger_${randomUUID().slice(0, 8)}`;
  return { collection, ledger: new Ledger(firestore, { collection, leaseSeconds, ttlDays: 30 }) };
}

async function doc(collection: string, eventId: string) {
  return firestore
    .collection(collection)
    .doc(ledgerDocId(dflt(eventId)))
    .get();
}

it('keys documents by the sha256 hex of the event id', () => {
  expect(ledgerDocId(dflt('01JD2KB17F8G9H0J1K2M3N4P5Q'))).toBe(
    createHash('sha256').update('01JD2KB17F8G9H0J1K2M3N4P5Q').digest('hex'),
  );
});

it('claims a fresh event with one read and one write, writing the TTL field at once', async () => {
  const { collection, ledger: l } = ledger(60);
  const counter = ops();
  const before = Date.now();
  const claim = await l.claim(dflt('evt-1'), counter);
  expect(claim).toMatchObject({
    kind: 'claimed',
    attempts: 1,
    progress: { actionsCompleted: {}, warehouseDone: false },
  });
  expect(counter).toEqual({ reads: 1, writes: 1 });
  const data = (await doc(collection, 'evt-1')).data()!;
  expect(data).toMatchObject({
    event_id: 'evt-1',
    state: 'processing',
    attempts: 1,
    done_at: null,
    warehouse_done: false,
  });
  expect(data.lease_owner).toBe(claim.kind === 'claimed' ? claim.claimId : '');
  const leaseMs = (data.lease_until as Timestamp).toMillis() - before;
  expect(leaseMs).toBeGreaterThanOrEqual(60_000);
  expect(leaseMs).toBeLessThan(70_000);
  const ttlDays = ((data.expire_at as Timestamp).toMillis() - before) / 86_400_000;
  expect(ttlDays).toBeGreaterThanOrEqual(30);
  expect(ttlDays).toBeLessThan(30.01);
  expect((data.first_seen_at as Timestamp).toMillis()).toBeGreaterThanOrEqual(before - 1000);
});

it('answers busy to a second claim while the lease is live, without writing', async () => {
  const { ledger: l } = ledger(60);
  await l.claim(dflt('evt-2'), ops());
  const counter = ops();
  expect(await l.claim(dflt('evt-2'), counter)).toMatchObject({ kind: 'busy', attempts: 1 });
  expect(counter).toEqual({ reads: 1, writes: 0 });
});

it('completes with one write; a duplicate then costs one read and no write', async () => {
  const { collection, ledger: l } = ledger(60);
  await l.claim(dflt('evt-3'), ops());
  const counter = ops();
  await l.complete(dflt('evt-3'), ['identify:email_bounced'], counter);
  expect(counter).toEqual({ reads: 0, writes: 1 });
  const done = await doc(collection, 'evt-3');
  expect(done.data()).toMatchObject({
    state: 'done',
    actions: ['identify:email_bounced'],
    warehouse_done: true,
  });
  expect(done.data()!.done_at).toBeInstanceOf(Timestamp);

  const dup = ops();
  expect(await l.claim(dflt('evt-3'), dup)).toEqual({ kind: 'duplicate' });
  expect(dup).toEqual({ reads: 1, writes: 0 });
  expect((await doc(collection, 'evt-3')).updateTime!.isEqual(done.updateTime!)).toBe(true);
});

it('lets another worker take over an expired lease, with the recorded progress', async () => {
  const { collection, ledger: l } = ledger(1);
  const first = await l.claim(dflt('evt-4'), ops());
  if (first.kind !== 'claimed') throw new Error('not claimed');
  // Progress saved without releasing the lease (work was in flight): still busy until it expires.
  const progress = {
    actionsCompleted: { 'identify:email_bounced': 'identify:email_bounced' },
    warehouseDone: false,
  };
  expect(await l.saveProgress(dflt('evt-4'), first.claimId, progress, false, ops())).toBe(true);
  expect((await l.claim(dflt('evt-4'), ops())).kind).toBe('busy');
  await sleep(1200);
  const counter = ops();
  const second = await l.claim(dflt('evt-4'), counter);
  expect(second).toMatchObject({ kind: 'claimed', attempts: 2, progress });
  expect(counter).toEqual({ reads: 1, writes: 1 });
  // The first worker's late progress must not overwrite the new holder's lease.
  const stale = ops();
  expect(
    await l.saveProgress(
      dflt('evt-4'),
      first.claimId,
      { actionsCompleted: {}, warehouseDone: true },
      true,
      stale,
    ),
  ).toBe(false);
  expect(stale).toEqual({ reads: 1, writes: 0 });
  const data = (await doc(collection, 'evt-4')).data()!;
  expect(data).toMatchObject({
    attempts: 2,
    warehouse_done: false,
    actions_completed: progress.actionsCompleted,
  });
  expect(data.lease_owner).toBe(second.kind === 'claimed' ? second.claimId : '');
});

it('releases the lease on the failure path so the redelivery resumes at once', async () => {
  const { ledger: l } = ledger(600);
  const first = await l.claim(dflt('evt-5'), ops());
  if (first.kind !== 'claimed') throw new Error('not claimed');
  const progress = { actionsCompleted: { suppress: 'error:suppress:404' }, warehouseDone: true };
  const counter = ops();
  expect(await l.saveProgress(dflt('evt-5'), first.claimId, progress, true, counter)).toBe(true);
  expect(counter).toEqual({ reads: 1, writes: 1 });
  expect(await l.claim(dflt('evt-5'), ops())).toMatchObject({ kind: 'claimed', attempts: 2, progress });
});

it('admits exactly one of ten concurrent claims', async () => {
  const { ledger: l } = ledger(60);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => l.claim(dflt('evt-6'), ops())));
  const kinds = results.map((r) => (r.status === 'fulfilled' ? r.value.kind : 'error'));
  expect(kinds.filter((k) => k === 'claimed')).toHaveLength(1);
  expect(kinds.filter((k) => k !== 'claimed' && k !== 'busy' && k !== 'error')).toEqual([]);
});

it('a failed Firestore call is a retryable ledger failure (logged at WARNING), not an unexpected one (which pages)', async () => {
  const { ledger: l } = ledger(60);
  // Completing an event never claimed: Firestore refuses the update (NOT_FOUND).
  const failure = await l.complete(dflt('never-claimed'), [], ops()).catch((err: unknown) => err);
  expect(classOf(failure)).toEqual({ classification: 'firestore:5', severity: 'warning' });
  expect(failure).toBeInstanceOf(RetryableError);
});
