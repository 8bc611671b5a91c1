// cioReconcile as Cloud Scheduler calls it: through functions/index (so with the framework's body parsers off, as
// deployed), a POST whose JSON body names the check. The two schedules differ only in their bodies, so a body the
// function cannot read would run the daily reconcile every ten minutes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateEvents } from '../../scripts/cli/generate-events';
import { APP_API_KEY, openCompleteness, type Completeness } from '../support/completeness';

type Testing = typeof import('@google-cloud/functions-framework/testing');

const now = Math.floor(Date.now() / 1000);
let c: Completeness;
let server: http.Server;
let port: number;
const saved = { ...process.env };

beforeAll(async () => {
  c = await openCompleteness();
  Object.assign(process.env, {
    GOOGLE_CLOUD_PROJECT: c.bigquery.projectId,
    BIGQUERY_EMULATOR_HOST: c.warehouseServer.url,
    CIO_APP_API_KEY: APP_API_KEY,
    CIO_APP_API_URL: c.appApi.url,
    RECONCILE_SETTLE_MINUTES: '0',
    LOG_LEVEL: 'error',
  });
  let testing: Testing | undefined;
  jest.isolateModules(() => {
    jest.requireActual('../../functions/index');
    testing = jest.requireActual<Testing>('@google-cloud/functions-framework/testing');
  });
  server = testing!.getTestServer('cioReconcile');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await c.close();
  process.env = saved;
});

function call(method: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: '/',
        // Cloud Scheduler's http_target headers (terraform/reconcile.tf).
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const outcomes = (text: string): string[] =>
  (JSON.parse(text) as { outcomes: Array<{ outcome: string }> }).outcomes.map((o) => o.outcome);

test('{"check": "stall"} runs the stall check: a stall while Customer.io sends and nothing arrives', async () => {
  const sent = generateEvents({ count: 20, seed: 4, duplicateShare: 0, startMs: (now - 1800) * 1000 }).map(
    (e) => JSON.parse(e.body) as object,
  );
  c.record(sent);
  const stalled = await call('POST', '{"check": "stall"}');
  expect([stalled.status, JSON.parse(stalled.text).check, outcomes(stalled.text)]).toEqual([
    200,
    'stall',
    ['stall'],
  ]);
  await c.land(sent);
  const flowing = await call('POST', '{"check":"stall"}');
  expect(outcomes(flowing.text)).toEqual(['stream_flowing']);
  // No reconcile ran: nothing was recorded.
  expect(await c.sql('SELECT COUNT(*) AS runs FROM customerio.reconcile_runs')).toEqual([{ runs: 0 }]);
});

test('{"check": "reconcile"} (or an empty body) compares and records a run', async () => {
  const first = await call('POST', '{"check": "reconcile"}');
  expect([first.status, JSON.parse(first.text).check, outcomes(first.text)]).toEqual([
    200,
    'reconcile',
    ['reconcile_ok'],
  ]);
  const empty = await call('POST');
  expect(outcomes(empty.text)).toEqual(['reconcile_ok']);
  expect(await c.sql('SELECT COUNT(*) AS runs FROM customerio.reconcile_runs')).toEqual([{ runs: 2 }]);
});

test('anything else is refused, naming what is accepted', async () => {
  for (const body of ['{"check": "everything"}', 'check=stall', '[]']) {
    const r = await call('POST', body);
    expect([r.status, r.text]).toEqual([400, expect.stringContaining('{"check": "reconcile" | "stall"}')]);
  }
  expect((await call('GET')).status).toBe(405);
});
