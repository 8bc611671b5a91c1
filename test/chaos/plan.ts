// The chaos run's traffic, fixed by a seed: realistic Customer.io events from the CLI's generator (every object_type,
// ~20% duplicates, some right behind their original so they run concurrently), a bounce storm so that the Track API
// sees enough calls to fault, late re-sends of earlier events, and the requests that are deliberately never stored:
// signed with a wrong key (401), or sent once during the Pub/Sub outage (503) and never retried.
// Two workspaces: a share of the events is the second workspace's (POST /<label>), some events are sent to both (the
// same event_id in two workspaces is two events), and some of the second workspace's are signed with the default
// workspace's key (401: a key of one workspace never lets an event in as another's). Every event is identified by
// `<workspace>/<event_id>`.

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
  /** The second workspace's label. */
  workspace: string;
  /** Share of the events that are the second workspace's. */
  workspaceShare: number;
  /** Events sent to both workspaces, byte for byte. */
  inBothWorkspaces: number;
  /** The second workspace's events signed with the default workspace's key. */
  otherWorkspaceKey: number;
}

export const DEFAULT_WORKSPACE = 'default';

/** An event of one workspace: `id` is `<workspace>/<event_id>`, its identity in the pipeline. */
export type PlannedEvent = GeneratedEvent & { workspace: string; id: string };

export const eventKey = (workspace: string, eventId: string): string => `${workspace}/${eventId}`;

export interface Plan {
  phase1: ChaosRequest[];
  outage: ChaosRequest[];
  phase3: ChaosRequest[];
  /** Every event by `<workspace>/<event_id>` (the bytes, what they are, whose). */
  events: Map<string, PlannedEvent>;
  /** Events sent only with a key that is not their workspace's: an unknown one, or another workspace's. */
  wrongKey: Map<string, 'unknown key' | 'another workspace’s key'>;
  /** Events sent once during the outage and never retried. */
  dropped: Set<string>;
  lateResends: number;
}

/** A fixed event time base: the same seed gives byte-identical bodies on every run. */
const START_MS = Date.UTC(2026, 0, 15, 9, 0, 0);

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
  const ordered = keyed.sort((a, b) => a.key - b.key).map((k) => k.event);

  // Whose each event is; a few events go to both workspaces, every copy right after the original's.
  const second = new Set<string>();
  for (const e of ordered) if (!e.duplicate && random() < o.workspaceShare) second.add(e.eventId);
  const originals = ordered.filter((e) => !e.duplicate && !second.has(e.eventId));
  const both = new Set(pickSome(random, originals, o.inBothWorkspaces).map((e) => e.eventId));
  let stream: PlannedEvent[] = ordered.flatMap((e) => {
    const workspace = second.has(e.eventId) ? o.workspace : DEFAULT_WORKSPACE;
    const own = { ...e, workspace, id: eventKey(workspace, e.eventId) };
    if (!both.has(e.eventId)) return [own];
    return [own, { ...e, workspace: o.workspace, id: eventKey(o.workspace, e.eventId) }];
  });

  const events = new Map(stream.map((e) => [e.id, e]));
  // The generator's duplicates follow their original closely or loosely; these go to the very end of the run.
  const firstHalf = new Set(
    stream
      .slice(0, stream.length / 2)
      .filter((e) => !e.duplicate)
      .map((e) => e.id),
  );
  const movable = stream
    .map((e, index) => ({ e, index }))
    .filter(({ e }) => e.duplicate && firstHalf.has(e.id));
  const late = new Set(pickSome(random, movable, o.lateResends).map(({ index }) => index));
  stream = [...stream.filter((_, i) => !late.has(i)), ...stream.filter((_, i) => late.has(i))];

  const tail = o.lateResends * 2;
  const phase3Events = stream.slice(stream.length - tail);
  const outageEvents = stream.slice(stream.length - tail - o.outageRequests, stream.length - tail);
  const phase1Events = stream.slice(0, stream.length - tail - o.outageRequests);

  const sends = new Map<string, number>();
  for (const e of stream) sends.set(e.id, (sends.get(e.id) ?? 0) + 1);
  const once = (list: PlannedEvent[]) => list.filter((e) => sends.get(e.id) === 1 && !both.has(e.eventId));
  const wrongKey = new Map<string, 'unknown key' | 'another workspace’s key'>();
  for (const e of pickSome(random, once(phase1Events), o.wrongKey)) wrongKey.set(e.id, 'unknown key');
  const secondOnce = once(phase1Events).filter((e) => e.workspace === o.workspace && !wrongKey.has(e.id));
  for (const e of pickSome(random, secondOnce, o.otherWorkspaceKey))
    wrongKey.set(e.id, 'another workspace’s key');
  const dropped = new Set(pickSome(random, once(outageEvents), o.droppedInOutage).map((e) => e.id));

  const request = (e: PlannedEvent): ChaosRequest => ({
    event: {
      label: `${e.objectType}/${e.metric}`,
      eventId: e.eventId,
      body: Buffer.from(e.body),
    },
    workspace: e.workspace,
    id: e.id,
    retry: !wrongKey.has(e.id) && !dropped.has(e.id),
    ...(wrongKey.has(e.id) && {
      signWith: wrongKey.get(e.id) === 'unknown key' ? ('unknown key' as const) : ('default key' as const),
    }),
  });
  // The never-retried outage requests go first, so they are certainly sent while Pub/Sub is down.
  const outage = [
    ...outageEvents.filter((e) => dropped.has(e.id)),
    ...outageEvents.filter((e) => !dropped.has(e.id)),
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
