// The capacity model on hand-computed cases: a small deployment with round figures, so that every expected rate,
// backlog and delay below can be worked out on paper (the comments do).
import { capacityFigures } from '../../bench/capacity/from-bench';
import type { CapacityFigures } from '../../bench/capacity/measured';
import {
  deadLetterSeconds,
  deliveryMix,
  indexedSequentialFields,
  simulate,
  sustainedCapacity,
  trackAdmissionSeconds,
  costRates,
  type Environment,
  type Shape,
} from '../../bench/capacity/model';
import type { DeploymentSettings } from '../../bench/capacity/terraform';

const figures: CapacityFigures = {
  measuredAt: '2026-01-01T00:00:00.000Z',
  cpuMs: { webhook: 1, processor: 10 },
  duplicateCost: 0.5,
  firestore: { fresh: { reads: 1, writes: 2 }, duplicate: { reads: 1, writes: 0 } },
  insertAllPer1000: 10,
  trackCallsPerActionable: 1,
  perEvent: {
    firestoreReads: 1,
    firestoreWrites: 2,
    pubsubMessageBytes: 500,
    rowBytes: 800,
    rowBillableBytes: 1024,
    invocations: { webhook: 1, processor: 1 },
    cpuMs: { webhook: 1, processor: 10 },
    latencyMs: { webhook: 5, processor: 50 },
    logBytes: 500,
    logLines: 2,
  },
};

// Webhook: 1000 requests/s per instance (1 ms CPU). Processor: 100 events/s per instance (10 ms CPU), 2 instances.
const settings: DeploymentSettings = {
  webhook: { minInstances: 1, maxInstances: 4, concurrency: 1000, vcpus: 1 },
  processor: { minInstances: 0, maxInstances: 2, concurrency: 1000, vcpus: 1 },
  trackMaxRps: 50,
  trackBudgetRps: 100,
  leaseSeconds: 120,
  retry: { minimumBackoffSeconds: 10, maximumBackoffSeconds: 600, maxDeliveryAttempts: 10 },
  retentionSeconds: 7 * 86_400,
  unindexedLedgerFields: ['done_at', 'event_id', 'expire_at', 'first_seen_at', 'lease_until'],
};

// Latencies of 1 ms: the concurrency limits (1000 / 1 ms = 1,000,000/s) never bind.
const env: Environment = {
  regionalCpuQuota: 1000,
  firestoreRampStart: Infinity,
  sequentialIndexWrites: undefined,
  trackEnabled: false,
  bigqueryRowsPerSecond: 100_000,
  latencyMs: { webhook: 1, processor: 1 },
  senderHoldSeconds: 3600,
  utilisationTarget: 0.6,
  usableVcpus: 1,
};

const shape = (s: Partial<Shape>): Shape => ({
  peakPerSecond: 100,
  durationSeconds: 120,
  basePerSecond: 0,
  actionableShare: 0,
  duplicateShare: 0,
  ...s,
});

/** Two 1 ms hops from Customer.io to the row. */
const LATENCY = 0.002;

describe('capacity model', () => {
  it('mixes fresh events and duplicates per delivery', () => {
    const mix = deliveryMix(shape({ duplicateShare: 0.2, actionableShare: 0.1 }), figures);
    expect(mix.cpuMs).toBeCloseTo(0.8 * 10 + 0.2 * 10 * 0.5, 9); // 9 ms
    expect(mix.reads).toBeCloseTo(1, 9);
    expect(mix.writes).toBeCloseTo(0.8 * 2, 9);
    expect(mix.actionable).toBeCloseTo(0.08, 9); // only fresh events call Track
  });

  it('holds a load under every limit: no backlog, instances at the 60% target, the cost of every event', () => {
    const sim = simulate(shape({ peakPerSecond: 90, durationSeconds: 600 }), settings, figures, env);
    expect(sim.verdict).toBe('holds');
    expect(sim.bindings).toEqual([]);
    expect(sim.totals.peakBacklog).toBe(0);
    expect(sim.totals.maxDelaySeconds).toBeCloseTo(LATENCY, 9);
    // 90/s × 10 ms = 0.9 CPU; at 60% of one vCPU per instance: ceil(1.5) = 2.
    expect(sim.minutes[3].processor.needed).toBe(2);
    expect(sim.minutes[3].deliveredPerSecond).toBeCloseTo(90, 9);
    const rates = costRates(figures, settings);
    expect(sim.totals.costUsd).toBeCloseTo(90 * 600 * rates.fresh + 600 * rates.idlePerSecond, 9);
  });

  it('queues what the processor cannot take and drains it first in, first out', () => {
    // 300/s for 240 s against 2 × 100/s: the backlog grows 100/s to 24,000, then drains at 200/s in 120 s.
    const sim = simulate(shape({ peakPerSecond: 300, durationSeconds: 240 }), settings, figures, env);
    expect(sim.verdict).toBe('bends');
    expect(sim.bindings.map((b) => b.limit)).toEqual(['processor CPU']);
    expect(sim.bindings[0].seconds).toBe(359);
    expect(sim.totals.peakBacklog).toBeCloseTo(24_000, 6);
    expect(sim.totals.drainSeconds).toBe(119);
    // After second 239, 48,000 of the 72,000 sent are done: the oldest left was sent in second 160.
    expect(sim.minutes[3].oldestAgeSeconds).toBe(239 - 160);
    // The last events, sent in second 239, land in second 359.
    expect(sim.totals.maxDelaySeconds).toBeCloseTo(120, 0);
    expect(sim.minutes[0].processor.running).toBe(2);
  });

  it('lets the ledger collection take 500 operations/s, then 50% more every 5 minutes of what it served', () => {
    const rampy = { ...env, firestoreRampStart: 500 };
    const big = { ...settings, processor: { ...settings.processor, maxInstances: 100 } };
    // 3 operations per event: 500/3 events/s for five minutes, then 750/3.
    const sim = simulate(shape({ peakPerSecond: 1000, durationSeconds: 900 }), big, figures, rampy);
    expect(sim.bindings[0].limit).toBe('Firestore ramp (500/50/5)');
    expect(sim.minutes[2].deliveredPerSecond).toBeCloseTo(500 / 3, 6);
    expect(sim.minutes[7].deliveredPerSecond).toBeCloseTo(750 / 3, 6);
    expect(sim.minutes[12].firestore.rampOpsPerSecond).toBeCloseTo(1125, 6);
    expect(sim.minutes[15].firestore.rampOpsPerSecond).toBeCloseTo(1687.5, 6);
  });

  it('caps the ledger at 500 writes/s while a sequential field is indexed', () => {
    const indexed = { ...settings, unindexedLedgerFields: ['expire_at'] };
    expect(indexedSequentialFields(indexed)).toEqual(['done_at', 'event_id', 'first_seen_at', 'lease_until']);
    const big = { ...indexed, processor: { ...settings.processor, maxInstances: 100 } };
    const sim = simulate(shape({ peakPerSecond: 1000 }), big, figures, {
      ...env,
      sequentialIndexWrites: 500,
    });
    expect(sim.bindings[0].limit).toBe('Firestore sequential index');
    expect(sim.minutes[0].deliveredPerSecond).toBeCloseTo(250, 6); // 2 writes per event
  });

  it('slows every event to the Track budget over the actionable share while bounces wait in the instances', () => {
    // 80% actionable, budget 100 calls/s: 125 events/s (the CPU takes 200/s); concurrency 80 ≤ 23 s × 50/s, so
    // bounces wait in the instances.
    const big = { ...settings, processor: { ...settings.processor, maxInstances: 2, concurrency: 80 } };
    const tracked = { ...env, trackEnabled: true };
    const sim = simulate(shape({ peakPerSecond: 150, actionableShare: 0.8 }), big, figures, tracked);
    expect(sim.trackRegime).toBe('wait');
    expect(sim.bindings[0].limit).toBe('Track API budget');
    expect(sim.minutes[0].deliveredPerSecond).toBeCloseTo(100 / 0.8, 6);
    expect(sim.minutes[0].track.callsPerSecond).toBeCloseTo(100, 6);
    expect(sim.totals.deadLettered).toBe(0);
  });

  it('nacks the bounces an instance cannot hold and dead-letters those still waiting after the retry horizon', () => {
    // Concurrency 1000 > 23 s × 1/s: bounces beyond 2 calls/s (2 instances × 1/s) go back to Pub/Sub.
    const nacking = { ...settings, trackMaxRps: 1 };
    const tracked = { ...env, trackEnabled: true };
    const sim = simulate(
      shape({ peakPerSecond: 100, actionableShare: 0.1, durationSeconds: 3600 }),
      nacking,
      figures,
      tracked,
    );
    expect(sim.trackRegime).toBe('nack');
    // 10 bounces/s arrive, 2/s are served: the queue of bounces waits longer than 2430 s and is dead-lettered.
    expect(sim.totals.deadLettered).toBeGreaterThan(0);
    expect(sim.verdict).toBe('breaks');
    // The other 90% complete at once.
    expect(sim.minutes[0].deliveredPerSecond).toBeCloseTo(100, 6);
    expect(sim.minutes[0].track.callsPerSecond).toBeCloseTo(2, 6);
  });

  it('breaks when the webhook refuses: Customer.io holds everything back for an hour, then catches up', () => {
    // 4 instances × 1000/s = 4000/s; 5000/s refuses 1000 in the first second and pauses the sender.
    const sim = simulate(shape({ peakPerSecond: 5000, durationSeconds: 60 }), settings, figures, env);
    expect(sim.verdict).toBe('breaks');
    expect(sim.totals.refused).toBeCloseTo(1000, 6);
    expect(sim.bindings[0]).toEqual({ limit: 'webhook instances', firstSecond: 0, seconds: 1 });
    // Everything sent after the first second waited out the hold: the delay exceeds an hour.
    expect(sim.totals.maxDelaySeconds).toBeGreaterThan(3600);
    expect(sim.minutes[1].heldBySender).toBeCloseTo(1000 + 59 * 5000, 6);
  });

  it('counts messages past the retention as lost', () => {
    const short = { ...settings, retentionSeconds: 600 };
    // 300/s against 200/s for an hour: the backlog's head passes 600 s of age.
    const sim = simulate(shape({ peakPerSecond: 300, durationSeconds: 3600 }), short, figures, env);
    expect(sim.totals.expired).toBeGreaterThan(0);
    expect(sim.verdict).toBe('breaks');
  });

  it('derives the retry horizon and the Track admission window from the settings and the processor code', () => {
    // 10 + 20 + 40 + 80 + 160 + 320 + 600 + 600 + 600: nine waits between ten attempts.
    expect(deadLetterSeconds(settings.retry)).toBe(2430);
    // Deadline min(40 s, 120 s / 2) less the worst Track call (3 × 5 s + 2 s).
    expect(trackAdmissionSeconds(120)).toBe(23);
  });

  it('ranks the sustained rate of every stage, slowest first', () => {
    const stages = sustainedCapacity({ actionableShare: 0, duplicateShare: 0 }, settings, figures, env);
    expect(stages[0]).toEqual({ limit: 'processor CPU', perSecond: 200 });
    expect(stages.find((s) => s.limit === 'webhook instances')?.perSecond).toBe(4000);
    expect(stages.map((s) => s.limit)).not.toContain('Firestore ramp (500/50/5)');
  });

  it('makes no Track call in dry-run, so bounces neither wait nor get nacked', () => {
    const nacking = { ...settings, trackMaxRps: 1 };
    const sim = simulate(shape({ peakPerSecond: 100, actionableShare: 0.5 }), nacking, figures, env);
    expect(sim.trackRegime).toBe('wait');
    expect(sim.verdict).toBe('holds');
    expect(sim.totals.deadLettered).toBe(0);
  });

  it('takes its inputs from one benchmark run', () => {
    const run = (eventsPerSecond: number, reads: number, writes: number, trackPerActionable?: number) => ({
      eventsPerSecond,
      p50: 1,
      p99: 2,
      reads,
      writes,
      insertAllPer1000: 6,
      trackPerActionable,
    });
    const processor = [
      { label: 'micro-batched, no actions', figures: run(300, 1, 2) },
      { label: 'micro-batched, 10% bounced/spammed', figures: run(280, 1, 2, 1) },
      { label: 'duplicates (every event redelivered after done)', figures: run(750, 1, 0) },
    ];
    const phase = {
      perEvent: {
        firestoreReads: 1,
        firestoreWrites: 2,
        processorInvocations: 1,
        insertAllRequests: 0.006,
        cpuMs: { webhook: 2, processor: 8 },
        logBytes: { webhook: 200, processor: 300 },
        logLines: { webhook: 1, processor: 1 },
        pubsubMessageBytes: 500,
        rowBytes: 800,
        rowBillableBytes: 1024,
      },
      processor: { p50: 30, p99: 60 },
    };
    const derived = capacityFigures(
      new Date('2026-01-02T03:04:05.000Z'),
      { webhook: [{ p50: 1.5 }] } as unknown as Parameters<typeof capacityFigures>[1],
      processor,
      { burst: phase, paced: phase } as unknown as Parameters<typeof capacityFigures>[3],
    );
    expect(derived.measuredAt).toBe('2026-01-02T03:04:05.000Z');
    expect(derived.cpuMs).toEqual({ webhook: 2, processor: 8 });
    expect(derived.duplicateCost).toBeCloseTo(300 / 750, 9);
    expect(derived.firestore).toEqual({ fresh: { reads: 1, writes: 2 }, duplicate: { reads: 1, writes: 0 } });
    expect(derived.perEvent.logBytes).toBe(500);
  });

  it('prices a duplicate below a fresh event: no ledger write, no row', () => {
    const rates = costRates(figures, settings);
    expect(rates.duplicate).toBeGreaterThan(0);
    expect(rates.duplicate).toBeLessThan(rates.fresh);
  });
});
