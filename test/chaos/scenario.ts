// The chaos run: the whole local stack (emulators, local warehouse, both functions from dist/) serving two Customer.io
// workspaces, each with live Track credentials pointed at a Track API fake of its own, fed a seeded stream of realistic
// events by a Customer.io-like sender while the processor is SIGKILLed and restarted, the default workspace's Track
// API and the warehouse fail a share of requests, the second workspace's Track API refuses its key for a while (a
// revoked key: its events wait, the default workspace's must not), and the Pub/Sub emulator is stopped and started
// again. It returns what happened; chaos.int.test.ts asserts on it.
//
// Timeline (faults on throughout, off once drained):
//   1. stream      most of the requests, accepted within seconds.
//   2. processing  the emulator pushes ONE message at a time, so the processor works through the backlog for minutes;
//                  it is SIGKILLed (and restarted) at spread points of that work. Ends when every accepted message
//                  was acked (or dead-lettered: those are replayed), because the Pub/Sub emulator keeps nothing
//                  across a restart (verified: not even with --data-dir).
//   3. outage      stop Pub/Sub; send (the webhook must answer 503; the sender retries, a few requests are never
//                  retried); start Pub/Sub again on the same port with the same topics and subscriptions.
//   4. tail        the last requests, including re-sends of events finished minutes before; one more SIGKILL.
//   5. drain       wait until every accepted event is in the warehouse and every message settled.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { replayDeadLetters } from '../../scripts/cli/replay-dead-letters';
import { freePort, groupAlive } from '../../scripts/local/emulators';
import { startStack, type Stack } from '../../scripts/local/stack';
import { startTrackApiServer, type TrackApiServer, type TrackCall } from '../support/track-api-server';
import { CustomerIoSender, type RequestRecord } from './customerio-sender';
import { DeliveryLog } from './delivery-log';
import { FaultInjector, type InjectedFaults } from './fault-injector';
import { buildPlan, eventKey, type Plan, type PlanOptions } from './plan';
import { eventInsertId } from '../../shared/warehouse/row';
import { prng } from '../../scripts/cli/generate-events';

export interface ChaosOptions extends PlanOptions {
  processorKills: number;
  concurrency: number;
  /** DEDUPE_LEASE_SECONDS: how long a SIGKILLed claim blocks its event (per-event deadline = half of it). */
  leaseSeconds: number;
  maxDeliveryAttempts: number;
  /** How long Pub/Sub stays down before it is started again. */
  outageMs: number;
  /** How long after the stream the second workspace's Track API goes on refusing its key. */
  revokedKeyAfterStreamMs: number;
  settleTimeoutMs: number;
  /** Shown while the run goes on. */
  progress?: (line: string) => void;
}

export interface LedgerEntry {
  state: string;
  attempts: number;
}

export interface DeadLetterSeen {
  eventId: string | undefined;
  messageId: string;
  deliveryCount: string | undefined;
  when: 'before the outage (replayed)' | 'at the end';
}

export interface ChaosResult {
  options: ChaosOptions;
  plan: Plan;
  records: RequestRecord[];
  deliveries: DeliveryLog;
  /** `<workspace>/<event_id>` → rows in the events table. */
  rows: Map<string, number>;
  rejectRows: number;
  /** `<workspace>/<event_id>` → times its insertId reached the warehouse (insertAll rows, faulted requests included). */
  insertSends: Map<string, number>;
  insertAllRequests: number;
  ledger: Map<string, LedgerEntry>;
  /** Both workspaces' Track API calls, each labelled with its workspace. */
  trackCalls: Array<TrackCall & { workspace: string }>;
  /** When the second workspace's Track API refused its key (401 to every call). */
  revokedKey: { from: number; to: number };
  faults: InjectedFaults & { processorKills: number; pubsubOutages: number };
  outage: { stoppedAt: number; startingAt: number; restartedAt: number };
  deadLetters: DeadLetterSeen[];
  unexpectedExits: string[];
  /** Settled = every accepted event has its row and every accepted message was acked or dead-lettered. */
  drained: boolean;
  /** What was still open when the drain gave up (empty when drained). */
  unsettled: string[];
  leftover: { groups: number[]; processes: string[] };
  phases: Array<[string, number]>;
  wallMs: number;
}

const TRACK_SITE = 'chaos-site';

/** Processes whose environment carries `marker` (every process the stack starts inherits its project id). */
function processesMarked(marker: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker)) continue;
      found.push(`${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function readLedger(host: string, projectId: string, collection: string) {
  // The Firestore client takes the emulator from the environment when it is built (jest points it elsewhere).
  const previous = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  const firestore = new Firestore({ projectId });
  process.env.FIRESTORE_EMULATOR_HOST = previous;
  try {
    const snapshot = await firestore.collection(collection).get();
    const ledger = new Map<string, LedgerEntry>();
    for (const doc of snapshot.docs) {
      const data = doc.data() as { event_id?: string; workspace?: string; state?: string; attempts?: number };
      const id =
        data.event_id === undefined ? `?${doc.id}` : eventKey(data.workspace ?? 'default', data.event_id);
      ledger.set(id, { state: data.state ?? '?', attempts: data.attempts ?? 0 });
    }
    return ledger;
  } finally {
    await firestore.terminate();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const say = options.progress ?? (() => undefined);
  const phases: Array<[string, number]> = [];
  let phaseStart = started;
  const phase = (name: string) => {
    const now = Date.now();
    phases.push([name, now - phaseStart]);
    phaseStart = now;
    say(`${name} done after ${((now - started) / 1000).toFixed(0)} s`);
  };
  const random = prng(options.seed);
  const plan = buildPlan(options);
  const deliveries = new DeliveryLog();
  const unexpectedExits: string[] = [];
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cio-chaos-'));
  const projectId = `chaos-${process.pid}-${Date.now().toString(36)}`;
  let track: TrackApiServer | undefined;
  let secondTrack: TrackApiServer | undefined;
  let stack: Stack | undefined;
  let keepLogs = true;
  try {
    track = await startTrackApiServer();
    secondTrack = await startTrackApiServer();
    stack = await startStack({
      localDir,
      webhookPort: await freePort(),
      projectId,
      workspaces: [options.workspace],
      env: {
        CIO_SITE_ID: TRACK_SITE,
        CIO_TRACK_API_KEY: 'chaos-track-key',
        CIO_TRACK_API_URL: track.url,
        CIO_WORKSPACE_TRACK_CREDENTIALS: JSON.stringify({
          [options.workspace]: {
            site_id: 'chaos-eu-site',
            api_key: 'chaos-eu-key',
            api_url: secondTrack.url,
          },
        }),
        CIO_SUPPRESS_ON: 'spammed',
        CIO_TRACK_MAX_RPS: '50',
        DEDUPE_LEASE_SECONDS: String(options.leaseSeconds),
        LOG_LEVEL: 'info',
      },
      maxDeliveryAttempts: options.maxDeliveryAttempts,
      // Every row sent is stored: a second row for an event shows that the ledger let a second insert through.
      dedupeInsertIds: false,
      onLog: (source, line) => {
        if (source === 'processor') deliveries.add(line);
      },
      onUnexpectedExit: (source, how) => unexpectedExits.push(`${source}: ${how}`),
    });
    const live = stack;
    const liveTrack = track;
    const liveSecondTrack = secondTrack;
    phase('start');

    const sender = new CustomerIoSender({
      targets: {
        default: { url: live.state.webhookUrl, key: live.signingKey },
        [options.workspace]: {
          url: live.state.workspaces[options.workspace]!,
          key: live.workspaceKeys[options.workspace]!,
        },
      },
    });
    // The processor's Track request timeout is an eighth of its per-event deadline (half the lease).
    const trackTimeoutMs = Math.min(5000, (options.leaseSeconds * 1000) / 16);
    const injector = new FaultInjector(
      liveTrack,
      live.warehouse,
      { track500: 0.1, track429: 0.08, trackHang: 0.04, warehouse503: 0.06, warehousePartial: 0.04 },
      trackTimeoutMs * 2,
    );
    let kills = 0;
    let restarts: Promise<void> = Promise.resolve();
    const killProcessor = () => {
      kills++;
      say(`SIGKILL processor #${kills}`);
      restarts = restarts.then(() => live.restartFunction('processor', 'SIGKILL'));
    };

    // Dead letters seen so far, by message id (a replayed message comes back with a new id).
    const deadLetters: DeadLetterSeen[] = [];
    const deadLettered = new Map<string, Set<string>>();
    const pubsub = () => new PubSub({ projectId, apiEndpoint: live.state.pubsubEmulatorHost });
    const scanDeadLetters = async (replay: boolean) => {
      const client = pubsub();
      try {
        await replayDeadLetters(client, {
          subscription: live.state.deadLetterSubscription,
          topic: live.state.eventsTopic,
          dryRun: !replay,
          onMessage: (message, outcome) => {
            const eventId =
              message.attributes.event_id === undefined
                ? undefined
                : eventKey(message.attributes.workspace ?? 'default', message.attributes.event_id);
            if (outcome === 'replayed') {
              deadLetters.push({
                eventId,
                messageId: message.messageId,
                deliveryCount: message.deliveryCount,
                when: 'before the outage (replayed)',
              });
              return;
            }
            if (eventId === undefined) return;
            const ids = deadLettered.get(eventId) ?? new Set<string>();
            ids.add(message.messageId);
            deadLettered.set(eventId, ids);
          },
        });
      } finally {
        await client.close();
      }
    };

    /** Event ids still open: accepted but not stored, or with accepted messages neither acked nor dead-lettered. */
    const openEvents = async (needRows: boolean): Promise<string[]> => {
      const accepted = new Map<string, number>();
      for (const r of sender.records) {
        if (r.accepted) accepted.set(r.request.id, (accepted.get(r.request.id) ?? 0) + 1);
      }
      const stored = needRows ? await countRows(live) : undefined;
      const open: string[] = [];
      for (const [eventId, messages] of accepted) {
        const settled = deliveries.ackedMessages(eventId) + (deadLettered.get(eventId)?.size ?? 0);
        const parked = deadLettered.has(eventId);
        if (settled < messages) open.push(`${eventId} (${settled}/${messages} messages settled)`);
        else if (stored && !parked && !stored.has(eventId)) open.push(`${eventId} (no row)`);
      }
      return open;
    };
    const settle = async (what: string, needRows: boolean, replay: boolean): Promise<string[]> => {
      const deadline = Date.now() + options.settleTimeoutMs;
      let lastScan = 0;
      for (;;) {
        const scan = Date.now() - lastScan > 8000;
        if (scan) {
          await scanDeadLetters(replay);
          lastScan = Date.now();
        }
        const open = await openEvents(needRows);
        if (scan && open.length > 0) say(`${what}: ${open.length} events open`);
        if (open.length === 0) return [];
        if (Date.now() > deadline) {
          say(`${what}: gave up with ${open.length} open`);
          return open;
        }
        await sleep(1000);
      }
    };

    // 1. The stream, with faults; SIGKILLs spread over the processing (the emulator pushes one message at a time,
    // so the processor works through the backlog long after the last request was accepted).
    injector.start();
    const phase1Events = new Set(plan.phase1.map((r) => r.id)).size;
    const killAfter = Array.from({ length: options.processorKills - 1 }, (_, i) =>
      Math.floor((phase1Events * (i + 0.5 + random() * 0.5)) / options.processorKills),
    );
    const killer = setInterval(() => {
      if (killAfter.length > 0 && deliveries.count('processed') >= killAfter[0]) {
        killAfter.shift();
        killProcessor();
      }
    }, 100);
    // The second workspace's key is revoked while the stream runs and for a while after: its actionable events are
    // nacked (track:credentials:401) and retried; the default workspace's go on.
    const revokedKey = { from: Date.now(), to: 0 };
    liveSecondTrack.faults.add({ kind: 'status', status: 401, times: 1_000_000 });
    await sender.deliverAll(plan.phase1, options.concurrency, (i) => {
      if (i % 1000 === 0) say(`stream: ${i}/${plan.phase1.length} requests started`);
    });
    phase('stream');
    await sleep(options.revokedKeyAfterStreamMs);
    liveSecondTrack.faults.clear();
    revokedKey.to = Date.now();
    say(
      `${options.workspace}'s Track API key accepted again after ${((revokedKey.to - revokedKey.from) / 1000).toFixed(0)} s`,
    );

    // 2. Processing and quiesce: the emulator loses whatever is in flight when it stops.
    const quiesceOpen = await settle('processing', false, true);
    clearInterval(killer);
    await restarts;
    if (quiesceOpen.length > 0) {
      throw new Error(
        `the stream did not settle before the Pub/Sub outage (${quiesceOpen.length} open):\n` +
          quiesceOpen.slice(0, 30).join('\n'),
      );
    }
    phase('processing');

    // 3. Pub/Sub outage. (Faults stay on: the injector only runs out of new ones while traffic is idle.)
    await live.stopPubsub();
    deliveries.newPubsubRun();
    const stoppedAt = Date.now();
    say('Pub/Sub stopped');
    const outageSends = sender.deliverAll(plan.outage, options.concurrency);
    await sleep(options.outageMs);
    const startingAt = Date.now();
    await live.startPubsub();
    const restartedAt = Date.now();
    say(`Pub/Sub started again after ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s`);
    await outageSends;
    phase('outage');

    // 4. The tail: late re-sends; one more SIGKILL while the outage's backlog is being processed.
    const tailKillAfter = deliveries.count('processed') + 100;
    const tailKiller = setInterval(() => {
      if (deliveries.count('processed') >= tailKillAfter) {
        clearInterval(tailKiller);
        killProcessor();
      }
    }, 100);
    await sender.deliverAll(plan.phase3, options.concurrency);
    phase('tail');

    // 5. Drain.
    const unsettled = await settle('drain', true, false);
    clearInterval(tailKiller);
    await restarts;
    injector.stop();
    phase('drain');

    const rows = await countRows(live);
    const [rejects] = await live.warehouse.query(
      `select count(*) as n from ${live.state.dataset}.rejected_events`,
    );
    const insertSends = new Map<string, number>();
    for (const [id, event] of plan.events) {
      const insertId = eventInsertId({ workspace: event.workspace, eventId: event.eventId });
      const n = live.warehouse.stats.receivedByInsertId('events', insertId);
      if (n > 0) insertSends.set(id, n);
    }
    const ledger = await readLedger(live.state.firestoreEmulatorHost, projectId, 'cio_webhook_events');
    await scanDeadLetters(false);
    for (const [eventId, ids] of deadLettered) {
      for (const messageId of ids)
        deadLetters.push({ eventId, messageId, deliveryCount: undefined, when: 'at the end' });
    }
    const faults = {
      ...injector.injected(),
      processorKills: kills,
      pubsubOutages: 1,
    };
    const insertAllRequests = live.warehouse.stats.insertAllRequests;

    const groups = [...live.processGroups];
    await live.stop();
    const leftover = { groups: groups.filter(groupAlive), processes: processesMarked(projectId) };
    phase('stop');
    keepLogs = unsettled.length > 0;
    return {
      options,
      plan,
      records: sender.records,
      deliveries,
      rows,
      rejectRows: Number(rejects?.n ?? 0),
      insertSends,
      insertAllRequests,
      ledger,
      trackCalls: [
        ...liveTrack.calls.map((c) => ({ ...c, workspace: 'default' })),
        ...liveSecondTrack.calls.map((c) => ({ ...c, workspace: options.workspace })),
      ],
      revokedKey,
      faults,
      outage: { stoppedAt, startingAt, restartedAt },
      deadLetters,
      unexpectedExits,
      drained: unsettled.length === 0,
      unsettled,
      leftover,
      phases,
      wallMs: Date.now() - started,
    };
  } finally {
    await stack?.stop().catch(() => undefined);
    await track?.close();
    await secondTrack?.close();
    // The functions' and emulators' logs stay when the run failed.
    if (keepLogs) say(`logs kept in ${path.join(localDir, 'logs')}`);
    else fs.rmSync(localDir, { recursive: true, force: true });
  }
}

async function countRows(stack: Stack): Promise<Map<string, number>> {
  const result = await stack.warehouse.query(
    `select workspace, event_id, count(*) as n from ${stack.state.dataset}.events group by workspace, event_id`,
  );
  return new Map(result.map((r) => [eventKey(String(r.workspace), String(r.event_id)), Number(r.n)]));
}
