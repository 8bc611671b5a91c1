// Backfill: history from before the webhook (a window over the App API's 6-month limit), written once however
// often it runs, through 429 storms and pages that fail mid-way, resumable after Ctrl-C and after the process was
// killed outright.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBackfillCommand } from '../../scripts/cli/backfill';
import type { Io } from '../../scripts/cli/args';
import type { ApiDelivery } from '../../scripts/local/app-api/record';
import {
  runReconciliation,
  type Checkpoint,
  type CheckpointStore,
  type RunOptions,
} from '../../shared/reconcile/run';
import { ensureBuilt } from '../support/ensure-built';
import { APP_API_KEY, openCompleteness, type Completeness } from '../support/completeness';

const DAY = 86400;
const now = Math.floor(Date.now() / 1000);

function delivery(i: number, created: number): ApiDelivery {
  return {
    id: `hist-${String(i).padStart(6, '0')}`,
    deduplicate_id: `hist-${i}:${created}`,
    created,
    type: i % 5 === 0 ? 'twilio' : 'email',
    campaign_id: i % 3 === 0 ? null : 40 + (i % 4),
    broadcast_id: i % 3 === 0 ? 7 : null,
    newsletter_id: null,
    transactional_message_id: null,
    action_id: 400,
    parent_action_id: null,
    content_id: null,
    trigger_event_id: null,
    customer_id: `u-${i}`,
    customer_identifiers: { id: `u-${i}`, email: `p${i}@x.test`, cio_id: `c${i}` },
    recipient: `p${i}@x.test`,
    subject: 'Hello',
    failure_message: null,
    forgotten: false,
    // sent, delivered and (email) a person's open: 3 rows each once repaired (the open stands for human_opened).
    metrics:
      i % 5 === 0
        ? { created, sent: created + 1, delivered: created + 5 }
        : {
            created,
            sent: created + 1,
            delivered: created + 5,
            opened: created + 600,
            human_opened: created + 600,
          },
  };
}
const rowsFor = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 2 : 3)).reduce((a, b) => a + b, 0);

let c: Completeness;
afterEach(async () => {
  await c?.close();
});

const backfill = (overrides: Partial<RunOptions> = {}) =>
  runReconciliation({
    client: c.client(),
    warehouse: c.warehouse,
    window: { start: now - 200 * DAY, end: now },
    settledBefore: now,
    repair: true,
    detectUnknown: false,
    chunkSize: 50,
    pageSize: 40,
    ...overrides,
  });

async function appApiRows(): Promise<{ rows: number; ids: number }> {
  const [r] = await c.sql(`SELECT COUNT(*) AS rows, COUNT(DISTINCT event_id) AS ids FROM customerio.events
    WHERE source = 'app_api'`);
  return { rows: Number(r!.rows), ids: Number(r!.ids) };
}

class MemoryCheckpoint implements CheckpointStore {
  saved: Checkpoint | undefined;
  saves = 0;
  load() {
    return this.saved === undefined ? undefined : (JSON.parse(JSON.stringify(this.saved)) as Checkpoint);
  }
  save(checkpoint: Checkpoint) {
    this.saves += 1;
    this.saved = JSON.parse(JSON.stringify(checkpoint)) as Checkpoint;
  }
}

describe('200 days of history, over the 6-month limit of one App API request', () => {
  const N = 400;
  beforeEach(async () => {
    c = await openCompleteness();
    // One delivery every 12 hours, 200 days back.
    c.appApi.record.add(Array.from({ length: N }, (_, i) => delivery(i, now - 200 * DAY + 60 + i * 43200)));
  });

  test('every first occurrence is written once; a second backfill adds nothing', async () => {
    const first = await backfill();
    expect(first.tally.totals.deliveries).toBe(N);
    expect(first.tally.totals.repaired).toBe(rowsFor(N));
    expect(await appApiRows()).toEqual({ rows: rowsFor(N), ids: rowsFor(N) });
    // SMS was recorded by Customer.io as twilio: the rows say sms, as a webhook would.
    const [sms] = await c.sql(
      `SELECT COUNT(DISTINCT delivery_id) AS n FROM customerio.events WHERE object_type = 'sms'`,
    );
    expect(sms!.n).toBe(N / 5);
    const again = await backfill();
    expect([again.tally.totals.repaired, again.tally.totals.missingHere]).toEqual([0, 0]);
    expect(await appApiRows()).toEqual({ rows: rowsFor(N), ids: rowsFor(N) });
    // The views count each delivery once.
    const [funnel] = await c.sql(
      `SELECT SUM(sent) AS sent, SUM(opened) AS opened FROM customerio.delivery_funnel`,
    );
    expect(funnel).toEqual({ sent: N, opened: N - N / 5 });
  });

  test('a 429 storm and pages failing mid-way slow it down, and change nothing it writes', async () => {
    c.appApi.faults.add({ kind: 'status', status: 429, times: 8, retryAfter: '0', after: 3 });
    c.appApi.faults.add({ kind: 'status', status: 503, times: 3, after: 10 });
    c.appApi.faults.add({ kind: 'cut', times: 2, path: /^\/messages$/, after: 20 });
    const client = c.client();
    const result = await backfill({ client });
    expect(result.tally.totals.repaired).toBe(rowsFor(N));
    expect(client.stats.throttled).toBe(8);
    expect(client.stats.failed).toBeGreaterThanOrEqual(5);
    expect(await appApiRows()).toEqual({ rows: rowsFor(N), ids: rowsFor(N) });
  });

  test('a malformed page stops it with the page named; the re-run resumes and writes each row once', async () => {
    const checkpoint = new MemoryCheckpoint();
    c.appApi.faults.add({
      kind: 'malformed',
      times: 1,
      after: 30,
      path: /^\/messages$/,
      body: { messages: [{ id: 'x', type: 'email', metrics: {} }], next: '' },
    });
    const err = await backfill({ checkpoint, concurrency: 1 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /GET \/messages page \d+ .* messages\[0\] \(delivery x\)\.created is not a unix time/,
    );
    const before = await appApiRows();
    expect(before.rows).toBeGreaterThan(0);
    expect(before.rows).toBeLessThan(rowsFor(N));
    expect(checkpoint.saved!.written).toBe(before.rows);

    const resumed = await backfill({ checkpoint, concurrency: 1 });
    expect(resumed.resumed).toEqual({
      deliveries: checkpoint.load()!.deliveries - resumed.tally.totals.deliveries,
      written: before.rows,
    });
    expect(await appApiRows()).toEqual({ rows: rowsFor(N), ids: rowsFor(N) });
  });

  test('Ctrl-C stops after the chunk in progress, the checkpoint is saved, and the same run continues', async () => {
    const checkpoint = new MemoryCheckpoint();
    const controller = new AbortController();
    const stopped = await backfill({
      checkpoint,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.deliveries >= 100) controller.abort();
      },
    });
    expect(stopped.interrupted).toBe(true);
    const partial = await appApiRows();
    expect(partial.rows).toBeLessThan(rowsFor(N));
    expect(checkpoint.saved!.written).toBe(partial.rows);

    const rest = await backfill({ checkpoint });
    expect(rest.interrupted).toBe(false);
    expect(rest.tally.totals.repaired + partial.rows).toBe(rowsFor(N));
    expect(await appApiRows()).toEqual({ rows: rowsFor(N), ids: rowsFor(N) });
  });

  test('a checkpoint of another window is refused, naming what to do', async () => {
    const checkpoint = new MemoryCheckpoint();
    checkpoint.save({
      workspace: 'default',
      window: { start: 1, end: 2 },
      slices: {},
      deliveries: 0,
      written: 0,
    });
    await expect(backfill({ checkpoint })).rejects.toThrow(
      /resume with the same --workspace, --since and --until/,
    );
  });
});

test('killed outright (SIGKILL) in the middle, the same command finishes the job without a duplicate', async () => {
  ensureBuilt();
  // The stand-in at Customer.io's own 10 requests/s: pages of 40 take seconds, time enough to kill it.
  c = await openCompleteness({ requestsPerSecond: 10 });
  const N = 1200;
  c.appApi.record.add(Array.from({ length: N }, (_, i) => delivery(i, now - 20 * DAY + 3600 + i * 1200)));
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backfill-kill-'));
  const checkpointFile = path.join(localDir, 'checkpoint.json');
  const env = {
    ...process.env,
    BIGQUERY_EMULATOR_HOST: c.warehouseServer.url,
    CIO_APP_API_URL: c.appApi.url,
    CIO_APP_API_KEY: APP_API_KEY,
    METADATA_SERVER_DETECTION: 'none',
  };
  const args = [
    '--since',
    '20d',
    '--until',
    new Date(now * 1000).toISOString().replace('.000Z', 'Z'),
    '--project',
    'backfill-test',
  ];
  args.push('--checkpoint', checkpointFile, '--settle', '0', '--concurrency', '1');
  try {
    const cli = path.join(__dirname, '..', '..', 'dist', 'scripts', 'cli', 'index.js');
    const child = spawn(process.execPath, [cli, 'backfill', ...args], { env, stdio: 'ignore' });
    // Kill it once a few chunks are written.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const saved = fs.existsSync(checkpointFile)
        ? (JSON.parse(fs.readFileSync(checkpointFile, 'utf8')) as Checkpoint)
        : undefined;
      if (saved !== undefined && saved.written >= 300) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const partial = await appApiRows();
    expect(partial.rows).toBeGreaterThanOrEqual(300);
    expect(partial.rows).toBeLessThan(rowsFor(N));

    let output = '';
    const io: Io = { out: (t) => (output += t), err: (t) => (output += t), isTTY: false, env, localDir };
    process.env.BIGQUERY_EMULATOR_HOST = c.warehouseServer.url;
    try {
      expect(await runBackfillCommand(args, io)).toBe(0);
    } finally {
      delete process.env.BIGQUERY_EMULATOR_HOST;
    }
    expect(output).toMatch(/resuming from .*checkpoint\.json/);
    expect(await appApiRows()).toEqual({ rows: rowsFor(N), ids: rowsFor(N) });
    expect(fs.existsSync(checkpointFile)).toBe(false);
  } finally {
    fs.rmSync(localDir, { recursive: true, force: true });
  }
}, 120_000);
