// The newcomer's walk through completeness on the local stack (README, "Completeness"): `send` feeds the App API
// stand-in as Customer.io's own record; reconcile reports zero drift; rows deleted from the local warehouse are
// reported exactly; a repair fills them, and a second repair adds nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/local/emulators';
import { startStack, type Stack } from '../../scripts/local/stack';
import { main } from '../../scripts/cli/index';
import type { Io } from '../../scripts/cli/args';
import { ensureBuilt } from '../support/ensure-built';

jest.setTimeout(240_000);

let stack: Stack;
let localDir: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t), isTTY: false, env: {}, localDir };
  const code = await main(argv, io);
  return { code, out };
}

async function count(sql: string): Promise<number> {
  const [row] = await stack.warehouse.query(sql);
  return Number(Object.values(row!)[0]);
}

beforeAll(async () => {
  ensureBuilt();
  localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'completeness-stack-'));
  stack = await startStack({
    localDir,
    webhookPort: await freePort(),
    projectId: `completeness-${process.pid}`,
    env: { LOG_LEVEL: 'warning' },
  });
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(localDir, { recursive: true, force: true });
});

it('zero drift, the gap reported exactly, repaired, and a second repair adds nothing', async () => {
  const sent = await cli('send', '--generate', '300', '--duplicates', '0.1', '--seed', '11');
  expect(sent.code).toBe(0);
  const unique = 300 - Math.round(300 * 0.1);
  // Customer.io's record was fed before the events went out.
  expect(stack.appApi.record.size).toBeGreaterThan(200);
  const deadline = Date.now() + 180_000;
  while ((await count(`SELECT COUNT(DISTINCT event_id) FROM customerio.events`)) < unique) {
    if (Date.now() > deadline) throw new Error('the events did not all land in the warehouse');
    await new Promise((r) => setTimeout(r, 1000));
  }

  const clean = await cli('reconcile', '--since', '1d', '--settle', '0');
  expect(clean.out).toMatch(/Drift 0\.00%: 0 missing here \+ 0 only here/);
  expect(clean.code).toBe(0);

  const lost = await count(`SELECT COUNT(DISTINCT delivery_id) FROM customerio.events
    WHERE object_type = 'email' AND metric = 'delivered'`);
  expect(lost).toBeGreaterThan(3);
  const deleted = await cli(
    'query',
    "delete from customerio.events where object_type = 'email' and metric = 'delivered'",
  );
  expect(deleted.code).toBe(0);

  const gap = await cli('reconcile', '--since', '1d', '--settle', '0');
  expect(gap.code).toBe(3);
  expect(gap.out).toMatch(new RegExp(`Drift [\\d.]+%: ${lost} missing here \\+ 0 only here`));
  expect(gap.out).toMatch(/email +delivered +\w+ +\d+ +\d+ +0 +dlv-/);

  const repair = await cli('reconcile', '--since', '1d', '--settle', '0', '--repair');
  expect(repair.out).toMatch(new RegExp(`Repaired: wrote ${lost} rows`));
  const again = await cli('reconcile', '--since', '1d', '--settle', '0', '--repair');
  expect(again.out).toMatch(/Repaired: wrote 0 rows/);
  expect(again.out).toMatch(/Drift 0\.00%/);
  expect(again.code).toBe(0);
  expect(await count(`SELECT COUNT(*) FROM customerio.events WHERE source = 'app_api'`)).toBe(lost);
  expect(await count(`SELECT COUNT(*) FROM customerio.reconcile_runs`)).toBe(4);
});
