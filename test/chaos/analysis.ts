// Turns a chaos run into the facts the suite asserts and the summary prints.

import { isSuccess } from './customerio-sender';
import { effectOf, expectedEffects } from './effects';
import type { ChaosResult } from './scenario';

export interface Analysis {
  requests: number;
  distinctEvents: number;
  duplicateRequests: number;
  /** Duplicate requests that were in flight at the same time as another request for the same event. */
  concurrentDuplicates: number;
  /** Re-sends started at least `lateGapSeconds` after the event's first 2xx. */
  lateResends: number;
  lateGapSeconds: number;
  /** Event ids with at least one 2xx (and not parked in the dead-letter subscription at the end). */
  acknowledged: Set<string>;
  acceptedRequests: number;
  /** Requests never answered 2xx, by final status. */
  refused: Map<string, number>;
  /** Events never acknowledged, and why, for those the suite proves were never stored. */
  neverStored: Map<string, NeverStored>;
  senderRetries: number;
  retriesByStatus: Map<string, number>;
  /** Attempts made entirely while Pub/Sub was down, by status. */
  outageAnswers: Map<string, number>;
  missingRows: string[];
  extraRows: string[];
  /**
   * Events with a second row where a SIGKILL fell between the insert and the done mark (the claim vanished, the
   * takeover inserted again): the window left to BigQuery's insertId dedupe, off in this run
   * (docs/architecture.md, "Crash windows").
   */
  crashWindowRows: string[];
  /** Events with more than one row and no lost claim to explain it: what happened to them. */
  unexplainedRows: string[];
  rowsTotal: number;
  objectTypesStored: string[];
  /** Event ids whose insert reached the warehouse more than once (retries after faults, crashes). */
  insertResent: number;
  insertRowsSent: number;
  ledgerNotDone: string[];
  ledgerForNeverStored: string[];
  /** Events with a ledger claim that never logged an end (its process was SIGKILLed), with their invocations. */
  lostClaims: string[];
  /** event_id → invocations that completed it, where more than one. */
  completedTwice: Array<[string, number]>;
  expectedEffects: Set<string>;
  distinctEffects: Set<string>;
  effectCalls: number;
  missingEffects: string[];
  unexpectedEffects: string[];
  /** Applied calls beyond one per event asking for the effect (identical calls repeated). */
  effectRepeats: number;
  /** Repeated effects none of whose events lost a claim to a SIGKILL (a repeat needs one). */
  repeatsWithoutTakeover: string[];
  trackCalls: number;
  trackClientRetries: number;
}

export type NeverStored = 'wrong key (401)' | 'another workspace’s key (401)' | 'Pub/Sub down (503)';

const key = (status: number | null) => (status === null ? 'no reply' : String(status));

function bump(map: Map<string, number>, k: string, by = 1) {
  map.set(k, (map.get(k) ?? 0) + by);
}

export function analyse(result: ChaosResult): Analysis {
  const { plan, records, rows, ledger, deliveries, outage } = result;
  const atEnd = new Set(result.deadLetters.filter((d) => d.when === 'at the end').map((d) => d.eventId));

  const acknowledged = new Set<string>();
  const refused = new Map<string, number>();
  const retriesByStatus = new Map<string, number>();
  const outageAnswers = new Map<string, number>();
  const firstAck = new Map<string, number>();
  let senderRetries = 0;
  for (const r of records) {
    const id = r.request.id;
    if (r.accepted) {
      if (!atEnd.has(id)) acknowledged.add(id);
      const at = r.attempts.find((a) => isSuccess(a.status))!.endedAt;
      firstAck.set(id, Math.min(firstAck.get(id) ?? Infinity, at));
    } else {
      bump(refused, key(r.attempts.at(-1)!.status));
    }
    senderRetries += r.attempts.length - 1;
    for (const a of r.attempts.slice(0, -1)) bump(retriesByStatus, key(a.status));
    for (const a of r.attempts) {
      if (a.startedAt >= outage.stoppedAt && a.endedAt <= outage.startingAt)
        bump(outageAnswers, key(a.status));
    }
  }

  // Duplicates: every request for an event after its first.
  const byEvent = new Map<string, typeof records>();
  for (const r of records) {
    const list = byEvent.get(r.request.id) ?? [];
    list.push(r);
    byEvent.set(r.request.id, list);
  }
  let concurrentDuplicates = 0;
  let lateResends = 0;
  const lateGapSeconds = 30;
  for (const list of byEvent.values()) {
    const spans = list.map((r) => [r.attempts[0].startedAt, r.attempts.at(-1)!.endedAt]);
    for (let i = 0; i < spans.length; i++) {
      const overlaps = spans.some((s, j) => j !== i && s[0] < spans[i][1] && spans[i][0] < s[1]);
      if (overlaps && i > 0) concurrentDuplicates++;
    }
    const id = list[0].request.id;
    const acked = firstAck.get(id);
    if (acked !== undefined) {
      lateResends += spans.filter(([start]) => start - acked >= lateGapSeconds * 1000).length;
    }
  }

  const neverStored = new Map<string, NeverStored>();
  for (const [id, why] of plan.wrongKey) {
    neverStored.set(id, why === 'unknown key' ? 'wrong key (401)' : 'another workspace’s key (401)');
  }
  for (const id of plan.dropped) neverStored.set(id, 'Pub/Sub down (503)');

  const missingRows = [...acknowledged].filter((id) => !rows.has(id));
  const extraRows = [...rows.keys()].filter((id) => !acknowledged.has(id) && !atEnd.has(id));
  // Claims the ledger counted that never logged an end: their process was SIGKILLed.
  const lostClaims = (id: string) => (ledger.get(id)?.attempts ?? 0) - (deliveries.claimsLogged.get(id) ?? 0);
  const describe = (id: string) =>
    `${id}: ${rows.get(id)} rows, insert sent ${result.insertSends.get(id) ?? 0}×, ` +
    `ledger ${JSON.stringify(ledger.get(id))}, invocations [${(deliveries.trail.get(id) ?? []).join('; ')}]`;
  const doubled = [...rows].filter(([, n]) => n > 1);
  const crashWindowRows = doubled.filter(([id, n]) => n <= 1 + lostClaims(id)).map(([id]) => describe(id));
  const unexplainedRows = doubled.filter(([id, n]) => n > 1 + lostClaims(id)).map(([id]) => describe(id));
  const objectTypesStored = [
    ...new Set([...rows.keys()].map((id) => plan.events.get(id)?.objectType ?? '?')),
  ].sort();

  // Several events may ask for the same effect (two complaints of one person both suppress them).
  // An effect is a workspace's: the same call in two workspaces touches two profiles.
  const effectsOf = (id: string): string[] => {
    const event = plan.events.get(id);
    return event === undefined ? [] : expectedEffects(event.body).map((e) => `${event.workspace} ${e}`);
  };
  const asked = new Map<string, number>();
  for (const id of acknowledged) for (const e of effectsOf(id)) bump(asked, e);
  const expected = new Set(asked.keys());
  // Effects of events parked in the dead-letter subscription may or may not have happened.
  const optional = new Set<string>();
  for (const id of atEnd) if (id) for (const e of effectsOf(id)) optional.add(e);
  const effectCalls = result.trackCalls.filter((c) => isSuccess(c.status ?? null));
  const effect = (call: (typeof effectCalls)[number]) => `${call.workspace} ${effectOf(call)}`;
  const distinctEffects = new Set(effectCalls.map(effect));
  const applied = new Map<string, number>();
  for (const call of effectCalls) bump(applied, effect(call));
  const takenOver = new Set<string>();
  for (const id of ledger.keys()) if (lostClaims(id) > 0) for (const e of effectsOf(id)) takenOver.add(e);

  return {
    requests: records.length,
    distinctEvents: byEvent.size,
    duplicateRequests: records.length - byEvent.size,
    concurrentDuplicates,
    lateResends,
    lateGapSeconds,
    acknowledged,
    acceptedRequests: records.filter((r) => r.accepted).length,
    refused,
    neverStored,
    senderRetries,
    retriesByStatus,
    outageAnswers,
    missingRows,
    extraRows,
    crashWindowRows,
    unexplainedRows,
    rowsTotal: [...rows.values()].reduce((a, b) => a + b, 0),
    objectTypesStored,
    insertResent: [...result.insertSends.values()].filter((n) => n > 1).length,
    insertRowsSent: [...result.insertSends.values()].reduce((a, b) => a + b, 0),
    ledgerNotDone: [...acknowledged].filter((id) => ledger.get(id)?.state !== 'done'),
    ledgerForNeverStored: [...neverStored.keys()].filter((id) => ledger.has(id)),
    lostClaims: [...ledger.keys()].filter((id) => lostClaims(id) > 0).map(describe),
    completedTwice: [...deliveries.processed].filter(([, n]) => n > 1),
    expectedEffects: expected,
    distinctEffects,
    effectCalls: effectCalls.length,
    missingEffects: [...expected].filter((e) => !distinctEffects.has(e)),
    unexpectedEffects: [...distinctEffects].filter((e) => !expected.has(e) && !optional.has(e)),
    effectRepeats: [...applied].reduce(
      (sum, [e, times]) => sum + Math.max(0, times - (asked.get(e) ?? 1)),
      0,
    ),
    repeatsWithoutTakeover: [...applied]
      .filter(([e, times]) => times > (asked.get(e) ?? 1) && !takenOver.has(e))
      .map(([e, times]) => `${e} applied ${times}×, asked by ${asked.get(e) ?? 0} event(s)`),
    trackCalls: result.trackCalls.length,
    trackClientRetries: result.trackCalls.filter((c) => c.retryCount !== undefined).length,
  };
}
