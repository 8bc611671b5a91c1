// The whole pipeline on one machine: Pub/Sub and Firestore emulators, the local warehouse, and both functions run
// by functions-framework from the built code (dist/, as deployed), wired like production: the webhook publishes to
// the events topic, a push subscription delivers to the processor, failed deliveries end in a dead-letter topic.
// Used by `npm start`, by the end-to-end test and by the chaos suite. Every process it starts runs in its own
// process group under a guardian that kills the group when our pipe to it closes, so nothing outlives us: not
// after stop(), not after a crash, not after SIGKILL.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BigQuery } from '@google-cloud/bigquery';
import { PubSub } from '@google-cloud/pubsub';
import { ENV, loadProcessorConfig, loadWebhookConfig } from '../../shared/config';
import { renderViews } from '../../shared/warehouse/views';
import { checkPrerequisites, freePort, killGroup, startEmulator, type Emulator } from './emulators';
import { saveLedger, savedLedger, type SavedLedger } from './saved-ledger';
import {
  projectRoot,
  readStackState,
  removeStackState,
  writeStackState,
  type StackState,
} from './stack-state';
import { startWarehouseServer, type WarehouseServer } from './warehouse/server';
import { DeliveryRecord } from './app-api/record';
import { defaultReportingWebhook, startAppApiServer, type AppApiServer } from './app-api/server';
import { ensureWarehouseTables } from './warehouse/setup';

export type FunctionName = 'webhook' | 'processor';

export interface StackOptions {
  /** Holds the state file, the development key, logs and (by default) the warehouse. Default: <project>/.local */
  localDir?: string;
  /** DuckDB folder. Default: <localDir>/warehouse. Kept between runs. */
  warehouseDir?: string;
  /** Wipe the warehouse folder and the saved dedupe ledger (<localDir>/firestore) first. */
  reset?: boolean;
  /** Fixed ports; a busy fixed port is an error. Webhook default: 8080 when free, else any free port. */
  webhookPort?: number;
  processorPort?: number;
  warehousePort?: number;
  appApiPort?: number;
  /** Default `cio-local`. */
  projectId?: string;
  /**
   * Where the functions' settings come from (default process.env): the contract's variables (CIO_*, DEDUPE_*,
   * BQ_*, LOG_LEVEL) are passed through, so CIO_SITE_ID + CIO_TRACK_API_KEY make Track calls real.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Every line a function writes (also appended to its log file). */
  onLog?: (source: FunctionName, line: string) => void;
  /** Progress while starting, for a person watching. */
  onStep?: (message: string) => void;
  /** A function process ended while the stack was running (it crashed or was killed). */
  onUnexpectedExit?: (source: FunctionName, how: string) => void;
  /** Deliveries before a message is dead-lettered (default 5; the emulator redelivers a nack after ~1 s). */
  maxDeliveryAttempts?: number;
  /** The warehouse stores a repeated insertId once, like BigQuery (default true); false keeps every row sent. */
  dedupeInsertIds?: boolean;
}

export interface Stack {
  readonly state: StackState;
  readonly signingKey: string;
  /** `generated` on a first run, `file` when read from <localDir>/signing-key, `env` from CIO_WEBHOOK_SIGNING_KEYS. */
  readonly signingKeySource: 'generated' | 'file' | 'env';
  /** Dry-run unless CIO_SITE_ID and CIO_TRACK_API_KEY are set. */
  readonly trackMode: 'dry-run' | 'live';
  readonly warehouse: WarehouseServer;
  /** The App API stand-in: Customer.io's record of what `cio-webhooks send` sent (reconcile, backfill). */
  readonly appApi: AppApiServer;
  /** The dedupe ledger the Firestore emulator loaded (saved by the last clean stop), or undefined: it started empty. */
  readonly ledgerLoaded: SavedLedger | undefined;
  /** Where the dedupe ledger is saved when the stack stops: <localDir>/firestore. */
  readonly ledgerDir: string;
  readonly logFiles: Record<FunctionName, string>;
  /** Process groups we started (emulators and functions), for checking that none is left. */
  readonly processGroups: number[];
  /**
   * Stops everything (webhook first, warehouse last) and removes the state file. Safe to call twice. Once the
   * functions are down it saves the dedupe ledger for the next start (a failed save is thrown after everything stopped).
   */
  stop(): Promise<void>;
  // Fault injection (chaos suite). A process killed or stopped here is not reported to onUnexpectedExit.
  /** Sends `signal` (default SIGKILL) to a function's process group, then starts it again on the same port. */
  restartFunction(name: FunctionName, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Stops the Pub/Sub emulator. It keeps nothing (observed with 0.8.x, even with --data-dir): its topics,
   * subscriptions and every unacknowledged message are gone.
   */
  stopPubsub(): Promise<void>;
  /** Starts the Pub/Sub emulator again on the same port and recreates the topics and subscriptions. */
  startPubsub(): Promise<void>;
}

export class StackError extends Error {
  override name = 'StackError';
}

const DEFAULT_PROJECT = 'cio-local';
const DEFAULT_WEBHOOK_PORT = 8080;

function signingKeyFile(localDir: string): string {
  return path.join(localDir, 'signing-key');
}

/** The local App API key: generated on the first run, kept like the signing key. */
function appApiKey(localDir: string): { key: string; file: string } {
  const file = path.join(localDir, 'app-api-key');
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key !== '') return { key, file };
  } catch {
    // first run: generate below
  }
  const key = `local-${randomBytes(16).toString('hex')}`;
  fs.writeFileSync(file, key + '\n', { mode: 0o600 });
  return { key, file };
}

function resolveSigningKey(
  localDir: string,
  env: StackOptions['env'] & object,
): { keys: string; key: string; source: Stack['signingKeySource']; file: string | null } {
  const fromEnv = env[ENV.signingKeys]?.trim();
  if (fromEnv) return { keys: fromEnv, key: fromEnv.split(',')[0].trim(), source: 'env', file: null };
  const file = signingKeyFile(localDir);
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key !== '') return { keys: key, key, source: 'file', file };
  } catch {
    // first run: generate below
  }
  const key = randomBytes(32).toString('hex');
  fs.writeFileSync(file, key + '\n', { mode: 0o600 });
  return { keys: key, key, source: 'generated', file };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function choosePort(
  requested: number | undefined,
  preferred: number | undefined,
  what: string,
): Promise<number> {
  if (requested !== undefined) {
    if (!(await portIsFree(requested))) throw new StackError(`port ${requested} for the ${what} is in use`);
    return requested;
  }
  if (preferred !== undefined && (await portIsFree(preferred))) return preferred;
  return freePort();
}

// The guardian of one function: it runs the function in a process group of its own (the guardian's, a detached
// group leader) and exits with the function's status. A watcher reads the guardian's stdin, a pipe from us; when that
// closes (we stopped it, or we died, even by SIGKILL) it TERMs the function, then KILLs it after 5 s.
// (stdin is saved on fd 3 first: sh gives background jobs /dev/null as stdin.)
const GUARDIAN = `
exec 3<&0
"$@" </dev/null 3<&- &
fn=$!
(
  read _ignored <&3
  kill -TERM "$fn" 2>/dev/null
  i=0
  while kill -0 "$fn" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$fn" 2>/dev/null
) &
exec 3<&-
wait "$fn"
`;

interface RunningFunction {
  name: FunctionName;
  url: string;
  pgid: number;
  logFile: string;
  stop(): Promise<void>;
  /** Sends `signal` to the whole process group and waits until it is gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitForHttp(
  url: string,
  child: ChildProcess,
  what: string,
  logFile: string,
  timeoutMs: number,
) {
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ?? String(code)));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit !== undefined) {
      throw new StackError(
        `the ${what} exited (${exit}) before it was ready; its log ${logFile}:\n${tail(logFile)}`,
      );
    }
    try {
      // functions-framework answers /robots.txt itself, without invoking the function.
      await fetch(new URL('/robots.txt', url), { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new StackError(
    `the ${what} did not answer on ${url} within ${timeoutMs} ms; its log ${logFile}:\n${tail(logFile)}`,
  );
}

async function startFunction(
  name: FunctionName,
  target: string,
  port: number,
  env: Record<string, string>,
  logDir: string,
  onLog: StackOptions['onLog'],
  onUnexpectedExit: StackOptions['onUnexpectedExit'],
  logFlags: 'w' | 'a' = 'w',
): Promise<RunningFunction> {
  const root = projectRoot();
  const main = path.join(
    root,
    'node_modules',
    '@google-cloud',
    'functions-framework',
    'build',
    'src',
    'main.js',
  );
  const logFile = path.join(logDir, `${name}.log`);
  const log = fs.createWriteStream(logFile, { flags: logFlags });
  // The same Node that runs us (the project's Node 24), not whatever `node` is first on PATH.
  const child = spawn(
    'sh',
    [
      '-c',
      GUARDIAN,
      'guardian',
      process.execPath,
      main,
      `--target=${target}`,
      `--port=${port}`,
      '--signature-type=http',
    ],
    {
      cwd: root,
      env: { ...env, FUNCTION_TARGET: target, PORT: String(port) },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  if (child.pid === undefined) throw new StackError(`could not start the ${name} function`);
  const pgid = child.pid;
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      log.write(line + '\n');
      onLog?.(name, line);
    });
  }
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      if (stopping === undefined) onUnexpectedExit?.(name, signal ?? `exit code ${code}`);
      resolve();
    }),
  );
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      child.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      await killGroup(pgid, 1000);
      await new Promise<void>((resolve) => log.end(resolve));
    })());
  const kill = (signal: NodeJS.Signals): Promise<void> =>
    (stopping ??= (async () => {
      try {
        process.kill(-pgid, signal);
      } catch {
        // already gone
      }
      await exited;
      await killGroup(pgid, 1000);
      await new Promise<void>((resolve) => log.end(resolve));
    })());
  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitForHttp(url, child, `${name} function`, logFile, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name, url, pgid, logFile, stop, kill };
}

/** Builds a BigQuery client bound to the local warehouse (the client reads BIGQUERY_EMULATOR_HOST when built). */
function localBigQuery(url: string, projectId: string): BigQuery {
  const previous = process.env.BIGQUERY_EMULATOR_HOST;
  process.env.BIGQUERY_EMULATOR_HOST = url;
  try {
    return new BigQuery({ projectId });
  } finally {
    if (previous === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
    else process.env.BIGQUERY_EMULATOR_HOST = previous;
  }
}

async function createTopology(
  host: string,
  projectId: string,
  topic: string,
  processorUrl: string,
  maxDeliveryAttempts: number,
): Promise<Pick<StackState, 'pushSubscription' | 'deadLetterTopic' | 'deadLetterSubscription'>> {
  const names = {
    pushSubscription: `${topic}-processor`,
    deadLetterTopic: `${topic}-dead-letter`,
    deadLetterSubscription: `${topic}-dead-letter`,
  };
  // What the Pub/Sub emulator (0.8.x) does with this, observed: push delivery to the processor, ONE message in flight
  // per subscription (its push loop is serial, so local throughput is 1 / processor latency), the dead-letter policy
  // (after maxDeliveryAttempts failed pushes the message moves to the dead-letter topic, with the
  // CloudPubSubDeadLetterSource* attributes). Its push envelopes carry no deliveryAttempt field. No retry policy
  // (Terraform sets one in the cloud): with one, the emulator strands messages whose push failed (connection refused
  // while the processor restarts, and some 503 nacks): they are never pushed again (test/chaos found it; 317 of 600
  // stranded in a 3 s endpoint outage, none without the policy). Without it a nacked message comes back after ~1 s.
  const pubsub = new PubSub({ projectId, apiEndpoint: host });
  try {
    const [deadLetters] = await pubsub.createTopic(names.deadLetterTopic);
    // A pull subscription keeps the dead letters until someone looks (replay-dead-letters).
    await deadLetters.createSubscription(names.deadLetterSubscription, { ackDeadlineSeconds: 60 });
    const [events] = await pubsub.createTopic(topic);
    await events.createSubscription(names.pushSubscription, {
      pushConfig: { pushEndpoint: processorUrl },
      ackDeadlineSeconds: 60,
      deadLetterPolicy: { deadLetterTopic: deadLetters.name, maxDeliveryAttempts },
    });
  } finally {
    await pubsub.close();
  }
  return names;
}

/** The analytics views, as Terraform creates them: recreated when their SQL changed since the last run. */
async function ensureViews(bigquery: BigQuery, projectId: string, datasetId: string, eventsTable: string) {
  const dataset = bigquery.dataset(datasetId);
  for (const view of renderViews((id) => `\`${projectId}.${datasetId}.${id}\``, eventsTable)) {
    const table = dataset.table(view.name);
    const [exists] = await table.exists();
    if (exists) {
      const [metadata] = await table.getMetadata();
      if ((metadata as { view?: { query?: string } }).view?.query === view.sql) continue;
      await table.delete();
    }
    await dataset.createTable(view.name, { view: { query: view.sql, useLegacySql: false } });
  }
}

/** The environment a function instance gets: the contract's variables from `env`, plus the local wiring. */
function functionEnvironment(
  env: NonNullable<StackOptions['env']>,
  wiring: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  for (const name of Object.values(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return { ...out, ...wiring, METADATA_SERVER_DETECTION: 'none' };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  checkPrerequisites();
  const root = projectRoot();
  const entry = path.join(root, 'dist', 'functions', 'index.js');
  if (!fs.existsSync(entry)) throw new StackError(`${entry} is missing: run \`npm run build\` first`);

  const env = options.env ?? process.env;
  // This process talks only to the local emulators and warehouse: never let the auth library probe for a
  // metadata server (slow, and a warning on every machine outside Google Cloud).
  process.env.METADATA_SERVER_DETECTION = 'none';
  const step = options.onStep ?? (() => undefined);
  const localDir = path.resolve(options.localDir ?? path.join(root, '.local'));
  const logDir = path.join(localDir, 'logs');
  const warehouseDir = path.resolve(options.warehouseDir ?? path.join(localDir, 'warehouse'));
  const ledgerDir = path.join(localDir, 'firestore');
  const appApiDir = path.join(localDir, 'app-api');
  const projectId = options.projectId ?? DEFAULT_PROJECT;
  const running = readStackState(localDir);
  if (running !== undefined) {
    throw new StackError(
      `a local stack is already running from ${localDir} (pid ${running.pid}, webhook ${running.webhookUrl}): ` +
        'stop it first (Ctrl-C in its terminal)',
    );
  }
  fs.mkdirSync(logDir, { recursive: true });
  if (options.reset) {
    fs.rmSync(warehouseDir, { recursive: true, force: true });
    fs.rmSync(ledgerDir, { recursive: true, force: true });
    fs.rmSync(appApiDir, { recursive: true, force: true });
  }
  fs.mkdirSync(warehouseDir, { recursive: true });
  fs.mkdirSync(appApiDir, { recursive: true });
  let ledgerLoaded: SavedLedger | undefined;
  try {
    ledgerLoaded = savedLedger(ledgerDir, projectId);
  } catch (err) {
    throw new StackError(
      `the saved dedupe ledger in ${ledgerDir} is unreadable (${err instanceof Error ? err.message : String(err)}); ` +
        '--reset discards it (and the warehouse)',
    );
  }

  const signing = resolveSigningKey(localDir, env);
  const webhookPort = await choosePort(options.webhookPort, DEFAULT_WEBHOOK_PORT, 'webhook');
  const processorPort = await choosePort(options.processorPort, undefined, 'processor');
  const processorUrl = `http://127.0.0.1:${processorPort}/`;

  const cleanups: Array<() => Promise<void>> = [];
  const processGroups: number[] = [];
  let stopped: Promise<void> | undefined;
  let state: StackState | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      const errors: unknown[] = [];
      // Reverse start order: the webhook stops taking traffic first, the warehouse closes last.
      for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => errors.push(err));
      if (state !== undefined) removeStackState(localDir, process.pid);
      if (errors.length > 0) throw errors[0];
    })());

  try {
    step('starting the Pub/Sub and Firestore emulators and the warehouse');
    const started = await Promise.allSettled([
      startEmulator('pubsub', { logDir }),
      startEmulator('firestore', { logDir, importData: ledgerLoaded?.file }),
      startWarehouseServer({
        dataDir: warehouseDir,
        port: options.warehousePort,
        dedupeInsertIds: options.dedupeInsertIds,
      }),
    ]);
    const emulators: Emulator[] = [];
    for (const s of started) {
      if (s.status !== 'fulfilled') continue;
      const value = s.value;
      if ('pgid' in value) {
        processGroups.push(value.pgid);
        emulators.push(value);
      } else {
        cleanups.push(() => value.close());
      }
    }
    // Runs after the functions stopped (cleanups run in reverse), so no ledger write is in flight during the save.
    // Both emulators stop together: each takes seconds to take its JVM down.
    cleanups.push(async () => {
      const firestore = emulators.find((e) => e.kind === 'firestore');
      const saved =
        firestore === undefined
          ? undefined
          : await saveLedger(ledgerDir, firestore.host, projectId).catch(
              (err: unknown) =>
                new StackError(
                  `could not save the dedupe ledger to ${ledgerDir} (${err instanceof Error ? err.message : String(err)}); ` +
                    `the next start loads ${ledgerLoaded === undefined ? 'none' : `the one saved at ${ledgerLoaded.savedAt}`}`,
                ),
            );
      await Promise.all(emulators.map((e) => e.stop()));
      if (saved instanceof StackError) throw saved;
    });
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    const [pubsub, firestore, warehouse] = started.map(
      (s) => (s as PromiseFulfilledResult<unknown>).value,
    ) as [Emulator, Emulator, WarehouseServer];
    let pubsubNow = pubsub;

    const functionEnv = functionEnvironment(env, {
      [ENV.project]: projectId,
      [ENV.signingKeys]: signing.keys,
      PUBSUB_EMULATOR_HOST: pubsub.host,
      FIRESTORE_EMULATOR_HOST: firestore.host,
      BIGQUERY_EMULATOR_HOST: warehouse.url,
    });
    // Fail here, with the variable's name, rather than in a function's log.
    const webhookConfig = loadWebhookConfig(functionEnv);
    const processorConfig = loadProcessorConfig(functionEnv);

    const appApiCredentials = appApiKey(localDir);
    const appApi = await startAppApiServer({
      key: appApiCredentials.key,
      port: options.appApiPort,
      record: new DeliveryRecord(path.join(appApiDir, 'record.ndjson')),
      reportingWebhooks: [defaultReportingWebhook(`http://127.0.0.1:${webhookPort}/`)],
    });
    cleanups.push(() => appApi.close());

    step(
      'creating the topic, the push subscription and the dead-letter topic; the warehouse tables and views',
    );
    const topology = await createTopology(
      pubsub.host,
      projectId,
      webhookConfig.eventsTopic,
      processorUrl,
      options.maxDeliveryAttempts ?? 5,
    );
    const bigquery = localBigQuery(warehouse.url, projectId);
    await ensureWarehouseTables(bigquery, processorConfig.bqDataset, {
      events: processorConfig.bqTable,
      rejects: processorConfig.bqRejectsTable,
    });
    await ensureViews(bigquery, projectId, processorConfig.bqDataset, processorConfig.bqTable);

    step('starting the functions (functions-framework on dist/)');
    const functions = await Promise.allSettled([
      startFunction(
        'processor',
        'cioProcessor',
        processorPort,
        functionEnv,
        logDir,
        options.onLog,
        options.onUnexpectedExit,
      ),
      startFunction(
        'webhook',
        'cioWebhook',
        webhookPort,
        functionEnv,
        logDir,
        options.onLog,
        options.onUnexpectedExit,
      ),
    ]);
    const live: Partial<Record<FunctionName, RunningFunction>> = {};
    for (const f of functions) {
      if (f.status !== 'fulfilled') continue;
      const name = f.value.name;
      live[name] = f.value;
      processGroups.push(f.value.pgid);
      // Through `live`: restartFunction replaces the instance.
      cleanups.push(() => live[name]!.stop());
    }
    const functionFailure = functions.find((f) => f.status === 'rejected');
    if (functionFailure) throw functionFailure.reason;
    const [processor, webhook] = functions.map((f) => (f as PromiseFulfilledResult<RunningFunction>).value);

    state = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      projectId,
      webhookUrl: webhook.url,
      processorUrl: processor.url,
      pubsubEmulatorHost: pubsub.host,
      firestoreEmulatorHost: firestore.host,
      bigqueryEmulatorHost: warehouse.url,
      eventsTopic: webhookConfig.eventsTopic,
      ...topology,
      dataset: processorConfig.bqDataset,
      signingKeyFile: signing.file,
      warehouseDir,
      logDir,
      appApiUrl: appApi.url,
      appApiKeyFile: appApiCredentials.file,
    };
    writeStackState(localDir, state);
    return {
      state,
      signingKey: signing.key,
      signingKeySource: signing.source,
      trackMode: processorConfig.track === undefined ? 'dry-run' : 'live',
      warehouse,
      appApi,
      ledgerLoaded,
      ledgerDir,
      logFiles: { webhook: webhook.logFile, processor: processor.logFile },
      processGroups,
      stop,
      async restartFunction(name, signal = 'SIGKILL') {
        const old = live[name]!;
        await old.kill(signal);
        const target = name === 'webhook' ? 'cioWebhook' : 'cioProcessor';
        const port = Number(new URL(old.url).port);
        const fresh = await startFunction(
          name,
          target,
          port,
          functionEnv,
          logDir,
          options.onLog,
          options.onUnexpectedExit,
          'a',
        );
        live[name] = fresh;
        processGroups.push(fresh.pgid);
      },
      async stopPubsub() {
        await pubsubNow.stop();
      },
      async startPubsub() {
        const port = Number(pubsub.host.split(':')[1]);
        const fresh = await startEmulator('pubsub', { logDir, port });
        emulators[emulators.indexOf(pubsubNow)] = fresh;
        pubsubNow = fresh;
        processGroups.push(fresh.pgid);
        await createTopology(
          fresh.host,
          projectId,
          webhookConfig.eventsTopic,
          processorUrl,
          options.maxDeliveryAttempts ?? 5,
        );
      },
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
