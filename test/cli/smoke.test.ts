// `cio-webhooks smoke` without a stack: its command line, what it says when the webhook refuses the event, and the
// two places it reads the processor's lines from (a local log file; Cloud Logging's entries.list, here a local
// HTTP server standing in for it).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { syntheticEvent } from '../../scripts/cli/smoke';
import { cloudProcessorLog, localProcessorLog } from '../../scripts/cli/smoke/processor-log';
import { SYNTHETIC_EVENT_ID_PREFIX, parseEvent } from '../../shared/customerio/event';
import { runCli } from '../support/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-smoke-'));
const keyFile = path.join(dir, 'key');
fs.writeFileSync(keyFile, 'whsec-smoke\n');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function smoke(argv: string[]) {
  return runCli(['smoke', ...argv], { localDir: dir }); // no stack.json: no local stack
}

/** A local HTTP server whose answers come from `handler`. */
async function answering(
  handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('cio-webhooks smoke: command line', () => {
  it('explains itself', async () => {
    const r = await smoke(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--key-file');
    expect(r.out).toContain(SYNTHETIC_EVENT_ID_PREFIX);
  });

  it('needs a deployment (--project with --url and --key-file) or a running local stack', async () => {
    expect((await smoke([])).err).toMatch(/no --project given and no local stack is running/);
    const partial = await smoke(['--project', 'my-project-1', '--url', 'https://x.run.app/']);
    expect([partial.code, partial.err]).toEqual([2, expect.stringMatching(/--key-file/)]);
  });

  it('signs with one key: a comma-separated list in the key file is refused, not guessed from', async () => {
    const list = path.join(dir, 'list');
    fs.writeFileSync(list, 'old,new');
    const r = await smoke(['--project', 'my-project-1', '--url', 'https://x.run.app/', '--key-file', list]);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/holds 2 comma-separated keys/)]);
  });
});

describe('cio-webhooks smoke: the webhook refuses', () => {
  it.each([
    [401, /refused the signature/],
    [403, /not public \(README: Deploy, organisation policies\)/],
    [503, /could not accept the event/],
  ])('%i: stops at the first hop and says what to check', async (status, diagnosis) => {
    const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const webhook = await answering((req, body, res) => {
      seen.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
    try {
      const r = await smoke(['--project', 'my-project-1', '--url', webhook.url, '--key-file', keyFile]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`1 webhook    ${status}`);
      expect(r.out).toMatch(diagnosis);
      // One signed synthetic event was sent.
      expect(seen).toHaveLength(1);
      expect(seen[0]!.headers['x-cio-signature']).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.parse(seen[0]!.body).event_id).toMatch(new RegExp(`^${SYNTHETIC_EVENT_ID_PREFIX}`));
    } finally {
      await webhook.close();
    }
  });
});

describe('the synthetic event', () => {
  it('is a valid Customer.io event that names nobody, and a new one every time', () => {
    const a = syntheticEvent(new Date('2026-11-20T12:00:00Z'));
    const parsed = parseEvent(a.body);
    if (!parsed.ok) throw new Error(parsed.detail);
    expect(parsed.event).toMatchObject({ objectType: 'email', metric: 'delivered', timestamp: a.timestamp });
    expect(parsed.event.data.identifiers).toBeUndefined();
    expect(syntheticEvent().eventId).not.toBe(syntheticEvent().eventId);
  });
});

describe("where smoke finds the processor's lines", () => {
  it('locally: the JSON lines of the processor log that carry the event id', async () => {
    const file = path.join(dir, 'processor.log');
    fs.writeFileSync(
      file,
      [
        'functions-framework started',
        JSON.stringify({ severity: 'WARNING', outcome: 'retryable_failure', event_id: 'e1', error: 'x' }),
        JSON.stringify({ severity: 'INFO', outcome: 'processed', event_id: 'e2', latency_ms: 12 }),
        JSON.stringify({ severity: 'INFO', outcome: 'processed', event_id: 'e1', latency_ms: 31 }),
      ].join('\n'),
    );
    expect(await localProcessorLog(file).linesFor('e1')).toEqual([
      { outcome: 'retryable_failure', severity: 'WARNING', latencyMs: undefined, error: 'x' },
      { outcome: 'processed', severity: 'INFO', latencyMs: 31, error: undefined },
    ]);
    expect(await localProcessorLog(path.join(dir, 'absent.log')).linesFor('e1')).toEqual([]);
  });

  it("deployed: Cloud Logging's entries.list for the processor's service, the event and the last minutes", async () => {
    const requests: unknown[] = [];
    const logging = await answering((req, body, res) => {
      requests.push({ url: req.url, method: req.method, body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          entries: [
            { severity: 'INFO', jsonPayload: { outcome: 'processed', event_id: 'e1', latency_ms: 210 } },
            { severity: 'INFO', textPayload: 'not ours' },
          ],
        }),
      );
    });
    try {
      const since = new Date('2026-11-20T12:00:00Z');
      const log = cloudProcessorLog({
        projectId: 'my-project-1',
        service: 'cio-processor',
        since,
        endpoint: logging.url,
        // The command passes google-auth-library's authorised request; any function of that shape will do here.
        request: async ({ url, method, data }) => {
          const res = await fetch(url, { method, body: JSON.stringify(data) });
          return { data: await res.json() };
        },
      });
      expect(await log.linesFor('e1')).toEqual([
        { outcome: 'processed', severity: 'INFO', latencyMs: 210, error: undefined },
      ]);
      expect(requests).toEqual([
        {
          url: '/v2/entries:list',
          method: 'POST',
          body: {
            resourceNames: ['projects/my-project-1'],
            filter:
              'resource.type="cloud_run_revision" AND resource.labels.service_name="cio-processor" AND ' +
              'jsonPayload.event_id="e1" AND timestamp>="2026-11-20T12:00:00.000Z"',
            orderBy: 'timestamp asc',
            pageSize: 50,
          },
        },
      ]);
    } finally {
      await logging.close();
    }
  });
});
