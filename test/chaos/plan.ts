// The chaos run's traffic, fixed by a seed: realistic Customer.io events from the CLI's generator (every object_type,
// ~20% duplicates, some right behind their original so they run concurrently), a bounce storm so that the Track API
// sees enough calls to fault, late re-sends of earlier events, and the requests that are deliberately never stored:
// signed with a wrong key (401), or sent once during the Pub/Sub outage (503) and never retried.

import { expectedEffects } from './effects';
import { generateEvents, prng, type GeneratedEvent } from '../../scripts/cli/generate-events';
import type { ChaosRequest } from './customerio-sender';

export interface PlanOptions {
  seed: number;
  /** Requests in the whole run, duplicates and refused ones included. */
  requests: number;
  duplicateShare: number;
  /** Actionable email events (bounced/spammed) added as a burst, like a bad list import. */
  bounceStorm: number;
  /** Duplicates moved to the end of the run (re-sent long after their original). */
  lateResends: number;
  /** Requests sent while Pub/Sub is down. */
  outageRequests: number;
  wrongKey: number;
  droppedInOutage: number;
}

export interface Plan {
  phase1: ChaosRequest[];
  outage: ChaosRequest[];
  phase3: ChaosRequest[];
  /** Every event by id (the bytes and what they are). */
  events: Map<string, GeneratedEvent>;
  /** Event ids sent only with a wrong signature. */
  wrongKey: Set<string>;
  /** Event ids sent once during the outage and never retried. */
  dropped: Set<string>;
  lateResends: number;
}

/** A fixed event time base: the same seed gives byte-identical bodies on every run. */
const START_MS = Date.UTC(2026, 0, 15, 9, 0, 0);
export const WRONG_KEY = 'not-the-signing-key';

function pickSome<T>(random: () => number, items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
  return out;
}

export function buildPlan(o: PlanOptions): Plan {
  const random = prng(o.seed ^ 0x9e3779b9);
  const stormDuplicates = Math.round(o.bounceStorm * o.duplicateShare);
  const base = generateEvents({
    count: o.requests - o.bounceStorm - stormDuplicates,
    duplicateShare: o.duplicateShare,
    seed: o.seed,
    startMs: START_MS,
  });
  // Hard bounces and complaints the policy acts on (a bad list import): soft bounces and another address's failures
  // ask for no call, and the storm is there to load the Track path.
  const storm = generateEvents({ count: 80_000, seed: o.seed + 1, startMs: START_MS })
    .filter((e) => expectedEffects(e.body).length > 0)
    .slice(0, o.bounceStorm);
  if (storm.length < o.bounceStorm) throw new Error('the generator produced too few bounces for the storm');

  // Merge: the storm lands at random places in the stream, each duplicate somewhere after its original.
  const keyed = base.map((event, i) => ({ key: i, event }));
  const stormKeys = storm.map((event) => {
    const key = random() * base.length;
    keyed.push({ key, event });
    return key;
  });
  for (const i of pickSome(random, [...storm.keys()], stormDuplicates)) {
    const key = stormKeys[i] + 0.5 + random() * (base.length - stormKeys[i]);
    keyed.push({ key, event: { ...storm[i], duplicate: true } });
  }
  let stream = keyed.sort((a, b) => a.key - b.key).map((k) => k.event);

  const events = new Map(stream.map((e) => [e.eventId, e]));
  // The generator's duplicates follow their original closely or loosely; these go to the very end of the run.
  const firstHalf = new Set(
    stream
      .slice(0, stream.length / 2)
      .filter((e) => !e.duplicate)
      .map((e) => e.eventId),
  );
  const movable = stream
    .map((e, index) => ({ e, index }))
    .filter(({ e }) => e.duplicate && firstHalf.has(e.eventId));
  const late = new Set(pickSome(random, movable, o.lateResends).map(({ index }) => index));
  stream = [...stream.filter((_, i) => !late.has(i)), ...stream.filter((_, i) => late.has(i))];

  const tail = o.lateResends * 2;
  const phase3Events = stream.slice(stream.length - tail);
  const outageEvents = stream.slice(stream.length - tail - o.outageRequests, stream.length - tail);
  const phase1Events = stream.slice(0, stream.length - tail - o.outageRequests);

  const sends = new Map<string, number>();
  for (const e of stream) sends.set(e.eventId, (sends.get(e.eventId) ?? 0) + 1);
  const once = (list: GeneratedEvent[]) => list.filter((e) => sends.get(e.eventId) === 1);
  const wrongKey = new Set(pickSome(random, once(phase1Events), o.wrongKey).map((e) => e.eventId));
  const dropped = new Set(pickSome(random, once(outageEvents), o.droppedInOutage).map((e) => e.eventId));

  const request = (e: GeneratedEvent): ChaosRequest => ({
    event: {
      label: `${e.objectType}/${e.metric}`,
      eventId: e.eventId,
      body: Buffer.from(e.body),
    },
    retry: !wrongKey.has(e.eventId) && !dropped.has(e.eventId),
    ...(wrongKey.has(e.eventId) && { key: WRONG_KEY }),
  });
  // The never-retried outage requests go first, so they are certainly sent while Pub/Sub is down.
  const outage = [
    ...outageEvents.filter((e) => dropped.has(e.eventId)),
    ...outageEvents.filter((e) => !dropped.has(e.eventId)),
  ];
  return {
    phase1: phase1Events.map(request),
    outage: outage.map(request),
    phase3: phase3Events.map(request),
    events,
    wrongKey,
    dropped,
    lateResends: late.size,
  };
}
