// One function of the local stack (webhook or processor), run by functions-framework from dist/ as deployed, in a
// process group of its own under a guardian that kills the group when our pipe to it closes: nothing outlives us,
// not after stop(), not after a crash, not after SIGKILL.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { killGroup } from './emulators';
import { StackError } from './stack-error';
import { projectRoot } from './stack-state';

export type FunctionName = 'webhook' | 'processor';

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

export interface RunningFunction {
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

export interface FunctionOptions {
  name: FunctionName;
  /** The functions-framework target (cioWebhook, cioProcessor). */
  target: string;
  port: number;
  env: Record<string, string>;
  logDir: string;
  /** Every line the function writes (also appended to its log file). */
  onLog?: (source: FunctionName, line: string) => void;
  /** The function's process ended without stop() or kill(). */
  onUnexpectedExit?: (source: FunctionName, how: string) => void;
  /** Append to the log file (a restart) instead of starting it afresh. */
  appendLog?: boolean;
}

/** Starts one function from dist/ under functions-framework and waits until it answers. */
export async function startFunction(options: FunctionOptions): Promise<RunningFunction> {
  const { name, target, port, env, logDir, onLog, onUnexpectedExit } = options;
  const logFlags = options.appendLog === true ? 'a' : 'w';
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
