// The deployable package's cioWebhook is an esbuild bundle (scripts/packaging/webhook-bundle.ts). These tests run that
// bundle as Cloud Functions does, with the real functions-framework binary on the package, against the Pub/Sub
// emulator: a bundle can build and still fail at run time (a file read by path, a module left out that is used).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/local/emulators';
import { packageFunction, type PackageResult } from '../../scripts/package-function';
import { patchSource } from '../../scripts/packaging/slimming';
import { TestProject, type TestSubscription } from '../support/pubsub';

const ROOT = path.join(__dirname, '..', '..');
const FRAMEWORK_MAIN = path.join(
  path.dirname(require.resolve('@google-cloud/functions-framework')),
  'main.js',
);
const KEY = 'whsec-package-test';
const MiB = 1024 * 1024;
const EVENT = readFileSync(path.join(ROOT, 'test', 'fixtures', 'events', 'email-delivered-broadcast.json'));

let work: string;
let packaged: PackageResult;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'cio-package-'));
  const dist = path.join(work, 'dist');
  // Compile fresh (not the shared dist/), so the package reflects the current sources.
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', dist],
    { encoding: 'utf8' },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  packaged = await packageFunction({ root: ROOT, distDir: dist, outDir: path.join(work, 'source') });
  // Cloud Functions installs the production dependencies beside the package (npm ci on its lockfile).
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(packaged.outDir, 'node_modules'), 'dir');
  // functions-framework listens on every interface; tests stay on loopback.
  writeFileSync(
    path.join(work, 'loopback.js'),
    `const net = require('node:net');
const listen = net.Server.prototype.listen;
// functions-framework passes --port on as a string.
net.Server.prototype.listen = function (port, ...rest) {
  return /^[0-9]+$/.test(String(port))
    ? listen.call(this, Number(port), '127.0.0.1', ...rest)
    : listen.call(this, port, ...rest);
};`,
  );
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Served {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  /** The function's own log lines (JSON on stdout). */
  stdout: () => string;
  exited: Promise<number | null>;
}

async function serve(env: Record<string, string>): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [FRAMEWORK_MAIN, '--target=cioWebhook', `--source=${packaged.outDir}`, `--port=${port}`],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        METADATA_SERVER_DETECTION: 'none',
        NODE_OPTIONS: `--require=${path.join(work, 'loopback.js')}`,
        FUNCTION_TARGET: 'cioWebhook',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, stderr: () => stderr, stdout: () => stdout, exited };
}

/**
 * The reply's status. A server may answer before it has read the body (413, 503): the reply counts, and an error
 * writing the rest of the body after it (the server stopped reading) does not.
 */
function post(port: number, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { ...headers, 'content-length': body.length },
      },
      (res) => {
        status = res.statusCode;
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err) => {
      if (status === undefined) reject(err);
    });
    req.end(body);
  });
}

/** The process's peak resident set so far, as Linux reports it. */
function peakRssMiB(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!kB) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return `${(Number(kB[1]) / 1024).toFixed(0)} MiB`;
}

function signed(body: Buffer): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', KEY).update(`v0:${timestamp}:`).update(body).digest('hex');
  return { 'content-type': 'application/json', 'x-cio-timestamp': timestamp, 'x-cio-signature': signature };
}

async function stop(served: Served): Promise<void> {
  if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill('SIGTERM');
  const timer = setTimeout(() => served.child.kill('SIGKILL'), 10_000);
  await served.exited;
  clearTimeout(timer);
}

/**
 * Serves and waits until it listens. Another test's server can take the free port between freePort() and the
 * framework's listen (it loads the bundle first): then it tries another port.
 */
async function serveReady(env: Record<string, string>): Promise<Served> {
  for (let attempt = 1; ; attempt += 1) {
    const served = await serve(env);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (served.child.exitCode !== null) {
        if (attempt < 5 && served.stderr().includes('EADDRINUSE')) break;
        throw new Error(`cioWebhook exited:\n${served.stderr()}`);
      }
      try {
        await fetch(`http://127.0.0.1:${served.port}/`);
        return served;
      } catch {
        if (Date.now() > deadline) {
          await stop(served);
          throw new Error(`cioWebhook not listening after 60 s:\n${served.stderr()}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

describe('the packaged cioWebhook (one bundle)', () => {
  it('bundles the Pub/Sub client and none of the processor clients or functions-framework', () => {
    expect(packaged.webhookBundlePackages).toEqual(
      expect.arrayContaining(['@google-cloud/pubsub', 'google-gax', '@grpc/grpc-js']),
    );
    for (const absent of [
      '@google-cloud/firestore',
      '@google-cloud/bigquery',
      'customerio-node',
      '@google-cloud/functions-framework',
    ])
      expect(packaged.webhookBundlePackages).not.toContain(absent);
    // The bundle replaces the compiled module in place: the entry point and the processor are as compiled.
    expect(existsSync(path.join(packaged.outDir, 'dist', 'functions', 'webhook.js'))).toBe(true);
    expect(readFileSync(path.join(packaged.outDir, 'dist', 'functions', 'webhook.js'), 'utf8')).toContain(
      'node_modules/@google-cloud/pubsub/',
    );
  });

  describe('served by the functions-framework binary, with the Pub/Sub emulator', () => {
    let project: TestProject;
    let topic: string;
    let subscription: TestSubscription;
    let served: Served;

    beforeAll(async () => {
      project = TestProject.create('package-webhook');
      topic = await project.createTopic();
      subscription = await project.subscribe(topic);
      served = await serveReady({
        GOOGLE_CLOUD_PROJECT: project.projectId,
        CIO_WEBHOOK_SIGNING_KEYS: KEY,
        CIO_EVENTS_TOPIC: topic,
        PUBSUB_EMULATOR_HOST: project.host,
      });
    }, 120_000);

    afterAll(async () => {
      if (served !== undefined) await stop(served);
      await project?.close();
    });

    it('answers 200 to a signed event once it is published, byte for byte, with its attributes', async () => {
      expect(await post(served.port, EVENT, signed(EVENT))).toBe(200);
      const messages = await subscription.drain();
      expect(messages).toHaveLength(1);
      expect(messages[0]!.data.equals(EVENT)).toBe(true);
      const event = JSON.parse(EVENT.toString()) as { event_id: string; metric: string };
      expect(messages[0]!.attributes).toMatchObject({ event_id: event.event_id, metric: event.metric });
    });

    it('answers 401 to a bad signature and publishes nothing', async () => {
      const headers = { ...signed(EVENT), 'x-cio-signature': '0'.repeat(64) };
      expect(await post(served.port, EVENT, headers)).toBe(401);
      expect(await subscription.drain()).toEqual([]);
    });

    // Bounded memory, shown rather than asserted (the figure depends on the machine): the instance's peak resident
    // set (VmHWM) around the largest bodies it accepts. README "The webhook (`cioWebhook`)" quotes it.
    it('publishes a signed 30 MiB event without data.content, refuses 32 MiB + 1 unread; prints the peak RSS', async () => {
      const peak = () => peakRssMiB(served.child.pid!);
      const figures: string[] = [`after start and small requests: ${peak()}`];
      const large = (n: number) =>
        Buffer.from(
          JSON.stringify({
            event_id: `01LARGE${n}`,
            object_type: 'email',
            metric: 'sent',
            data: { delivery_id: `d-${n}`, content: 'x'.repeat(30 * MiB) },
          }),
        );

      const one = large(0);
      expect(await post(served.port, one, signed(one))).toBe(200);
      const [message] = await subscription.drain();
      expect(message!.attributes).toMatchObject({
        event_id: '01LARGE0',
        truncated: 'data.content',
        original_bytes: String(one.length),
      });
      expect(JSON.parse(message!.data.toString())).toEqual({
        event_id: '01LARGE0',
        object_type: 'email',
        metric: 'sent',
        data: { delivery_id: 'd-0' },
      });
      figures.push(`after one signed ${(one.length / MiB).toFixed(1)} MiB event: ${peak()}`);

      const over = Buffer.alloc(32 * MiB + 1, 'x');
      expect(await post(served.port, over, signed(over))).toBe(413);
      figures.push(`after a 32 MiB + 1 body (413, unread): ${peak()}`);

      // Three at once: the 64 MiB budget for large bodies holds two; a third arriving meanwhile gets 503 (retried).
      const bodies = [1, 2, 3].map(large);
      const statuses = await Promise.all(bodies.map((body) => post(served.port, body, signed(body))));
      expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(2);
      const published = (await subscription.drain()).map((m) => m.attributes.event_id);
      expect(published.sort()).toEqual(
        statuses.flatMap((status, i) => (status === 200 ? [`01LARGE${i + 1}`] : [])).sort(),
      );
      figures.push(`after three at once (${statuses.join(', ')}): ${peak()}`);
      console.log(`cioWebhook instance peak RSS (VmHWM)\n  ${figures.join('\n  ')}`);
      expect(served.child.exitCode).toBeNull();
    }, 120_000);
  });

  // The failure paths run through gax's error and retry code: the bundle must carry what they read, and a failed
  // publish must be a 503 (Customer.io retries), never a crash of the instance. Without an emulator the client takes
  // the production path (TLS channel, Google credentials), which here fails for want of credentials: the bundle
  // must carry what that path reads too.
  it.each([
    ['the topic does not exist (NOT_FOUND from Pub/Sub)', 'missing'],
    ['Pub/Sub is unreachable', 'unreachable'],
    ['there are no Google credentials (the production path, offline)', 'no-credentials'],
  ])(
    'answers 503 when %s, and keeps serving',
    async (_name, fault) => {
      const project = TestProject.create('package-fault');
      const host = fault === 'unreachable' ? `127.0.0.1:${await freePort()}` : project.host;
      // An empty home: no gcloud application-default credentials to find.
      const home = mkdtempSync(path.join(os.tmpdir(), 'cio-package-home-'));
      const served = await serveReady({
        GOOGLE_CLOUD_PROJECT: project.projectId,
        CIO_WEBHOOK_SIGNING_KEYS: KEY,
        CIO_EVENTS_TOPIC: 'no-such-topic',
        ...(fault === 'no-credentials' ? { HOME: home } : { PUBSUB_EMULATOR_HOST: host }),
      });
      try {
        expect(await post(served.port, EVENT, signed(EVENT))).toBe(503);
        expect(await post(served.port, EVENT, signed(EVENT))).toBe(503);
        expect(served.child.exitCode).toBeNull();
        expect(served.stdout()).toMatch(/"severity":"ERROR"[^\n]*publish/i);
        expect(served.stderr() + served.stdout()).not.toContain('left out of the cioWebhook bundle');
      } finally {
        await stop(served);
        await project.close();
        rmSync(home, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it('refuses to start without a signing key, naming the variable', async () => {
    const served = await serve({ GOOGLE_CLOUD_PROJECT: 'package-no-key' });
    const timer = setTimeout(() => served.child.kill('SIGKILL'), 60_000);
    const code = await served.exited;
    clearTimeout(timer);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(served.stderr()).toContain('CIO_WEBHOOK_SIGNING_KEYS');
  }, 90_000);
});

describe('patchSource (passages of dependencies the bundle replaces)', () => {
  const source = 'const a = load();\nconst b = build(a);\nuse(b);\n';

  it('replaces each passage', () => {
    expect(
      patchSource('dep.js', source, [
        ['const b = build(a);\n', 'const b = undefined;\n'],
        ['use(b);', 'use(null);'],
      ]),
    ).toBe('const a = load();\nconst b = undefined;\nuse(null);\n');
  });

  // A dependency update that rewrites a passage must fail the packaging, not ship unpatched (or half-patched) code.
  it.each([
    ['missing', 'const c = build(a);\n'],
    ['not unique', 'const '],
  ])('refuses a passage that is %s, naming the file', (_name, find) => {
    expect(() => patchSource('node_modules/dep/index.js', source, [[find, '']])).toThrow(
      /node_modules\/dep\/index\.js: the passage .* is not there exactly once/,
    );
  });
});
