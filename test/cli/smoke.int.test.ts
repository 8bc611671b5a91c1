// `cio-webhooks smoke` against the whole local stack (scripts/local/stack.ts, functions from dist/, as `npm start`
// runs it): the synthetic event goes through the webhook, the emulated Pub/Sub push, the ledger and the warehouse,
// and the processor logs it; the rows stay out of the views.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/local/emulators';
import { startStack, type Stack } from '../../scripts/local/stack';
import { SYNTHETIC_EVENT_ID_PREFIX } from '../../shared/customerio/event';
import { ensureBuilt } from '../support/ensure-built';
import { runCli } from '../support/cli';

jest.setTimeout(180_000);

let stack: Stack;
let localDir: string;

beforeAll(async () => {
  ensureBuilt();
  localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-stack-'));
  stack = await startStack({
    localDir,
    webhookPort: await freePort(),
    projectId: `smoke-${process.pid}`,
    env: { LOG_LEVEL: 'info' },
  });
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(localDir, { recursive: true, force: true });
});

function smoke(argv: string[]) {
  return runCli(['smoke', ...argv], { localDir });
}

it('follows one synthetic event through the running stack, printing each hop', async () => {
  const r = await smoke([]);
  // The whole output on failure: it says which hop failed and why.
  expect([r.code, r.err, r.out]).toEqual([0, '', expect.stringContaining('passed')]);
  expect(r.out).toMatch(new RegExp(`^smoke test: ${SYNTHETIC_EVENT_ID_PREFIX}\\S+ \\(email/delivered`));
  expect(r.out).toMatch(/ {2}1 webhook {4}200 after \d+ ms/);
  expect(r.out).toMatch(/ {2}2 warehouse {2}row in \S+\.events after [\d.]+ s \(actions: none\)/);
  expect(r.out).toMatch(
    / {2}3 processor {2}logged "processed" after [\d.]+ s \(the processor's own time \d+ ms\)/,
  );
  expect(r.out).toMatch(/passed: the event went through end to end in [\d.]+ s/);
});

it('takes the webhook and the key as a deployment is given them (--url, --key-file)', async () => {
  const keyFile = path.join(localDir, 'key-for-smoke');
  fs.writeFileSync(keyFile, `${stack.signingKey}\n`);
  const r = await smoke(['--url', stack.state.webhookUrl, '--key-file', keyFile, '--timeout', '60']);
  expect([r.code, r.err, r.out]).toEqual([0, '', expect.stringContaining('passed')]);

  const wrong = path.join(localDir, 'wrong-key');
  fs.writeFileSync(wrong, 'not-the-key');
  const refused = await smoke(['--key-file', wrong]);
  expect(refused.code).toBe(1);
  expect(refused.out).toMatch(/FAILED at the webhook: the webhook refused the signature/);
});

it('leaves its rows in the events table, without actions, and out of the views', async () => {
  const dataset = stack.state.dataset;
  const rows = await stack.warehouse.query(
    `select event_id, actions from ${dataset}.events where starts_with(event_id, '${SYNTHETIC_EVENT_ID_PREFIX}')`,
  );
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row.actions).toEqual([]);
  const inViews = await stack.warehouse.query(
    `select count(*) as n from ${dataset}.events_unique where starts_with(event_id, '${SYNTHETIC_EVENT_ID_PREFIX}')`,
  );
  expect(Number(inViews[0]!.n)).toBe(0);
});
