// The dedupe ledger: one Firestore document per event at {collection}/{sha256 hex of the event's identity} (the
// event_id in the default workspace, `<label>\n<event_id>` in another: shared/workspace.ts; hashing spreads the
// time-ordered ids across the key space, avoiding hot-spotting). It turns Pub/Sub's at-least-once delivery into
// one set of effects per event:
//
//   claim    one transaction: absent → claim; processing with an expired lease → take over (attempts + 1);
//            processing with a live lease → busy (the caller nacks: another worker has it, or it is this very
//            message redelivered after a crash; acking would lose it); done → duplicate.
//   progress failure path only: which steps completed (each action's result token, the warehouse insert), so the
//            redelivery resumes instead of repeating them; releases the lease so it may start at once. Written
//            only if this claim still holds the lease.
//   complete the done mark, after every effect succeeded.
//
// The document's fields: LedgerDoc below.
//
// Cost: a fresh event is 1 read + 2 writes (claim, complete); a duplicate or busy event 1 read + 0 writes. The
// transaction callback makes no external call (Firestore may run it more than once).

import { randomUUID } from 'node:crypto';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { RetryableError, errorMessage } from '../errors';
import { identityHash, type EventIdentity } from '../workspace';

/** Firestore document reads and writes made for one event (reported in its log line). */
export interface FirestoreOps {
  reads: number;
  writes: number;
}

export interface Progress {
  /** Action key → result token, for the actions that already ran. */
  actionsCompleted: Readonly<Record<string, string>>;
  warehouseDone: boolean;
}

export type Claim =
  | { kind: 'claimed'; claimId: string; attempts: number; progress: Progress }
  | { kind: 'duplicate' }
  | { kind: 'busy'; leaseUntil: Date; attempts: number };

export interface LedgerOptions {
  collection: string;
  leaseSeconds: number;
  ttlDays: number;
}

/** One event's ledger document. */
interface LedgerDoc {
  /** The Customer.io event id. */
  event_id: string;
  /** The workspace it came from (`default` for POST /). */
  workspace: string;
  state: 'processing' | 'done';
  /** Random id of the claim holding the lease. */
  lease_owner: string;
  /** A claim older than this may be taken over. */
  lease_until: Timestamp;
  /** Claims so far (1 = first delivery processed). */
  attempts: number;
  /** Action key → result token, for actions whose call finished (written on the failure path). */
  actions_completed: Record<string, string>;
  /** The row is in the warehouse (or the event was parked as row_invalid). */
  warehouse_done: boolean;
  /** The row's actions tokens (set when done). */
  actions: string[];
  first_seen_at: Timestamp;
  done_at: Timestamp | null;
  /**
   * The TTL field: now + DEDUPE_TTL_DAYS, set by the first write so abandoned documents expire too; moved to
   * done_at + DEDUPE_TTL_DAYS when done.
   */
  expire_at: Timestamp;
}

const DAY_MS = 86_400_000;

export function ledgerDocId(identity: EventIdentity): string {
  return identityHash(identity);
}

export class Ledger {
  constructor(
    private readonly firestore: Firestore,
    private readonly options: LedgerOptions,
  ) {}

  private ref(identity: EventIdentity) {
    return this.firestore.collection(this.options.collection).doc(ledgerDocId(identity));
  }

  private expireAt(fromMs: number): Timestamp {
    return Timestamp.fromMillis(fromMs + this.options.ttlDays * DAY_MS);
  }

  async claim(identity: EventIdentity, ops: FirestoreOps): Promise<Claim> {
    const ref = this.ref(identity);
    const claimId = randomUUID();
    const { claim, wrote } = await firestoreCall(
      this.firestore.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        ops.reads += 1;
        const now = Date.now();
        const leaseUntil = Timestamp.fromMillis(now + this.options.leaseSeconds * 1000);
        const doc = snap.data() as Partial<LedgerDoc> | undefined;
        if (doc === undefined) {
          const fresh: LedgerDoc = {
            event_id: identity.eventId,
            workspace: identity.workspace,
            state: 'processing',
            lease_owner: claimId,
            lease_until: leaseUntil,
            attempts: 1,
            actions_completed: {},
            warehouse_done: false,
            actions: [],
            first_seen_at: Timestamp.fromMillis(now),
            done_at: null,
            expire_at: this.expireAt(now),
          };
          tx.create(ref, fresh);
          const claimed: Claim = { kind: 'claimed', claimId, attempts: 1, progress: noProgress() };
          return { claim: claimed, wrote: true };
        }
        const attempts = typeof doc.attempts === 'number' ? doc.attempts : 0;
        if (doc.state === 'done') return { claim: { kind: 'duplicate' } as Claim, wrote: false };
        const until = doc.lease_until instanceof Timestamp ? doc.lease_until.toMillis() : 0;
        if (until > now) {
          return { claim: { kind: 'busy', leaseUntil: new Date(until), attempts } as Claim, wrote: false };
        }
        tx.update(ref, { lease_owner: claimId, lease_until: leaseUntil, attempts: attempts + 1 });
        const claimed: Claim = {
          kind: 'claimed',
          claimId,
          attempts: attempts + 1,
          progress: {
            actionsCompleted: { ...(doc.actions_completed ?? {}) },
            warehouseDone: doc.warehouse_done === true,
          },
        };
        return { claim: claimed, wrote: true };
      }),
    );
    if (wrote) ops.writes += 1;
    return claim;
  }

  /** Marks the event done with the row's actions. Only call after every effect succeeded. */
  async complete(identity: EventIdentity, actions: readonly string[], ops: FirestoreOps): Promise<void> {
    const now = Date.now();
    await firestoreCall(
      this.ref(identity).update({
        state: 'done',
        done_at: Timestamp.fromMillis(now),
        actions: [...actions],
        warehouse_done: true,
        expire_at: this.expireAt(now),
      }),
    );
    ops.writes += 1;
  }

  /**
   * Failure path: records completed steps (and, with `releaseLease`, ends the lease so the redelivery can take
   * over at once) if `claimId` still holds the event. Returns false when another claim has taken it over.
   */
  async saveProgress(
    identity: EventIdentity,
    claimId: string,
    progress: Progress,
    releaseLease: boolean,
    ops: FirestoreOps,
  ): Promise<boolean> {
    const ref = this.ref(identity);
    const saved = await firestoreCall(
      this.firestore.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        ops.reads += 1;
        const doc = snap.data() as Partial<LedgerDoc> | undefined;
        if (doc === undefined || doc.state !== 'processing' || doc.lease_owner !== claimId) return false;
        tx.update(ref, {
          actions_completed: { ...progress.actionsCompleted },
          warehouse_done: progress.warehouseDone,
          ...(releaseLease && { lease_until: Timestamp.fromMillis(Date.now()) }),
        });
        return true;
      }),
    );
    if (saved) ops.writes += 1;
    return saved;
  }
}

/**
 * A ledger call's failure is a Firestore failure (retryable: the message is nacked, at WARNING), whatever the client
 * threw: unclassified, it would log as `unexpected` and page.
 */
async function firestoreCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new RetryableError(
      'firestore',
      typeof code === 'number' ? code : undefined,
      `ledger: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
}

function noProgress(): Progress {
  return { actionsCompleted: {}, warehouseDone: false };
}
