// Starts the gcloud Pub/Sub and Firestore emulators for tests and the local stack.
// gcloud puts itself and its Java server in a process group of its own. Each emulator runs under a tiny detached
// `sh` guardian that holds a pipe from us: when the pipe closes (we stopped it, or we died, even by SIGKILL) the
// guardian kills the emulator's whole group, Java included, then exits. Killing the gcloud wrapper alone would
// leave the Java server running.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export type EmulatorKind = 'pubsub' | 'firestore';

export interface Emulator {
  kind: EmulatorKind;
  /** `127.0.0.1:PORT`, the form PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST take. */
  host: string;
  /** The emulator's process group (gcloud and its Java server). */
  pgid: number;
  logFile: string;
  stop(): Promise<void>;
}

export class EmulatorError extends Error {
  override name = 'EmulatorError';
}

/** The port was taken before the emulator could bind it. */
export class PortTakenError extends EmulatorError {
  override name = 'PortTakenError';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new EmulatorError('could not allocate a port'));
      });
    });
  });
}

function commandFor(kind: EmulatorKind, host: string, options: StartOptions): string[] {
  if (kind === 'pubsub') {
    const args = ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, '--project=local-emulator'];
    if (options.dataDir) args.push(`--data-dir=${options.dataDir}`);
    return ['gcloud', ...args, '--quiet'];
  }
  // Firestore data is in memory only: the emulator has no durable mode. It can load an export when it starts;
  // exporting is an HTTP call (exportFirestore). Its --export-on-exit wrote nothing when observed (gcloud 528, on
  // SIGTERM to the group and on SIGINT to the JVM), so it is not used.
  const args = ['emulators', 'firestore', 'start', `--host-port=${host}`];
  if (options.importData) args.push(`--import-data=${options.importData}`);
  return ['gcloud', ...args, '--quiet'];
}

/**
 * Exports one project's default Firestore database from the emulator into `directory` (created; must not exist yet)
 * and returns the export's `.overall_export_metadata` file, the path StartOptions.importData takes. The emulator
 * writes it under a `firestore_export_<n>/` folder of its choosing, hence the fresh directory.
 */
export async function exportFirestore(host: string, projectId: string, directory: string): Promise<string> {
  fs.mkdirSync(directory, { recursive: false });
  const res = await fetch(`http://${host}/emulator/v1/projects/${encodeURIComponent(projectId)}:export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      database: `projects/${projectId}/databases/(default)`,
      export_directory: path.resolve(directory),
    }),
    signal: AbortSignal.timeout(120_000),
  });
  if (!res.ok) {
    throw new EmulatorError(`the Firestore emulator refused the export (${res.status}): ${await res.text()}`);
  }
  const [folder, ...others] = fs.readdirSync(directory);
  const file =
    folder === undefined ? undefined : path.join(directory, folder, `${folder}.overall_export_metadata`);
  if (others.length > 0 || file === undefined || !fs.existsSync(file)) {
    throw new EmulatorError(
      `the Firestore emulator reported an export but ${directory} holds no single export`,
    );
  }
  return file;
}

/** Says exactly what is missing when gcloud or Java is not installed. */
export function checkPrerequisites(): void {
  const missing: string[] = [];
  const onPath = (bin: string) =>
    (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, bin)));
  if (!onPath('gcloud')) {
    missing.push(
      'gcloud (Google Cloud CLI) is not on PATH: install it (https://cloud.google.com/sdk/docs/install) and then ' +
        '`gcloud components install pubsub-emulator cloud-firestore-emulator beta`, or on Debian/Ubuntu ' +
        '`apt-get install google-cloud-cli google-cloud-cli-pubsub-emulator google-cloud-cli-firestore-emulator`',
    );
  }
  if (!onPath('java')) {
    missing.push(
      'java is not on PATH: the emulators need a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`)',
    );
  }
  if (missing.length > 0) throw new EmulatorError(missing.join('\n'));
}

/** What an emulator's log says once it serves, on the port it was given. */
function readyLine(kind: EmulatorKind, port: number): string {
  return kind === 'pubsub' ? `Server started, listening on ${port}` : 'Dev App Server is now running';
}

/** The JVM's words when its port was taken (by another process, between our choosing the port and its bind). */
const BIND_FAILED = /BindException|Address already in use/;

/**
 * Waits until the emulator serves. Its own log, read from `logOffset` (the file is appended to across restarts on a
 * port), decides: the ready line means it bound its port (an HTTP answer alone could come from whoever else holds
 * that port), a bind error or a dead process group fails at once instead of after the timeout.
 */
async function waitReady(
  kind: EmulatorKind,
  port: number,
  running: () => boolean,
  logFile: string,
  logOffset: number,
  timeoutMs: number,
): Promise<void> {
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const log = readFrom(logFile, logOffset);
    if (BIND_FAILED.test(log)) throw new PortTakenError(`port ${port} for the ${kind} emulator is in use`);
    if (!running()) {
      throw new EmulatorError(
        `the ${kind} emulator exited before it was ready; log ${logFile}:\n${tail(logFile)}`,
      );
    }
    if (log.includes(readyLine(kind, port))) {
      try {
        const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // bound but not answering yet
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new EmulatorError(
    `emulator on ${host} not ready after ${timeoutMs} ms; log ${logFile}:\n${tail(logFile)}`,
  );
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process of the group is still alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function killGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (!groupAlive(pgid)) return;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupAlive(pgid)) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface StartOptions {
  logDir: string;
  /** A fixed port: if it is taken, starting fails (PortTakenError) instead of moving elsewhere. */
  port?: number;
  /**
   * Chooses a port when `port` is not given (default freePort). Another process can take that port before the
   * emulator binds it (jest runs test files in parallel); the start then retries on a new one, up to 3 times.
   */
  pickPort?: () => Promise<number>;
  /** Pub/Sub only: keep topics and subscriptions in this folder across restarts. */
  dataDir?: string;
  /** Firestore only: load this export (its `.overall_export_metadata` file, as exportFirestore returns) first. */
  importData?: string;
  timeoutMs?: number;
}

const GUARDIAN = `
"$@" </dev/null &
em=$!
echo "$em" > "$PIDFILE"
read _ignored
kill -TERM -"$em" 2>/dev/null || kill -TERM "$em" 2>/dev/null
i=0
while kill -0 -"$em" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL -"$em" 2>/dev/null
exit 0
`;

const PORT_ATTEMPTS = 3;

export async function startEmulator(kind: EmulatorKind, options: StartOptions): Promise<Emulator> {
  if (options.port !== undefined) return startOn(kind, options.port, options);
  const pickPort = options.pickPort ?? freePort;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(kind, await pickPort(), options);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt === PORT_ATTEMPTS) throw err;
    }
  }
}

async function startOn(kind: EmulatorKind, port: number, options: StartOptions): Promise<Emulator> {
  const host = `127.0.0.1:${port}`;
  fs.mkdirSync(options.logDir, { recursive: true });
  const logFile = path.join(options.logDir, `${kind}-emulator-${port}.log`);
  const logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const pidFile = `${logFile}.pid`;
  fs.rmSync(pidFile, { force: true });
  const out = fs.openSync(logFile, 'a');
  const guardian = spawn('sh', ['-c', GUARDIAN, 'guardian', ...commandFor(kind, host, options)], {
    detached: true,
    stdio: ['pipe', out, out],
    env: { ...process.env, PIDFILE: pidFile, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
  });
  fs.closeSync(out);
  if (guardian.pid === undefined) throw new EmulatorError(`could not start the ${kind} emulator`);
  // Neither the guardian nor its pipe may keep our event loop alive.
  guardian.unref();
  (guardian.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  let guardianExited = false;
  const exited = new Promise<void>((resolve) =>
    guardian.once('exit', () => {
      guardianExited = true;
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    guardian.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    const pgid = readPid(pidFile);
    if (pgid !== undefined) await killGroup(pgid, 1000);
  };
  // Alive while the guardian is and, once it wrote the pid file, while gcloud or its group (Java) is.
  const running = (): boolean => {
    if (guardianExited) return false;
    const pid = readPid(pidFile);
    return pid === undefined || processAlive(pid) || groupAlive(pid);
  };
  try {
    await waitReady(kind, port, running, logFile, logOffset, options.timeoutMs ?? 90_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const pgid = readPid(pidFile);
  if (pgid === undefined) {
    await stop();
    throw new EmulatorError(`the ${kind} emulator started but its pid file ${pidFile} is missing`);
  }
  return { kind, host, pgid, logFile, stop };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}
