// The local stack keeps the dedupe ledger between runs, like Firestore in production: events sent again after a
// clean stop and a new start on the same folder are duplicates (one row each, no second insert), and --reset
// (StackOptions.reset) starts from an empty ledger and an empty warehouse. Nothing outlives any of the runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, groupAlive } from '../../scripts/local/emulators';
import { startStack, type Stack } from '../../scripts/local/stack';
import { sendEvents, type OutgoingEvent } from '../../scripts/cli/send';
import { ensureBuilt } from '../support/ensure-built';
import { collectOutcomes } from '../support/processor-outcomes';

jest.setTimeout(240_000);

const fixturesDir = path.join(__dirname, '..', 'fixtures', 'events');
const events: OutgoingEvent[] = [
  'email-delivered-broadcast.json',
  'email-opened-prefetched.json',
  'email-bounced-newsletter.json',
  'sms-replied.json',
].map((f) => {
  const body = fs.readFileSync(path.join(fixturesDir, f));
  return { label: f, eventId: (JSON.parse(body.toString()) as { event_id: string }).event_id, body };
});
const eventIds = events.map((e) => e.eventId).sort();

interface Run {
  stack: Stack;
  /** The outcome the processor logged for each event_id in this run (processed, duplicate, ...). */
  outcomes: Map<string, string[]>;
}

let localDir: string;
const projectId = `restart-${process.pid}`;
const allGroups: number[] = [];
let current: Stack | undefined;

async function start(reset = false): Promise<Run> {
  const outcomes = new Map<string, string[]>();
  const stack = await startStack({
    localDir,
    reset,
    webhookPort: await freePort(),
    projectId,
    env: { LOG_LEVEL: 'info' },
    onLog: collectOutcomes(outcomes),
  });
  current = stack;
  allGroups.push(...stack.processGroups);
  return { stack, outcomes };
}

/** Sends the events once and returns the outcome the processor logged for each, once every one was handled. */
async function sendAndWait(run: Run, sent: OutgoingEvent[]): Promise<Record<string, string[]>> {
  const results = await sendEvents(sent, { url: run.stack.state.webhookUrl, key: run.stack.signingKey });
  expect(results.map((r) => r.status)).toEqual(sent.map(() => 200));
  const ids = sent.map((e) => e.eventId);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && !ids.every((id) => run.outcomes.has(id))) {
    await new Promise((r) => setTimeout(r, 250));
  }
  return Object.fromEntries(ids.map((id) => [id, run.outcomes.get(id) ?? []]));
}

async function rowsPerEvent(stack: Stack): Promise<Array<[string, number]>> {
  const rows = await stack.warehouse.query(
    `select event_id, count(*) as n from ${stack.state.dataset}.events group by event_id order by event_id`,
  );
  return rows.map((r) => [String(r.event_id), Number(r.n)]);
}

async function stop(stack: Stack): Promise<void> {
  await stack.stop();
  current = undefined;
  expect(stack.processGroups.filter(groupAlive)).toEqual([]);
}

beforeAll(() => {
  ensureBuilt();
  localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'restart-stack-'));
});

afterAll(async () => {
  await current?.stop();
  fs.rmSync(localDir, { recursive: true, force: true });
});

it('events re-sent after a restart are duplicates; --reset forgets them', async () => {
  // First run: nothing saved yet, every event is new.
  const first = await start();
  expect(first.stack.ledgerLoaded).toBeUndefined();
  expect(await sendAndWait(first, events)).toEqual(
    Object.fromEntries(events.map((e) => [e.eventId, ['processed']])),
  );
  expect(await rowsPerEvent(first.stack)).toEqual(eventIds.map((id) => [id, 1]));
  await stop(first.stack);

  // Second run on the same folder: the ledger saved by the stop is loaded, so the same events are duplicates.
  const second = await start();
  expect(second.stack.ledgerLoaded?.file).toContain(path.join(localDir, 'firestore'));
  expect(await sendAndWait(second, events)).toEqual(
    Object.fromEntries(events.map((e) => [e.eventId, ['duplicate']])),
  );
  expect(await rowsPerEvent(second.stack)).toEqual(eventIds.map((id) => [id, 1]));
  // The ledger stopped them: no insert reached the warehouse, whose insertId memory starts empty on every run.
  for (const id of eventIds) expect(second.stack.warehouse.stats.receivedByInsertId('events', id)).toBe(0);
  // A new event in the second run is saved too, with the first run's.
  const extra = events.slice(0, 1).map((e) => {
    const body = Buffer.from(e.body.toString().replace(e.eventId, `${e.eventId}-second-run`));
    return { label: 'second-run', eventId: `${e.eventId}-second-run`, body };
  });
  expect(await sendAndWait(second, extra)).toEqual({ [extra[0].eventId]: ['processed'] });
  await stop(second.stack);

  const third = await start();
  expect(await sendAndWait(third, [...events, ...extra])).toEqual(
    Object.fromEntries([...events, ...extra].map((e) => [e.eventId, ['duplicate']])),
  );
  await stop(third.stack);

  // --reset: empty ledger and empty warehouse, so the same events are new again.
  const fresh = await start(true);
  expect(fresh.stack.ledgerLoaded).toBeUndefined();
  expect(await rowsPerEvent(fresh.stack)).toEqual([]);
  expect(await sendAndWait(fresh, events)).toEqual(
    Object.fromEntries(events.map((e) => [e.eventId, ['processed']])),
  );
  expect(await rowsPerEvent(fresh.stack)).toEqual(eventIds.map((id) => [id, 1]));
  await stop(fresh.stack);

  expect(allGroups).toHaveLength(16); // four runs × (two emulators + two functions)
  expect(allGroups.filter(groupAlive)).toEqual([]);
});
