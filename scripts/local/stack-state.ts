// The running local stack's address book: `.local/stack.json`, written once the stack is up and removed when it
// stops cleanly, so the `cio-webhooks` commands find the webhook, the emulators and the warehouse without flags.

import fs from 'node:fs';
import path from 'node:path';

export interface StackState {
  /** The launcher's pid: a state file whose launcher is gone is stale (it was killed, not stopped). */
  pid: number;
  startedAt: string;
  projectId: string;
  webhookUrl: string;
  processorUrl: string;
  pubsubEmulatorHost: string;
  firestoreEmulatorHost: string;
  /** Base URL of the local warehouse, the value BIGQUERY_EMULATOR_HOST takes. */
  bigqueryEmulatorHost: string;
  eventsTopic: string;
  pushSubscription: string;
  deadLetterTopic: string;
  deadLetterSubscription: string;
  dataset: string;
  /** Where the development signing key is kept; null when the key came from CIO_WEBHOOK_SIGNING_KEYS. */
  signingKeyFile: string | null;
  /**
   * The workspaces besides the default one (`npm start -- --workspaces a,b`): label → its webhook URL. Their keys
   * are in `workspaceKeysFile` ({"label": ["key"]}), or came from CIO_WORKSPACE_SIGNING_KEYS (null).
   */
  workspaces: Record<string, string>;
  workspaceKeysFile: string | null;
  warehouseDir: string;
  logDir: string;
  /** The local App API stand-in (CIO_APP_API_URL, with /v1) and the file holding its key; absent in older files. */
  appApiUrl?: string;
  appApiKeyFile?: string;
}

/** The project's root folder (where package.json is), from the source tree or from dist/. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export function defaultLocalDir(): string {
  return path.join(projectRoot(), '.local');
}

export function stateFile(localDir: string): string {
  return path.join(localDir, 'stack.json');
}

export function writeStackState(localDir: string, state: StackState): void {
  fs.mkdirSync(localDir, { recursive: true });
  const file = stateFile(localDir);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

export function removeStackState(localDir: string, pid: number): void {
  // Only our own file: a second stack started meanwhile on another port keeps its state.
  const current = readStateFile(localDir);
  if (current?.pid === pid) fs.rmSync(stateFile(localDir), { force: true });
}

function readStateFile(localDir: string): StackState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(stateFile(localDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const state = JSON.parse(text) as Partial<StackState>;
    return typeof state.pid === 'number' && typeof state.webhookUrl === 'string'
      ? (state as StackState)
      : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running stack's state, or undefined when no stack is running (no file, or its launcher is gone). */
export function readStackState(localDir: string = defaultLocalDir()): StackState | undefined {
  const state = readStateFile(localDir);
  return state !== undefined && alive(state.pid) ? state : undefined;
}
