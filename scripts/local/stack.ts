// The whole pipeline on one machine: Pub/Sub and Firestore emulators, the local warehouse, and both functions run
// by functions-framework from the built code (dist/, as deployed), wired like production: the webhook publishes to
// the events topic, a push subscription delivers to the processor, failed deliveries end in a dead-letter topic.
// Used by `npm start`, by the end-to-end test and by the chaos suite. Every process it starts runs in its own
// process group under a guardian that kills the group when our pipe to it closes, so nothing outlives us: not
// after stop(), not after a crash, not after SIGKILL.

import fs from 'node:fs';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { ENV, loadProcessorConfig, loadWebhookConfig } from '../../shared/config';
import { isWorkspaceLabel } from '../../shared/workspace';
import { checkPrerequisites, startEmulator, type Emulator } from './emulators';
import {
  startFunction,
  type FunctionName,
  type FunctionOptions,
  type RunningFunction,
} from './function-process';
import { choosePort } from './ports';
import { createTopology } from './pubsub-topology';
import { saveLedger, savedLedger, type SavedLedger } from './saved-ledger';
import { appApiKey, resolveSigningKey, resolveWorkspaceKeys, type KeySource } from './signing-keys';
import { StackError } from './stack-error';
import {
  projectRoot,
  readStackState,
  removeStackState,
  writeStackState,
  type StackState,
} from './stack-state';
import { DeliveryRecord } from './app-api/record';
import { defaultReportingWebhook, startAppApiServer, type AppApiServer } from './app-api/server';
import { startWarehouseServer, type WarehouseServer } from './warehouse/server';
import { ensureWarehouseTables } from './warehouse/setup';

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
  /**
   * Workspaces besides the default one, each served at `/<label>` with a development key of its own (kept in
   * <localDir>/workspace-keys.json). Ignored when `env` has CIO_WORKSPACE_SIGNING_KEYS: those keys and labels are used.
   */
  workspaces?: readonly string[];
}

export interface Stack {
  readonly state: StackState;
  readonly signingKey: string;
  /** `generated` on a first run, `file` when read from <localDir>/signing-key, `env` from CIO_WEBHOOK_SIGNING_KEYS. */
  readonly signingKeySource: KeySource;
  /** Dry-run unless CIO_SITE_ID and CIO_TRACK_API_KEY are set. */
  readonly trackMode: 'dry-run' | 'live';
  /** Every workspace besides the default one: label → its first signing key. */
  readonly workspaceKeys: Readonly<Record<string, string>>;
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

export { StackError };
export type { FunctionName };

const DEFAULT_PROJECT = 'cio-local';
const DEFAULT_WEBHOOK_PORT = 8080;

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

interface LocalDirs {
  localDir: string;
  logDir: string;
  warehouseDir: string;
  ledgerDir: string;
  /** The App API stand-in's record of deliveries. */
  appApiDir: string;
  /** The dedupe ledger the last clean stop saved, if any. */
  ledgerLoaded: SavedLedger | undefined;
}

/** The stack's folders, emptied with `reset`; refuses when a stack already runs from them. */
function prepareLocalDir(options: StackOptions, root: string, projectId: string): LocalDirs {
  const localDir = path.resolve(options.localDir ?? path.join(root, '.local'));
  const logDir = path.join(localDir, 'logs');
  const warehouseDir = path.resolve(options.warehouseDir ?? path.join(localDir, 'warehouse'));
  const ledgerDir = path.join(localDir, 'firestore');
  const appApiDir = path.join(localDir, 'app-api');
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
  try {
    return {
      localDir,
      logDir,
      warehouseDir,
      ledgerDir,
      appApiDir,
      ledgerLoaded: savedLedger(ledgerDir, projectId),
    };
  } catch (err) {
    throw new StackError(
      `the saved dedupe ledger in ${ledgerDir} is unreadable (${err instanceof Error ? err.message : String(err)}); ` +
        '--reset discards it (and the warehouse)',
    );
  }
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
  const projectId = options.projectId ?? DEFAULT_PROJECT;
  const { localDir, logDir, warehouseDir, ledgerDir, appApiDir, ledgerLoaded } = prepareLocalDir(
    options,
    root,
    projectId,
  );

  const signing = resolveSigningKey(localDir, env);
  for (const label of options.workspaces ?? []) {
    if (!isWorkspaceLabel(label)) {
      throw new StackError(
        `"${label}" is not a workspace label: lower-case letters, digits and hyphens, not "default"`,
      );
    }
  }
  const workspaceKeys = resolveWorkspaceKeys(localDir, env, options.workspaces ?? []);
  const workspaceLabels = Object.keys(workspaceKeys.keys).sort();
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
      ...(workspaceLabels.length > 0 && {
        [ENV.workspaces]: workspaceLabels.join(','),
        [ENV.workspaceSigningKeys]: JSON.stringify(workspaceKeys.keys),
      }),
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

    step('starting the functions (functions-framework on dist/)');
    // Both functions share everything but their name, target and port.
    const launch = (name: FunctionName, port: number, appendLog = false): Promise<RunningFunction> => {
      const launchOptions: FunctionOptions = {
        name,
        target: name === 'webhook' ? 'cioWebhook' : 'cioProcessor',
        port,
        env: functionEnv,
        logDir,
        onLog: options.onLog,
        onUnexpectedExit: options.onUnexpectedExit,
        appendLog,
      };
      return startFunction(launchOptions);
    };
    const functions = await Promise.allSettled([
      launch('processor', processorPort),
      launch('webhook', webhookPort),
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
      workspaces: Object.fromEntries(workspaceLabels.map((label) => [label, `${webhook.url}${label}`])),
      workspaceKeysFile: workspaceKeys.file,
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
      workspaceKeys: Object.fromEntries(
        workspaceLabels.map((label) => [label, workspaceKeys.keys[label]![0]!]),
      ),
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
        const fresh = await launch(name, Number(new URL(old.url).port), true);
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
