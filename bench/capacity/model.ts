// The capacity model: a traffic shape (events per second over time) pushed through the deployment Terraform
// describes, second by second, as flows and queues. Every rate a stage can sustain comes from a measured figure
// (CPU ms per request, Firestore operations per event, insertAll batching) or a documented limit (limits.ts); the
// queues are Customer.io itself (events it holds back after a refusal), the Pub/Sub subscription (FIFO, by publish
// time) and, when the processor nacks bounces it has no Track slot for, the bounces waiting for redelivery. Pure:
// no I/O, no clock; the CLI, the report and the tests all call simulate().

import { processingBudget } from '../../shared/processor/process-push';
import { EngagementLimiter } from '../../shared/customerio/action-policy';
import { TrackActions } from '../../shared/customerio/track';
import { ASSUMPTIONS, costPerMillionEvents, minInstanceMonthlyUsd, total } from '../report/cost';
import { LIMITS, MODEL_ASSUMPTIONS } from './limits';
import type { CapacityFigures } from './measured';
import type { DeploymentSettings } from './terraform';

export interface Shape {
  /** Requests per second Customer.io sends during the shape, duplicates included. */
  peakPerSecond: number;
  durationSeconds: number;
  /** Requests per second before and after the shape (the steady traffic the deployment already carries). */
  basePerSecond: number;
  /** Share of distinct events that need a Track API call (hard bounces, complaints, engagement updates). */
  actionableShare: number;
  /** Share of requests that repeat an event already delivered. */
  duplicateShare: number;
}

/** What the deployment runs on: the limits it meets, beyond its own settings. */
export interface Environment {
  /** vCPUs Cloud Run may run in the region, shared by both functions. */
  regionalCpuQuota: number;
  /** Operations/s the ledger collection takes at the start (500/50/5 rule); Infinity: no ramp. */
  firestoreRampStart: number;
  /** Writes/s cap of a collection with a sequentially indexed field; undefined: no such field is indexed. */
  sequentialIndexWrites: number | undefined;
  /** Track calls are made (false: dry-run, no credentials). */
  trackEnabled: boolean;
  bigqueryRowsPerSecond: number;
  /** Pushes in flight at most (the local Pub/Sub emulator); undefined: Pub/Sub follows the processor. */
  pushConcurrency?: number;
  /** Wall time of one request of each function, ms. */
  latencyMs: { webhook: number; processor: number };
  /** How long Customer.io holds its stream back after a refused request. */
  senderHoldSeconds: number;
  /** Cloud Run's utilisation target (share of CPU and of concurrency). */
  utilisationTarget: number;
  /** Share of an instance's vCPUs its single Node.js thread can use. */
  usableVcpus: number;
}

export type LimitName =
  | 'webhook instances'
  | 'Cloud Run CPU quota'
  | 'processor CPU'
  | 'processor concurrency'
  | 'Pub/Sub push window'
  | 'Firestore ramp (500/50/5)'
  | 'Firestore sequential index'
  | 'Track API budget'
  | 'BigQuery streaming quota';

/** Ledger fields whose values only grow (timestamps and Customer.io's time-ordered event_id): see ledger.ts. */
export const SEQUENTIAL_LEDGER_FIELDS = ['done_at', 'event_id', 'expire_at', 'first_seen_at', 'lease_until'];

/** The sequential ledger fields Terraform leaves indexed (each one caps the collection's writes). */
export function indexedSequentialFields(settings: DeploymentSettings): string[] {
  return SEQUENTIAL_LEDGER_FIELDS.filter((f) => !settings.unindexedLedgerFields.includes(f));
}

/** Google Cloud, as documented (limits.ts), for the deployment Terraform describes. */
export function cloudEnvironment(
  settings: DeploymentSettings,
  overrides: Partial<Environment> = {},
): Environment {
  return {
    regionalCpuQuota: LIMITS.runRegionalCpuQuota.value,
    firestoreRampStart: LIMITS.firestoreRampStart.value,
    sequentialIndexWrites:
      indexedSequentialFields(settings).length > 0 ? LIMITS.firestoreSequentialIndex.value : undefined,
    trackEnabled: true,
    bigqueryRowsPerSecond: LIMITS.bigqueryStreamingRowsPerTable.value,
    latencyMs: {
      webhook: MODEL_ASSUMPTIONS.webhookLatencyMs,
      processor: MODEL_ASSUMPTIONS.processorLatencyMs,
    },
    senderHoldSeconds: LIMITS.customerioFailureWait.value,
    utilisationTarget: LIMITS.runUtilisationTarget.value,
    usableVcpus: MODEL_ASSUMPTIONS.usableVcpusPerInstance,
    ...overrides,
  };
}

/** Per delivery (one push of one message), averaged over the shape's mix of fresh events and duplicates. */
export interface DeliveryMix {
  fresh: number;
  duplicate: number;
  /** Deliveries that need a Track call. */
  actionable: number;
  cpuMs: number;
  reads: number;
  writes: number;
}

export function deliveryMix(shape: Shape, f: CapacityFigures): DeliveryMix {
  const fresh = 1 - shape.duplicateShare;
  const duplicate = shape.duplicateShare;
  return {
    fresh,
    duplicate,
    actionable: fresh * shape.actionableShare,
    cpuMs: f.cpuMs.processor * (fresh + duplicate * f.duplicateCost),
    reads: fresh * f.firestore.fresh.reads + duplicate * f.firestore.duplicate.reads,
    writes: fresh * f.firestore.fresh.writes + duplicate * f.firestore.duplicate.writes,
  };
}

/**
 * How long a bounce may wait in an instance for a Track slot before the processor nacks it instead: the per-event
 * deadline less the worst-case duration of the call (shared/customerio/track.ts).
 */
export function trackAdmissionSeconds(leaseSeconds: number): number {
  const budget = processingBudget(leaseSeconds);
  const track = new TrackActions(
    {
      track: undefined,
      region: 'us',
      trackApiUrl: undefined,
      trackMaxRps: 1,
      requestTimeoutMs: budget.trackRequestTimeoutMs,
    },
    new EngagementLimiter(),
  );
  return (budget.deadlineMs - track.worstCallMs) / 1000;
}

/**
 * What an instance does with a bounce when its Track slots are taken: wait for one (its concurrency fits the bounces
 * its slots admit within the deadline), or nack it for redelivery (more concurrency than that). Dry-run: no calls.
 */
export function trackRegime(settings: DeploymentSettings, env: Environment): 'wait' | 'nack' {
  const admitted = trackAdmissionSeconds(settings.leaseSeconds) * settings.trackMaxRps;
  return env.trackEnabled && settings.processor.concurrency > admitted ? 'nack' : 'wait';
}

/** Seconds from the first delivery to the last before Pub/Sub dead-letters a message nacked every time. */
export function deadLetterSeconds(retry: DeploymentSettings['retry']): number {
  let sum = 0;
  let backoff = retry.minimumBackoffSeconds;
  for (let attempt = 1; attempt < retry.maxDeliveryAttempts; attempt++) {
    sum += backoff;
    backoff = Math.min(retry.maximumBackoffSeconds, backoff * MODEL_ASSUMPTIONS.retryBackoffFactor);
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------------------------

export interface Instances {
  /** To keep up at Cloud Run's utilisation target. */
  needed: number;
  running: number;
  /** The most that may run: max instances, or fewer if the regional CPU quota allows fewer. */
  available: number;
}

/** One minute of the timeline: rates are means over the minute, levels are at its end, instances its peak. */
export interface MinuteRow {
  minute: number;
  offeredPerSecond: number;
  webhook: Instances;
  refusedPerSecond: number;
  /** Events Customer.io holds back (refused, or behind a refusal). */
  heldBySender: number;
  publishedPerSecond: number;
  deliveredPerSecond: number;
  processor: Instances;
  /** Messages in the subscription, bounces waiting for a Track slot included. */
  backlog: number;
  oldestAgeSeconds: number;
  firestore: {
    readsPerSecond: number;
    writesPerSecond: number;
    rampOpsPerSecond: number;
    indexWritesPerSecond: number | undefined;
  };
  track: { callsPerSecond: number; capacityPerSecond: number; bounceWaitSeconds: number };
  bigquery: { rowsPerSecond: number; insertAllPerSecond: number };
  /** Mean time from Customer.io sending an event to its row, for the events landed in this minute (NaN: none). */
  delaySeconds: number;
  costUsd: number;
  /** The limit that held deliveries back longest in this minute. */
  binding: LimitName | undefined;
}

export interface BindingSpan {
  limit: LimitName;
  firstSecond: number;
  seconds: number;
}

export type Verdict = 'holds' | 'bends' | 'breaks';

export interface Simulation {
  shape: Shape;
  settings: DeploymentSettings;
  environment: Environment;
  minutes: MinuteRow[];
  verdict: Verdict;
  /** Why it bends or breaks, most serious first. */
  reasons: string[];
  /** In the order they first bound. */
  bindings: BindingSpan[];
  totals: {
    /** Requests Customer.io sent during the simulation. */
    sent: number;
    distinctEvents: number;
    refused: number;
    /** Messages older than the subscription's retention: deleted unprocessed. */
    expired: number;
    deadLettered: number;
    peakBacklog: number;
    peakOldestAgeSeconds: number;
    /** From the end of the shape until every queue is empty (0: never built up; Infinity: did not drain). */
    drainSeconds: number;
    maxDelaySeconds: number;
    maxBounceWaitSeconds: number;
    costUsd: number;
    costPerMillionEvents: number;
  };
  /** Whether bounces beyond the Track budget wait in the instance (slowing everything) or are nacked. */
  trackRegime: 'wait' | 'nack';
}

// ---------------------------------------------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------------------------------------------

interface Cohort {
  /** When Customer.io first sent these events. */
  sentAt: number;
  /** When they reached the queue. */
  queuedAt: number;
  n: number;
}

/** First in, first out, in fractional amounts (a fluid approximation of many messages). */
class Fifo {
  private cohorts: Cohort[] = [];
  private head = 0;
  size = 0;

  add(sentAt: number, queuedAt: number, n: number): void {
    if (n <= 0) return;
    const last = this.cohorts[this.cohorts.length - 1];
    if (last !== undefined && last.sentAt === sentAt && last.queuedAt === queuedAt) last.n += n;
    else this.cohorts.push({ sentAt, queuedAt, n });
    this.size += n;
  }

  /** Removes up to `n` from the head; returns how many, the sum of (now − sentAt) over them, and the cohorts. */
  take(
    n: number,
    now: number,
    onCohort?: (c: Cohort, taken: number) => void,
  ): { n: number; waitSum: number } {
    let left = Math.min(n, this.size);
    const taken = left;
    let waitSum = 0;
    while (left > 1e-9 && this.head < this.cohorts.length) {
      const c = this.cohorts[this.head]!;
      const k = Math.min(c.n, left);
      waitSum += k * (now - c.sentAt);
      onCohort?.(c, k);
      c.n -= k;
      left -= k;
      if (c.n <= 1e-9) this.head++;
    }
    this.size = Math.max(0, this.size - taken);
    if (this.head > 1024 && this.head * 2 > this.cohorts.length) {
      this.cohorts = this.cohorts.slice(this.head);
      this.head = 0;
    }
    if (this.size <= 1e-9) this.clear();
    return { n: taken, waitSum };
  }

  /** Removes the cohorts queued before `before` (time in queue over a limit); returns how many. */
  dropQueuedBefore(before: number): number {
    let dropped = 0;
    while (this.head < this.cohorts.length && this.cohorts[this.head]!.queuedAt < before) {
      dropped += this.cohorts[this.head]!.n;
      this.head++;
    }
    this.size = Math.max(0, this.size - dropped);
    if (this.size <= 1e-9) this.clear();
    return dropped;
  }

  /** Removes the cohorts Customer.io sent before `before`; returns how many. */
  dropSentBefore(before: number): number {
    let dropped = 0;
    while (this.head < this.cohorts.length && this.cohorts[this.head]!.sentAt < before) {
      dropped += this.cohorts[this.head]!.n;
      this.head++;
    }
    this.size = Math.max(0, this.size - dropped);
    if (this.size <= 1e-9) this.clear();
    return dropped;
  }

  oldestQueuedAt(): number | undefined {
    return this.size > 1e-9 ? this.cohorts[this.head]?.queuedAt : undefined;
  }

  private clear(): void {
    this.cohorts = [];
    this.head = 0;
    this.size = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Stages
// ---------------------------------------------------------------------------------------------------------------

const FIVE_MINUTES = 300;
const RAMP_GROWTH = 1.5;

/** Instances Cloud Run runs to serve `perSecond` at its utilisation target (CPU or concurrency, whichever needs more). */
function instancesFor(
  perSecond: number,
  cpuMs: number,
  latencyMs: number,
  fn: DeploymentSettings['webhook'],
  env: Environment,
): number {
  const usable = Math.min(fn.vcpus, env.usableVcpus);
  const byCpu = (perSecond * cpuMs) / 1000 / (usable * env.utilisationTarget);
  const byConcurrency = (perSecond * latencyMs) / 1000 / (fn.concurrency * env.utilisationTarget);
  return Math.max(fn.minInstances, Math.ceil(Math.max(byCpu, byConcurrency) - 1e-9));
}

/** Requests/s `instances` can serve flat out (all CPU, or every concurrency slot busy). */
function perInstanceCapacity(
  cpuMs: number,
  latencyMs: number,
  fn: DeploymentSettings['webhook'],
  env: Environment,
) {
  return {
    cpu: (Math.min(fn.vcpus, env.usableVcpus) * 1000) / cpuMs,
    concurrency: (fn.concurrency * 1000) / latencyMs,
  };
}

function argmin(caps: Array<[LimitName, number]>): [LimitName, number] {
  return caps.reduce((best, c) => (c[1] < best[1] ? c : best));
}

interface ProcessorCaps {
  caps: Array<[LimitName, number]>;
  trackCapacity: number;
}

function processorCaps(
  available: number,
  quotaLimited: boolean,
  rampOps: number,
  mix: DeliveryMix,
  settings: DeploymentSettings,
  env: Environment,
  regime: Simulation['trackRegime'],
): ProcessorCaps {
  const p = settings.processor;
  const per = perInstanceCapacity(mix.cpuMs, env.latencyMs.processor, p, env);
  const caps: Array<[LimitName, number]> = [
    [quotaLimited ? 'Cloud Run CPU quota' : 'processor CPU', available * per.cpu],
    ['processor concurrency', available * per.concurrency],
    ['Firestore ramp (500/50/5)', rampOps / (mix.reads + mix.writes)],
    ['BigQuery streaming quota', mix.fresh > 0 ? env.bigqueryRowsPerSecond / mix.fresh : Infinity],
  ];
  if (env.sequentialIndexWrites !== undefined && mix.writes > 0) {
    caps.push(['Firestore sequential index', env.sequentialIndexWrites / mix.writes]);
  }
  if (env.pushConcurrency !== undefined) {
    caps.push(['Pub/Sub push window', (env.pushConcurrency * 1000) / env.latencyMs.processor]);
  }
  const trackCapacity = env.trackEnabled
    ? Math.min(settings.trackBudgetRps, available * settings.trackMaxRps)
    : Infinity;
  // Waiting bounces hold concurrency slots, so the instance takes the pushed mix only as fast as Track admits its
  // bounces: everything slows to the Track budget over the actionable share.
  if (regime === 'wait' && mix.actionable > 0)
    caps.push(['Track API budget', trackCapacity / mix.actionable]);
  return { caps, trackCapacity };
}

// ---------------------------------------------------------------------------------------------------------------
// Simulation
// ---------------------------------------------------------------------------------------------------------------

interface CostRates {
  fresh: number;
  duplicate: number;
  idlePerSecond: number;
}

/** USD per fresh event and per duplicate (from the cost model's lines), and per second of idle minimum instances. */
export function costRates(f: CapacityFigures, settings: DeploymentSettings): CostRates {
  const lines = costPerMillionEvents(f.perEvent);
  const fresh = total(lines, 'steady') / 1e6;
  // A duplicate is received, published, pushed and read from the ledger; it writes nothing and lands no row.
  const duplicate =
    lines.reduce((sum, l) => {
      if (l.service === 'BigQuery' || /ledger writes|TTL delete|ledger storage/.test(l.item)) return sum;
      return sum + (/^processor /.test(l.item) ? l.steady * f.duplicateCost : l.steady);
    }, 0) / 1e6;
  const idleInstances = settings.webhook.minInstances + settings.processor.minInstances;
  const idlePerSecond =
    minInstanceMonthlyUsd({ ...ASSUMPTIONS, webhookMinInstances: idleInstances }) / (30 * 86_400);
  return { fresh, duplicate, idlePerSecond };
}

class MinuteAccumulator {
  private n = 0;
  private sums = {
    offered: 0,
    refused: 0,
    published: 0,
    delivered: 0,
    reads: 0,
    writes: 0,
    track: 0,
    rows: 0,
    cost: 0,
    delaySum: 0,
    delayed: 0,
  };
  private peak = { wNeeded: 0, wRunning: 0, pNeeded: 0, pRunning: 0, bounceWait: 0 };
  private bound = new Map<LimitName, number>();

  add(s: {
    offered: number;
    refused: number;
    published: number;
    delivered: number;
    reads: number;
    writes: number;
    track: number;
    rows: number;
    cost: number;
    delaySum: number;
    delayed: number;
    wNeeded: number;
    wRunning: number;
    pNeeded: number;
    pRunning: number;
    bounceWait: number;
    binding: LimitName | undefined;
  }): void {
    this.n++;
    for (const k of Object.keys(this.sums) as Array<keyof typeof this.sums>) this.sums[k] += s[k];
    for (const k of Object.keys(this.peak) as Array<keyof typeof this.peak>) {
      this.peak[k] = Math.max(this.peak[k], s[k]);
    }
    if (s.binding !== undefined) this.bound.set(s.binding, (this.bound.get(s.binding) ?? 0) + 1);
  }

  row(
    minute: number,
    levels: Pick<MinuteRow, 'heldBySender' | 'backlog' | 'oldestAgeSeconds'>,
    limits: {
      wAvailable: number;
      pAvailable: number;
      rampOps: number;
      indexWrites: number | undefined;
      trackCapacity: number;
      insertAllPer1000: number;
    },
  ): MinuteRow {
    const per = (v: number) => v / Math.max(1, this.n);
    const binding = [...this.bound.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    return {
      minute,
      offeredPerSecond: per(this.sums.offered),
      webhook: { needed: this.peak.wNeeded, running: this.peak.wRunning, available: limits.wAvailable },
      refusedPerSecond: per(this.sums.refused),
      heldBySender: levels.heldBySender,
      publishedPerSecond: per(this.sums.published),
      deliveredPerSecond: per(this.sums.delivered),
      processor: { needed: this.peak.pNeeded, running: this.peak.pRunning, available: limits.pAvailable },
      backlog: levels.backlog,
      oldestAgeSeconds: levels.oldestAgeSeconds,
      firestore: {
        readsPerSecond: per(this.sums.reads),
        writesPerSecond: per(this.sums.writes),
        rampOpsPerSecond: limits.rampOps,
        indexWritesPerSecond: limits.indexWrites,
      },
      track: {
        callsPerSecond: per(this.sums.track),
        capacityPerSecond: limits.trackCapacity,
        bounceWaitSeconds: this.peak.bounceWait,
      },
      bigquery: {
        rowsPerSecond: per(this.sums.rows),
        insertAllPerSecond: (per(this.sums.rows) * limits.insertAllPer1000) / 1000,
      },
      delaySeconds: this.sums.delayed > 0 ? this.sums.delaySum / this.sums.delayed : NaN,
      costUsd: this.sums.cost,
      binding,
    };
  }
}

/** One second of a simulation, for comparisons finer than the minute rows. */
export interface SecondTrace {
  second: number;
  published: number;
  /** Events that completed (landed their row) in this second. */
  landed: number;
  backlog: number;
}

export function simulate(
  shape: Shape,
  settings: DeploymentSettings,
  figures: CapacityFigures,
  environment: Environment,
  trace?: (second: SecondTrace) => void,
): Simulation {
  const env = environment;
  const w = settings.webhook;
  const p = settings.processor;
  const mix = deliveryMix(shape, figures);
  const cost = costRates(figures, settings);
  const latency = (env.latencyMs.webhook + env.latencyMs.processor) / 1000;
  const admission = trackAdmissionSeconds(settings.leaseSeconds);
  const regime = trackRegime(settings, env);
  const inInstanceWait = Math.min(p.concurrency, admission * settings.trackMaxRps) / settings.trackMaxRps;
  const deadLetterAfter = deadLetterSeconds(settings.retry);
  const webhookPer = perInstanceCapacity(figures.cpuMs.webhook, env.latencyMs.webhook, w, env);
  const webhookCapPerInstance = Math.min(webhookPer.cpu, webhookPer.concurrency);
  const wAvailable = Math.min(w.maxInstances, Math.floor(env.regionalCpuQuota / w.vcpus));

  const held = new Fifo();
  const subscription = new Fifo();
  const bounces = new Fifo();
  let holdUntil = -Infinity;
  let rampOps = Math.max(
    env.firestoreRampStart,
    RAMP_GROWTH * shape.basePerSecond * (mix.reads + mix.writes),
  );
  let windowOps = 0;

  const minutes: MinuteRow[] = [];
  const spans = new Map<LimitName, BindingSpan>();
  const totals: Simulation['totals'] = {
    sent: 0,
    distinctEvents: 0,
    refused: 0,
    expired: 0,
    deadLettered: 0,
    peakBacklog: 0,
    peakOldestAgeSeconds: 0,
    drainSeconds: 0,
    maxDelaySeconds: 0,
    maxBounceWaitSeconds: 0,
    costUsd: 0,
    costPerMillionEvents: 0,
  };
  let lastBusy = -1;
  let last = { pAvailable: p.maxInstances, trackCapacity: 0 };
  let minute = new MinuteAccumulator();
  const stopAt = shape.durationSeconds + MODEL_ASSUMPTIONS.horizonSeconds;

  const flush = (t: number, backlog: number, oldestAge: number) => {
    minutes.push(
      minute.row(
        Math.floor(t / 60),
        { heldBySender: held.size, backlog, oldestAgeSeconds: oldestAge },
        {
          wAvailable,
          pAvailable: last.pAvailable,
          rampOps,
          indexWrites: env.sequentialIndexWrites,
          trackCapacity: last.trackCapacity,
          insertAllPer1000: figures.insertAllPer1000,
        },
      ),
    );
    minute = new MinuteAccumulator();
  };

  let t = 0;
  let backlog = 0;
  let oldestAge = 0;
  for (; t < stopAt; t++) {
    const during = t < shape.durationSeconds;
    if (!during && t % 60 === 0 && held.size + subscription.size + bounces.size <= 1e-6) break;

    // Customer.io sends the shape. After a refusal it holds everything back for an hour, then catches up no faster
    // than the webhook accepts.
    const arrivals = during ? shape.peakPerSecond : shape.basePerSecond;
    totals.sent += arrivals;
    totals.distinctEvents += arrivals * mix.fresh;
    const webhookCapacity = wAvailable * webhookCapPerInstance;
    const queuedBefore = subscription.size;
    const wNeeded = instancesFor(arrivals, figures.cpuMs.webhook, env.latencyMs.webhook, w, env);
    let refused = 0;
    let catchingUp = false;
    if (t < holdUntil) {
      held.add(t, t, arrivals);
    } else if (arrivals > webhookCapacity) {
      // New traffic alone exceeds the webhook: the excess gets 429s and Customer.io stops the stream.
      refused = arrivals - webhookCapacity;
      subscription.add(t, t, webhookCapacity);
      held.add(t, t, refused);
      holdUntil = t + env.senderHoldSeconds;
    } else {
      subscription.add(t, t, arrivals);
      const caughtUp = held.take(webhookCapacity - arrivals, t, (c, k) => subscription.add(c.sentAt, t, k));
      catchingUp = caughtUp.n > 0;
    }
    totals.refused += refused;
    const wRunning =
      refused > 0 || catchingUp ? wAvailable : Math.min(wAvailable, Math.max(wNeeded, w.minInstances));
    const published = subscription.size - queuedBefore;

    // The processor: as many instances as the CPU quota leaves, each as fast as its CPU, its concurrency, the
    // ledger, the Track budget and BigQuery allow.
    const quotaLeft = Math.floor((env.regionalCpuQuota - wRunning * w.vcpus) / p.vcpus);
    const pAvailable = Math.max(0, Math.min(p.maxInstances, quotaLeft));
    const { caps, trackCapacity } = processorCaps(
      pAvailable,
      quotaLeft < p.maxInstances,
      rampOps,
      mix,
      settings,
      env,
      regime,
    );
    const [limit, capacity] = argmin(caps);
    const pending = subscription.size;
    const bound = pending > capacity + 1e-9 ? limit : undefined;
    const nacking = regime === 'nack' && mix.actionable > 0;
    // Nacked bounces stay unacked in the subscription (counted with their publish time) until a Track slot frees.
    const taken = subscription.take(capacity, t, (c, k) => {
      if (nacking) bounces.add(c.sentAt, c.queuedAt, k * mix.actionable);
    });
    const share = nacking ? 1 - mix.actionable : 1;
    let landed = taken.n * share;
    let freshRows = taken.n * (nacking ? mix.fresh - mix.actionable : mix.fresh);
    let delaySum = taken.waitSum * share;
    let trackCalls = nacking ? 0 : taken.n * mix.actionable;
    let bounceWait =
      taken.n > 0 ? taken.waitSum / taken.n + (bound === 'Track API budget' ? inInstanceWait : 0) : 0;
    let bouncesWaiting = false;
    if (nacking && bounces.size > 0) {
      const served = bounces.take(trackCapacity, t);
      bouncesWaiting = bounces.size > 1e-9;
      trackCalls = served.n;
      landed += served.n;
      freshRows += served.n;
      delaySum += served.waitSum;
      if (served.n > 0) bounceWait = served.waitSum / served.n;
      totals.deadLettered += bounces.dropSentBefore(t - deadLetterAfter);
    }
    totals.expired += subscription.dropQueuedBefore(t - settings.retentionSeconds);

    // Firestore: the ramp grows by half every five minutes, from what the collection actually served.
    const reads = taken.n * mix.reads;
    const writes = taken.n * mix.writes;
    windowOps += reads + writes;
    if ((t + 1) % FIVE_MINUTES === 0) {
      rampOps = Math.max(rampOps, (RAMP_GROWTH * windowOps) / FIVE_MINUTES);
      windowOps = 0;
    }

    const pNeeded = instancesFor(published, mix.cpuMs, env.latencyMs.processor, p, env);
    const pRunning =
      bound !== undefined ? pAvailable : Math.min(pAvailable, Math.max(pNeeded, p.minInstances));
    const secondCost = freshRows * cost.fresh + (landed - freshRows) * cost.duplicate + cost.idlePerSecond;
    totals.costUsd += secondCost;

    const binding: LimitName | undefined =
      refused > 0
        ? wAvailable < w.maxInstances
          ? 'Cloud Run CPU quota'
          : 'webhook instances'
        : (bound ?? (bouncesWaiting ? 'Track API budget' : undefined));
    if (binding !== undefined) {
      const span = spans.get(binding) ?? { limit: binding, firstSecond: t, seconds: 0 };
      span.seconds += 1;
      spans.set(binding, span);
    }
    backlog = subscription.size + bounces.size;
    oldestAge = t - Math.min(subscription.oldestQueuedAt() ?? t, bounces.oldestQueuedAt() ?? t);
    const delay = landed > 0 ? delaySum / landed + latency : NaN;
    totals.peakBacklog = Math.max(totals.peakBacklog, backlog);
    totals.peakOldestAgeSeconds = Math.max(totals.peakOldestAgeSeconds, oldestAge);
    if (landed > 0) totals.maxDelaySeconds = Math.max(totals.maxDelaySeconds, delay);
    if (trackCalls > 0)
      totals.maxBounceWaitSeconds = Math.max(totals.maxBounceWaitSeconds, bounceWait + latency);
    if (held.size + backlog > 1e-6) lastBusy = t;

    minute.add({
      offered: arrivals,
      refused,
      published,
      delivered: taken.n,
      reads,
      writes,
      track: trackCalls * figures.trackCallsPerActionable,
      rows: freshRows,
      cost: secondCost,
      delaySum: landed > 0 ? delaySum + landed * latency : 0,
      delayed: landed,
      wNeeded,
      wRunning,
      pNeeded,
      pRunning,
      bounceWait: trackCalls > 0 ? bounceWait + latency : 0,
      binding,
    });
    last = { pAvailable, trackCapacity };
    trace?.({ second: t, published, landed, backlog });
    if ((t + 1) % 60 === 0) flush(t, backlog, oldestAge);
  }
  if (t % 60 !== 0) flush(t, backlog, oldestAge);

  const drained = held.size + subscription.size + bounces.size <= 1e-6;
  totals.drainSeconds = !drained ? Infinity : Math.max(0, lastBusy + 1 - shape.durationSeconds);
  totals.costPerMillionEvents =
    totals.distinctEvents > 0 ? (totals.costUsd / totals.distinctEvents) * 1e6 : 0;
  const bindings = [...spans.values()].sort((a, b) => a.firstSecond - b.firstSecond);
  const reasons: string[] = [];
  if (totals.refused > 0)
    reasons.push('the webhook refuses requests: Customer.io holds its stream back an hour');
  if (totals.expired > 0)
    reasons.push('messages outlive the subscription retention and are deleted unprocessed');
  if (totals.deadLettered > 0) reasons.push('bounces wait past the retry horizon and are dead-lettered');
  if (!drained) reasons.push('the backlog does not drain');
  if (reasons.length === 0 && totals.peakOldestAgeSeconds > MODEL_ASSUMPTIONS.keepsUpSeconds) {
    reasons.push('a backlog builds up and drains: events land late, none is lost');
  }
  const verdict: Verdict =
    totals.refused > 0 || totals.expired > 0 || totals.deadLettered > 0 || !drained
      ? 'breaks'
      : reasons.length > 0
        ? 'bends'
        : 'holds';
  return {
    shape,
    settings,
    environment: env,
    minutes,
    verdict,
    reasons,
    bindings,
    totals,
    trackRegime: regime,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Sustained capacity: the long-run rate each stage takes (after Firestore's ramp), the least of them binding
// ---------------------------------------------------------------------------------------------------------------

export interface StageCapacity {
  limit: LimitName;
  /** Requests per second from Customer.io (duplicates included) this stage sustains. */
  perSecond: number;
}

/** Every stage's sustained rate for the shape's mix, slowest first. */
export function sustainedCapacity(
  shape: Pick<Shape, 'actionableShare' | 'duplicateShare'>,
  settings: DeploymentSettings,
  figures: CapacityFigures,
  env: Environment,
): StageCapacity[] {
  const mix = deliveryMix({ ...shape, peakPerSecond: 0, durationSeconds: 0, basePerSecond: 0 }, figures);
  const w = settings.webhook;
  const p = settings.processor;
  const webhookPer = perInstanceCapacity(figures.cpuMs.webhook, env.latencyMs.webhook, w, env);
  const wAvailable = Math.min(w.maxInstances, Math.floor(env.regionalCpuQuota / w.vcpus));
  const webhook = wAvailable * Math.min(webhookPer.cpu, webhookPer.concurrency);
  const stages = (pAvailable: number, quotaLimited: boolean): StageCapacity[] => {
    const { caps } = processorCaps(
      pAvailable,
      quotaLimited,
      Infinity,
      mix,
      settings,
      env,
      trackRegime(settings, env),
    );
    return [
      {
        limit: wAvailable < w.maxInstances ? 'Cloud Run CPU quota' : 'webhook instances',
        perSecond: webhook,
      },
      ...caps
        .filter(([name]) => name !== 'Firestore ramp (500/50/5)')
        .map(([limit, perSecond]) => ({ limit, perSecond })),
    ];
  };
  // The processor gets what the regional quota leaves once the webhook runs what this rate needs.
  const first = stages(Math.min(p.maxInstances, Math.floor(env.regionalCpuQuota / p.vcpus)), false);
  const rate = Math.min(...first.map((s) => s.perSecond));
  const webhookRunning = instancesFor(rate, figures.cpuMs.webhook, env.latencyMs.webhook, w, env);
  const quotaLeft = Math.floor((env.regionalCpuQuota - webhookRunning * w.vcpus) / p.vcpus);
  return stages(Math.max(0, Math.min(p.maxInstances, quotaLeft)), quotaLeft < p.maxInstances).sort(
    (a, b) => a.perSecond - b.perSecond,
  );
}
