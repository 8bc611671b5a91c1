// cioWebhook benchmark: ack latency and throughput against a Pub/Sub emulator, next to a functions-framework handler
// that only verifies the HMAC (the floor: everything but the publish); publisher batching variants; cold start of the
// real `functions-framework --target=cioWebhook` against a bare hello-world. cioWebhook runs from the deployable
// package (`npm run package`: its bundle), built here from dist/, so what is measured is what Terraform deploys.
// Servers run as child processes (the load generator must not share their event loop), each bound to 127.0.0.1 by a
// preload.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { freePort, startEmulator, type Emulator } from '../scripts/local/emulators';
import { packageFunction } from '../scripts/package-function';
import { DEFAULT_BATCHING, type Batching } from '../shared/webhook/publisher';
import { cpuMs, processGroup } from './report/proc';
import { median, throughputRatio, type Benchmark, type LoadResult, type WebhookFigures } from './figures';
import { table } from './report/markdown';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const FRAMEWORK_INDEX = require.resolve('@google-cloud/functions-framework');
// The `functions-framework` binary (package.json "bin"), beside the package's main module.
const FRAMEWORK_MAIN = path.join(path.dirname(FRAMEWORK_INDEX), 'main.js');
const KEYS = ['whsec-bench-old', 'whsec-bench-new'];
const PROJECT = 'bench-webhook';
const TOPIC = 'cio-events';
const LEVELS = [1, 32, 128];
// The machine is shared: servers under comparison are measured in alternation, over several rounds, so that drift
// in background load hits them alike.
const ROUNDS = 5;
const LOAD_MS = 2000;
const TUNING_MS = 1500;
// Cold starts vary by a quarter from run to run on a shared machine: enough of them for a stable median.
const COLD_RUNS = 15;
// The emulator is a JVM: until its JIT has compiled the publish path, it spends several times the CPU per message
// that it spends once warm (it settled within this many messages when measured here), CPU taken from the two cores
// the servers under test share. Pub/Sub proper is never cold, so nothing is measured before this many messages have
// gone through it, in batches of the sizes group commit makes.
const EMULATOR_WARM_UP_MESSAGES = 150_000;
// ... and this many connections, each with one publish: every cold start opens a new one.
const EMULATOR_WARM_UP_CONNECTIONS = 50;

// Generated into a temp dir: servers the benchmark compares cioWebhook with, and the loopback preload.
const SOURCES = {
  'loopback.js': `
const net = require('node:net');
const listen = net.Server.prototype.listen;
// functions-framework listens on every interface; keep benchmark servers on loopback.
net.Server.prototype.listen = function (...args) {
  const portOnly = (typeof args[0] === 'number' || typeof args[0] === 'string') &&
    (args.length === 1 || typeof args[1] === 'function');
  if (portOnly) args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};`,
  'hello.js': `require(${JSON.stringify(FRAMEWORK_INDEX)}).http('hello', (req, res) => { res.send('ok'); });`,
  'baseline.js': `
const { verifySignature } = require(${JSON.stringify(path.join(DIST, 'shared', 'webhook', 'signature.js'))});
const keys = process.env.CIO_WEBHOOK_SIGNING_KEYS.split(',');
require(${JSON.stringify(FRAMEWORK_INDEX)}).http('baseline', (req, res) => {
  const verdict = verifySignature(
    { signature: req.headers['x-cio-signature'], timestamp: req.headers['x-cio-timestamp'], body: req.rawBody ?? Buffer.alloc(0) },
    { keys, maxAgeSeconds: 691200, maxFutureSeconds: 300 },
    Date.now(),
  );
  res.status(verdict.ok ? 200 : 401).send(verdict.ok ? 'ok' : 'no');
});`,
  // cioWebhook's own modules with a given publisher batching / endpoint (for tuning and the outage case), behind the
  // framework as functions/index sets it up (request bodies left for the handler to read).
  'variant.js': `
require(${JSON.stringify(path.join(DIST, 'functions', 'raw-bodies.js'))}).leaveRequestBodiesUnread();
const shared = (m) => require(${JSON.stringify(path.join(DIST, 'shared'))} + '/' + m + '.js');
const config = shared('config').loadWebhookConfig();
const publisher = shared('webhook/publisher').createPublisher({
  projectId: config.projectId,
  topic: config.eventsTopic,
  batching: JSON.parse(process.env.BENCH_BATCHING),
  apiEndpoint: process.env.BENCH_PUBSUB_ENDPOINT,
});
const logger = shared('log').createLogger(config.logLevel, { function: 'cioWebhook' });
require(${JSON.stringify(FRAMEWORK_INDEX)}).http('variant',
  shared('webhook/handler').createWebhookHandler({ config, publisher, logger }));`,
  // What a cioWebhook instance has loaded once it is ready (principle 3: the receiver stays tiny): modules, and the
  // npm packages among them or inside the bundle (BENCH_BUNDLED, from the packaging).
  'modules.js': `
require(process.env.BENCH_ENTRY);
const loaded = Object.keys(require.cache);
const bundled = JSON.parse(process.env.BENCH_BUNDLED);
const has = (p) => bundled.includes(p) || loaded.some((f) => f.includes('/node_modules/' + p + '/'));
console.log(JSON.stringify({ count: loaded.length, forbidden: ['customerio-node', '@google-cloud/firestore',
  '@google-cloud/bigquery', '@duckdb/node-api'].filter(has), pubsub: has('@google-cloud/pubsub') }));`,
};

interface Server {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

interface Target {
  name: string;
  source: string;
  target: string;
  /** The request that answers `readyStatus` once the server is fully up (for cioWebhook: after a publish). */
  probe: { method: 'GET' | 'POST'; body: Buffer };
  readyStatus: number;
  env?: Record<string, string>;
}

interface Samples {
  latencies: number[];
  failed: number;
  elapsedMs: number;
  cpuMs: { server: number; emulator: number; client: number };
}

function summarise(concurrency: number, runs: Samples[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const elapsedMs = runs.reduce((sum, r) => sum + r.elapsedMs, 0);
  const perRequest = (key: keyof Samples['cpuMs']) =>
    runs.reduce((sum, r) => sum + r.cpuMs[key], 0) / Math.max(1, latencies.length);
  return {
    concurrency,
    roundRps: runs.map((r) => (r.latencies.length / r.elapsedMs) * 1000),
    ok: latencies.length,
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    rps: (latencies.length / elapsedMs) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? NaN,
    cpu: { server: perRequest('server'), emulator: perRequest('emulator'), client: perRequest('client') },
  };
}

function signedHeaders(body: Buffer): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', KEYS[1]).update(`v0:${timestamp}:`).update(body).digest('hex');
  return { 'content-type': 'application/json', 'x-cio-timestamp': timestamp, 'x-cio-signature': signature };
}

function send(
  port: number,
  agent: http.Agent | false,
  method: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: '/',
        agent,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

class Bench {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cio-webhook-bench-'));
  private readonly logDir = path.join(ROOT, '.local', 'bench-logs');
  private readonly servers = new Set<Server>();
  private emulator: Emulator | undefined;
  /** The deployable package (terraform/build/source's layout), with the repository's node_modules. */
  private readonly packaged = path.join(this.dir, 'source');
  private webhookBundlePackages: string[] = [];
  readonly event = fs.readFileSync(
    path.join(ROOT, 'test', 'fixtures', 'events', 'email-delivered-broadcast.json'),
  );

  constructor() {
    for (const [name, text] of Object.entries(SOURCES)) fs.writeFileSync(path.join(this.dir, name), text);
    fs.mkdirSync(this.logDir, { recursive: true });
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      METADATA_SERVER_DETECTION: 'none',
      NODE_OPTIONS: `--require=${path.join(this.dir, 'loopback.js')}`,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      CIO_WEBHOOK_SIGNING_KEYS: KEYS.join(','),
      CIO_EVENTS_TOPIC: TOPIC,
      LOG_LEVEL: 'info',
      ...(this.emulator && { PUBSUB_EMULATOR_HOST: this.emulator.host }),
      ...extra,
    };
  }

  async setUp(): Promise<void> {
    const packaged = await packageFunction({ root: ROOT, distDir: DIST, outDir: this.packaged });
    this.webhookBundlePackages = packaged.webhookBundlePackages;
    // Cloud Functions installs the production dependencies beside it (npm ci on the deployed lockfile).
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(this.packaged, 'node_modules'), 'dir');
    this.emulator = await startEmulator('pubsub', { logDir: this.logDir });
    const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: this.emulator.host });
    const [topic] = await pubsub.createTopic(TOPIC);
    // A subscription, as in production: the emulator then stores every message as Pub/Sub would.
    await topic.createSubscription('bench-sub');
    await this.warmEmulator(pubsub);
    await pubsub.close();
  }

  /** Publishes EMULATOR_WARM_UP_MESSAGES through the emulator, and opens EMULATOR_WARM_UP_CONNECTIONS to it. */
  private async warmEmulator(pubsub: PubSub): Promise<void> {
    const topic = `projects/${PROJECT}/topics/${TOPIC}`;
    const message = { data: this.event, attributes: { event_id: 'warm-up', metric: 'delivered' } };
    const options = pubsub.options as ConstructorParameters<typeof v1.PublisherClient>[0];
    for (let i = 0; i < EMULATOR_WARM_UP_CONNECTIONS; i++) {
      const client = new v1.PublisherClient(options);
      await client.publish({ topic, messages: [message] });
      await client.close();
    }
    const client = new v1.PublisherClient(options);
    let sent = 0;
    let calls = 0;
    const worker = async () => {
      while (sent < EMULATOR_WARM_UP_MESSAGES) {
        const size = 1 + (calls++ % 32);
        sent += size;
        await client.publish({ topic, messages: Array.from({ length: size }, () => message) });
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    await client.close();
  }

  async tearDown(): Promise<void> {
    await Promise.all([...this.servers].map((s) => s.stop()));
    await this.emulator?.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Spawns functions-framework for `target`; resolves with the time from spawn to its first ready answer. */
  async start(target: Target): Promise<{ server: Server; readyMs: number }> {
    const port = await freePort();
    const stderr = fs.openSync(path.join(this.logDir, `${target.name}-${port}.log`), 'w');
    const started = performance.now();
    const child: ChildProcess = spawn(
      process.execPath,
      [FRAMEWORK_MAIN, `--target=${target.target}`, `--source=${target.source}`, `--port=${port}`],
      // Request logs go to stdout as in production: writing them is part of the cost, reading them is not.
      { env: this.env(target.env), stdio: ['ignore', 'ignore', stderr] },
    );
    fs.closeSync(stderr);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const server: Server = {
      port,
      pid: child.pid ?? -1,
      stop: async () => {
        this.servers.delete(server);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      },
    };
    this.servers.add(server);
    const headers = target.probe.method === 'POST' ? signedHeaders(target.probe.body) : {};
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`${target.name} exited with ${child.exitCode} (log in ${this.logDir})`);
      }
      if (performance.now() - started > 60_000) throw new Error(`${target.name} not ready after 60 s`);
      try {
        const status = await send(port, false, target.probe.method, target.probe.body, headers);
        if (status === target.readyStatus) return { server, readyMs: performance.now() - started };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async load(server: Server, concurrency: number, durationMs: number): Promise<Samples> {
    const { port } = server;
    const emulatorPids = this.emulator ? processGroup(this.emulator.pgid) : [];
    const cpuBefore = {
      server: cpuMs([server.pid]),
      emulator: cpuMs(emulatorPids),
      client: process.cpuUsage(),
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const headers = signedHeaders(this.event);
    const latencies: number[] = [];
    let failed = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    const worker = async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          const status = await send(port, agent, 'POST', this.event, headers);
          if (status === 200) latencies.push(performance.now() - t);
          else failed++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsedMs = performance.now() - started;
    agent.destroy();
    const client = process.cpuUsage(cpuBefore.client);
    const cpu = {
      server: cpuMs([server.pid]) - cpuBefore.server,
      emulator: cpuMs(emulatorPids) - cpuBefore.emulator,
      client: (client.user + client.system) / 1000,
    };
    return { latencies, failed, elapsedMs, cpuMs: cpu };
  }

  /** Every target at every level, alternating between targets within a level, `rounds` times over. */
  async compare(
    targets: Target[],
    levels: number[],
    rounds: number,
    durationMs: number,
  ): Promise<LoadResult[][]> {
    const servers: Server[] = [];
    try {
      for (const target of targets) servers.push((await this.start(target)).server);
      // Warm-up: the servers' JIT, keep-alive sockets, the gRPC channel (the emulator was warmed in setUp).
      for (const server of servers) await this.load(server, 32, 3000);
      const samples = targets.map(() => levels.map((): Samples[] => []));
      for (let round = 0; round < rounds; round++) {
        for (const [l, c] of levels.entries()) {
          for (const [t, server] of servers.entries())
            samples[t][l].push(await this.load(server, c, durationMs));
        }
      }
      return samples.map((byLevel) => byLevel.map((runs, l) => summarise(levels[l], runs)));
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }

  /** The deployed entry point: the package's main (dist/functions/index.js), as Cloud Functions starts it. */
  webhookTarget(): Target {
    return {
      name: 'cioWebhook',
      source: this.packaged,
      target: 'cioWebhook',
      probe: { method: 'POST', body: this.event },
      readyStatus: 200,
      env: { FUNCTION_TARGET: 'cioWebhook' },
    };
  }

  baselineTarget(): Target {
    return {
      name: 'hmac-baseline',
      source: path.join(this.dir, 'baseline.js'),
      target: 'baseline',
      probe: { method: 'POST', body: this.event },
      readyStatus: 200,
    };
  }

  helloTarget(): Target {
    return {
      name: 'hello-world',
      source: path.join(this.dir, 'hello.js'),
      target: 'hello',
      probe: { method: 'GET', body: Buffer.alloc(0) },
      readyStatus: 200,
    };
  }

  variantTarget(batching: Batching, endpoint?: string): Target {
    return {
      name: `variant-${batching.maxMessages}x${batching.maxMilliseconds}ms`,
      source: path.join(this.dir, 'variant.js'),
      target: 'variant',
      // A GET answers 405 once the server listens; a POST would need Pub/Sub.
      probe: { method: 'GET', body: Buffer.alloc(0) },
      readyStatus: 405,
      env: { BENCH_BATCHING: JSON.stringify(batching), ...(endpoint && { BENCH_PUBSUB_ENDPOINT: endpoint }) },
    };
  }

  /** Signed requests to a webhook whose Pub/Sub endpoint refuses connections: status and time to answer. */
  async outage(requests: number): Promise<Array<{ status: number; ms: number }>> {
    const { server } = await this.start(
      this.variantTarget(DEFAULT_BATCHING, `127.0.0.1:${await freePort()}`),
    );
    try {
      const results: Array<{ status: number; ms: number }> = [];
      for (let i = 0; i < requests; i++) {
        const t = performance.now();
        const status = await send(server.port, false, 'POST', this.event, signedHeaders(this.event));
        results.push({ status, ms: performance.now() - t });
      }
      return results;
    } finally {
      await server.stop();
    }
  }

  modulesLoaded(): { count: number; forbidden: string[]; pubsub: boolean } {
    const out = execFileSync(process.execPath, [path.join(this.dir, 'modules.js')], {
      env: this.env({
        FUNCTION_TARGET: 'cioWebhook',
        BENCH_ENTRY: path.join(this.packaged, 'dist', 'functions', 'index.js'),
        BENCH_BUNDLED: JSON.stringify(this.webhookBundlePackages),
      }),
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      count: number;
      forbidden: string[];
      pubsub: boolean;
    };
  }
}

const VARIANTS: Batching[] = [
  { maxMessages: 1, maxMilliseconds: 1 },
  { maxMessages: 1000, maxMilliseconds: 1 },
  { maxMessages: 1000, maxMilliseconds: 5 },
  { maxMessages: 1000, maxMilliseconds: 20 },
];

const sameBatching = (a: Batching, b: Batching) =>
  a.maxMessages === b.maxMessages && a.maxMilliseconds === b.maxMilliseconds;

export async function measureWebhook(): Promise<{ markdown: string; figures: WebhookFigures }> {
  const bench = new Bench();
  const out: string[] = [];
  let figures: WebhookFigures | undefined;
  const say = (text: string) => out.push(text);
  const progress = (text: string) => console.error(`[webhook bench] ${text}`);
  try {
    progress('starting the Pub/Sub emulator');
    await bench.setUp();
    say(
      `Machine: ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${process.version}, ` +
        `Pub/Sub emulator on loopback, event ${bench.event.length} bytes; load: ${ROUNDS} rounds × ${LOAD_MS / 1000} s ` +
        `per level and server (batching variants ${TUNING_MS / 1000} s), servers alternating.\n`,
    );

    const modules = bench.modulesLoaded();
    say(
      `cioWebhook instance loads ${modules.count} modules (its code and the Pub/Sub client are one bundled file); ` +
        `Pub/Sub client: ${modules.pubsub ? 'yes' : 'no'}; ` +
        `Firestore/BigQuery/DuckDB/customerio-node: ${modules.forbidden.length === 0 ? 'none' : modules.forbidden.join(', ')}.\n`,
    );

    // Cold start, alternating the two so drift in machine load hits both alike.
    const cold: Record<'hello' | 'webhook', number[]> = { hello: [], webhook: [] };
    progress(`cold starts (${COLD_RUNS} runs each)`);
    for (let i = 0; i < COLD_RUNS; i++) {
      for (const [key, target] of [
        ['hello', bench.helloTarget()],
        ['webhook', bench.webhookTarget()],
      ] as const) {
        const { server, readyMs } = await bench.start(target);
        cold[key].push(readyMs);
        await server.stop();
      }
    }
    const coldHello = median(cold.hello);
    const coldWebhook = median(cold.webhook);
    say('### Cold start (process spawn → first 200)\n');
    say(
      table(
        ['server', 'median ms', `runs (ms)`, 'vs hello-world'],
        [
          [
            'functions-framework hello-world',
            fmt(coldHello, 0),
            cold.hello.map((t) => t.toFixed(0)).join(', '),
            '1.00×',
          ],
          [
            'cioWebhook (deployable package, first 200 = first publish acked)',
            fmt(coldWebhook, 0),
            cold.webhook.map((t) => t.toFixed(0)).join(', '),
            `${fmt(coldWebhook / coldHello, 2)}× (target ≤ 2×)`,
          ],
        ],
      ) + '\n',
    );

    progress('load: HMAC-only baseline and cioWebhook, alternating');
    const [baseline, webhook] = await bench.compare(
      [bench.baselineTarget(), bench.webhookTarget()],
      LEVELS,
      ROUNDS,
      LOAD_MS,
    );
    say('### Ack latency and throughput (signed POST → 200)\n');
    const rows: Array<Array<string | number>> = [];
    for (const [name, results] of [
      ['HMAC-only baseline', baseline],
      ['cioWebhook (publish acked)', webhook],
    ] as const) {
      for (const r of results) {
        rows.push([
          name,
          r.concurrency,
          fmt(r.rps, 0),
          fmt(r.p50),
          fmt(r.p99),
          fmt(r.max),
          r.failed,
          `${fmt(r.cpu.server, 2)} / ${fmt(r.cpu.emulator, 2)} / ${fmt(r.cpu.client, 2)}`,
        ]);
      }
    }
    say(
      table(
        [
          'server',
          'concurrency',
          'req/s',
          'p50 ms',
          'p99 ms',
          'max ms',
          'non-200',
          'CPU ms/req: server / emulator / load gen',
        ],
        rows,
      ) + '\n',
    );
    say(
      table(
        ['concurrency', 'cioWebhook / baseline throughput: median of rounds', 'rounds'],
        LEVELS.map((c, i) => {
          const ratio = throughputRatio(webhook[i], baseline[i]);
          return [c, `${fmt(ratio.median, 2)} (target ≥ 0.5)`, ratio.rounds.map((r) => fmt(r, 2)).join(', ')];
        }),
      ) + '\n',
    );
    figures = { baseline, webhook, coldStartMs: { hello: coldHello, webhook: coldWebhook } };
    const at32 = webhook[LEVELS.indexOf(32)];
    say(`cioWebhook p99 at concurrency 32: ${fmt(at32.p99)} ms (target < 50 ms).\n`);

    say('### Publisher batching (cioWebhook handler with each setting)\n');
    progress('publisher batching variants, alternating');
    const tuning = await bench.compare(
      VARIANTS.map((b) => bench.variantTarget(b)),
      LEVELS,
      ROUNDS,
      TUNING_MS,
    );
    const tuningRows = VARIANTS.map((batching, i) => [
      batching.maxMessages === 1
        ? 'none: one call per message'
        : `group commit, ≤ ${batching.maxMessages} msgs, timer ${batching.maxMilliseconds} ms` +
          (sameBatching(batching, DEFAULT_BATCHING) ? ' (default)' : ''),
      ...tuning[i].flatMap((r) => [`${fmt(r.p50)} / ${fmt(r.p99)}`, fmt(r.rps, 0)]),
    ]);
    say(
      table(['batching', ...LEVELS.flatMap((c) => [`c=${c} p50 / p99 ms`, `c=${c} req/s`])], tuningRows) +
        '\n',
    );

    progress('Pub/Sub unreachable');
    const outage = await bench.outage(3);
    say('### Pub/Sub unreachable\n');
    say(
      table(
        ['request', 'status', 'answered after ms'],
        outage.map((r, i) => [i + 1, r.status, fmt(r.ms, 0)]),
      ) + '\n',
    );
  } finally {
    await bench.tearDown();
  }
  return { markdown: out.join('\n'), figures };
}

export const benchmark: Benchmark = { name: 'webhook', run: async () => (await measureWebhook()).markdown };
