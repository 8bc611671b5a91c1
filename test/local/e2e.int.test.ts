// The whole local stack, started the way `npm start` starts it (scripts/local/stack.ts, functions from dist/):
// every fixture is sent twice (like Customer.io retries), bad requests are refused, the warehouse ends with exactly
// one row per event_id, bounces and complaints carry their dry-run actions, and stopping leaves no process behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, groupAlive } from '../../scripts/local/emulators';
import { ensureBuilt } from '../support/ensure-built';
import { collectOutcomes } from '../support/processor-outcomes';
import { startStack, type Stack } from '../../scripts/local/stack';
import { readStackState, stateFile } from '../../scripts/local/stack-state';
import { sendEvents, sign, type OutgoingEvent } from '../../scripts/cli/send';
import { startTrackApiServer, type TrackApiServer } from '../support/track-api-server';
import { runCli } from '../support/cli';

jest.setTimeout(180_000);

const fixturesDir = path.join(__dirname, '..', 'fixtures', 'events');
const fixtures: OutgoingEvent[] = fs
  .readdirSync(fixturesDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const body = fs.readFileSync(path.join(fixturesDir, f));
    return { label: f, eventId: (JSON.parse(body.toString()) as { event_id: string }).event_id, body };
  });
const eventIds = fixtures.map((f) => f.eventId);

describe('a stack as `npm start` runs it: dry-run actions, development key', () => {
  /** Outcomes the processor logged per event_id (processed, duplicate, ...): how we know every delivery was handled. */
  const outcomes = new Map<string, string[]>();
  let stack: Stack;
  let localDir: string;

  beforeAll(async () => {
    ensureBuilt();
    localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-stack-'));
    stack = await startStack({
      localDir,
      webhookPort: await freePort(),
      projectId: `e2e-${process.pid}`,
      // Only what this test sets: no Track credentials from the developer's shell, so actions are dry-run.
      env: { LOG_LEVEL: 'info' },
      onLog: collectOutcomes(outcomes),
    });
  });

  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(localDir, { recursive: true, force: true });
  });

  it('publishes the state the CLI reads, and serves the webhook from dist/', () => {
    const state = readStackState(localDir);
    expect(state?.webhookUrl).toBe(stack.state.webhookUrl);
    expect(state?.signingKeyFile).toBe(path.join(localDir, 'signing-key'));
    expect(fs.readFileSync(path.join(localDir, 'signing-key'), 'utf8').trim()).toBe(stack.signingKey);
    expect(stack.trackMode).toBe('dry-run');
  });

  it('refuses what Customer.io did not sign, and anything but POST', async () => {
    const url = stack.state.webhookUrl;
    const body = fixtures[0].body;
    const now = String(Math.floor(Date.now() / 1000));
    const post = (headers: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: new Uint8Array(body),
      });
    expect((await post({})).status).toBe(401);
    expect(
      (await post({ 'x-cio-timestamp': now, 'x-cio-signature': sign('wrong-key', now, body) })).status,
    ).toBe(401);
    const stale = String(Math.floor(Date.now() / 1000) - 9 * 86400);
    expect(
      (await post({ 'x-cio-timestamp': stale, 'x-cio-signature': sign(stack.signingKey, stale, body) }))
        .status,
    ).toBe(401);
    expect((await fetch(url)).status).toBe(405);
  });

  it('stores every fixture once, though each was delivered twice', async () => {
    const results = await sendEvents([...fixtures, ...fixtures], {
      url: stack.state.webhookUrl,
      key: stack.signingKey,
      concurrency: 4,
    });
    expect(results.map((r) => r.status)).toEqual(Array(fixtures.length * 2).fill(200));

    // Wait until the processor has handled both deliveries of every event.
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !eventIds.every((id) => (outcomes.get(id)?.length ?? 0) >= 2)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const handled = Object.fromEntries(eventIds.map((id) => [id, outcomes.get(id)?.length ?? 0]));
    expect(handled).toEqual(Object.fromEntries(eventIds.map((id) => [id, 2])));

    const rows = await stack.warehouse.query(
      `select event_id, count(*) as n from ${stack.state.dataset}.events group by event_id order by event_id`,
    );
    expect(rows.map((r) => [r.event_id, Number(r.n)])).toEqual([...eventIds].sort().map((id) => [id, 1]));
    // One insert per event reached the warehouse: the ledger deduplicated, not only the warehouse's insertId.
    for (const id of eventIds) expect(stack.warehouse.stats.receivedByInsertId('events', id)).toBe(1);
  });

  it('records dry-run profile actions on the bounce and the complaint, and none on the rest', async () => {
    const rows = await stack.warehouse.query(
      `select metric, actions from ${stack.state.dataset}.events order by event_id`,
    );
    const withActions = rows.filter((r) => Array.isArray(r.actions) && r.actions.length > 0);
    expect(withActions.map((r) => r.metric).sort()).toEqual(['bounced', 'spammed']);
    for (const row of withActions) {
      expect(row.actions).toEqual([expect.stringMatching(/dry.?run.*identify/i)]);
    }
  });

  it('the commands find the stack through its state file: report queries the views the stack created', async () => {
    const file = path.join(localDir, 'report.html');
    const { code, out, err } = await runCli(['report', '--out', file], { localDir });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`wrote ${file} (local warehouse, dataset ${stack.state.dataset})`);
    expect(fs.readFileSync(file, 'utf8')).toContain('<html');
  });

  it('stops cleanly: no process group left, ports closed, state file removed', async () => {
    const groups = [...stack.processGroups];
    expect(groups).toHaveLength(4); // two emulators, two functions
    expect(groups.every(groupAlive)).toBe(true);
    await stack.stop();
    expect(groups.filter(groupAlive)).toEqual([]);
    await expect(fetch(stack.state.webhookUrl)).rejects.toThrow();
    await expect(fetch(stack.state.processorUrl)).rejects.toThrow();
    expect(fs.existsSync(stateFile(localDir))).toBe(false);
  });
});

describe('with Track credentials and signing keys in the environment', () => {
  let live: Stack;
  let track: TrackApiServer;
  let dir: string;

  beforeAll(async () => {
    track = await startTrackApiServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-live-'));
    live = await startStack({
      localDir: dir,
      webhookPort: await freePort(),
      projectId: `e2e-live-${process.pid}`,
      env: {
        CIO_SITE_ID: 'site-e2e',
        CIO_TRACK_API_KEY: 'track-key-e2e',
        CIO_TRACK_API_URL: track.url,
        CIO_WEBHOOK_SIGNING_KEYS: 'rotated-out-key, current-key',
      },
    });
  });

  afterAll(async () => {
    await live?.stop();
    await track?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes them to the functions: real Track calls, and the keys from the environment (no key file)', async () => {
    expect(live.trackMode).toBe('live');
    expect(live.signingKeySource).toBe('env');
    expect(live.state.signingKeyFile).toBeNull();
    expect(fs.existsSync(path.join(dir, 'signing-key'))).toBe(false);

    const pick = fixtures.filter((f) => /bounced|spammed/.test(f.label));
    const results = await sendEvents(pick, { url: live.state.webhookUrl, key: 'current-key' });
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && track.effects().length < 2) await new Promise((r) => setTimeout(r, 250));
    const effects = track.effects();
    expect(effects.map((c) => `${c.method} ${c.person}`).sort()).toEqual([
      'PUT cio_a1b2c3000004',
      'PUT u-1003',
    ]);
    const basic = `Basic ${Buffer.from('site-e2e:track-key-e2e').toString('base64')}`;
    expect(effects.every((c) => c.auth === basic)).toBe(true);
  });
});

describe('a stack with a second workspace (npm start -- --workspaces eu)', () => {
  let stack: Stack;
  let dir: string;
  const outcomes = new Map<string, string[]>();

  beforeAll(async () => {
    ensureBuilt();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-workspaces-'));
    stack = await startStack({
      localDir: dir,
      webhookPort: await freePort(),
      projectId: `e2e-ws-${process.pid}`,
      env: { LOG_LEVEL: 'info' },
      workspaces: ['eu'],
      onLog: collectOutcomes(outcomes),
    });
  });

  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the workspace at /eu with a key of its own, kept for the next start', () => {
    expect(stack.state.workspaces).toEqual({ eu: `${stack.state.webhookUrl}eu` });
    expect(stack.workspaceKeys.eu).toMatch(/^[0-9a-f]{64}$/);
    expect(stack.workspaceKeys.eu).not.toBe(stack.signingKey);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'workspace-keys.json'), 'utf8'))).toEqual({
      eu: [stack.workspaceKeys.eu],
    });
  });

  it('`send --workspace eu` lands the events as workspace eu; the same events at / are the default workspace’s', async () => {
    const eu = await runCli(['send', '--all', '--workspace', 'eu'], { localDir: dir });
    const byDefault = await runCli(['send', '--all'], { localDir: dir });
    expect([eu.code, eu.err, byDefault.code, byDefault.err]).toEqual([0, '', 0, '']);
    // The default workspace's key is refused at /eu, and an unknown workspace is 404.
    const raw = fixtures[0]!.body;
    const body = new Uint8Array(raw);
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      'content-type': 'application/json',
      'x-cio-timestamp': ts,
      'x-cio-signature': sign(stack.signingKey, ts, raw),
    };
    expect((await fetch(stack.state.workspaces.eu!, { method: 'POST', headers, body })).status).toBe(401);
    expect((await fetch(`${stack.state.webhookUrl}us`, { method: 'POST', headers, body })).status).toBe(404);

    const deadline = Date.now() + 90_000;
    const rows = async () =>
      (await stack.warehouse.query(
        `SELECT workspace, event_id FROM "${stack.state.dataset}".events ORDER BY workspace, event_id`,
      )) as Array<{ workspace: string; event_id: string }>;
    while (Date.now() < deadline && (await rows()).length < 2 * fixtures.length)
      await new Promise((r) => setTimeout(r, 500));
    const stored = await rows();
    expect(stored.filter((r) => r.workspace === 'eu').map((r) => r.event_id)).toEqual([...eventIds].sort());
    expect(stored.filter((r) => r.workspace === 'default').map((r) => r.event_id)).toEqual(
      [...eventIds].sort(),
    );
    expect(stored).toHaveLength(2 * fixtures.length);
  });
});
