// `cio-webhooks send`: sign events the way Customer.io does and POST them to a webhook (the local stack's by
// default, or any URL), with a summary of status codes and latencies. Exit 1 when any request was not accepted.

import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot, readStackState } from '../local/stack-state';
import { numberOption, parseCommandLine, stringOption, UsageError, type Io, type ParsedValues } from './args';
import { generateEvents, type GenerateOptions } from './generate-events';

export const SEND_HELP = `Usage: cio-webhooks send [FILE...] [--all | --generate N] [options]

Signs events like Customer.io (X-CIO-Timestamp, X-CIO-Signature = HMAC-SHA256 of "v0:<timestamp>:<raw body>")
and POSTs them, one event per request, to a webhook.

What to send (choose one):
  FILE...              event files, sent byte for byte
  --all                every fixture in test/fixtures/events
  --generate N         N requests of realistic events across every object_type/metric

Options:
  --duplicates SHARE   with --generate: share of requests that re-send an earlier event's exact bytes, like
                       Customer.io's retries (0..1, default 0.1)
  --seed N             with --generate: make the stream reproducible (default: random, printed)
  --identifiers KIND   with --generate: how the workspace identifies people: multi (cio_id always, id when the
                       person has one; the default) or id_only (only id)
  --with-content       with --generate: email sends carry the message (data.content, data.headers), as with the
                       webhook's "Body content" setting
  --large N            with --generate: N email sends with a body of --large-bytes (default 10500000, just over
                       Pub/Sub's 10 MB message limit: the webhook stores them without content and says so)
  --large-bytes B      size of those bodies in bytes
  --repeat N           send every event N times, one after another (default 1)
  --workspace LABEL    send to that workspace of the local stack (npm start -- --workspaces LABEL): its URL
                       (/<label>) and its key; default: the default workspace (/)
  --url URL            webhook URL (default: the running local stack's, from .local/stack.json)
  --key KEY            signing key (default: the first of $CIO_WEBHOOK_SIGNING_KEYS, else the local stack's key)
  --concurrency N      requests in flight at once (default 8)
  --timeout-ms N       give up on a request after this long (default 10000)
  -h, --help           show this help

Exit status: 0 when every request got a 2xx, 1 otherwise, 2 for a wrong command line.`;

export interface OutgoingEvent {
  /** Shown in per-request lines: the file name, or object_type/metric. */
  label: string;
  eventId: string;
  body: Buffer;
}

export interface SendResult {
  event: OutgoingEvent;
  /** HTTP status, or null when no response came (network error, timeout). */
  status: number | null;
  ms: number;
  error?: string;
}

export interface SendOptions {
  url: string;
  key: string;
  concurrency?: number;
  timeoutMs?: number;
  /** Called after every response. */
  onResult?: (result: SendResult, done: number) => void;
}

/** Customer.io's v0 signature: lowercase hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`. */
export function sign(key: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', key).update(`v0:${timestamp}:`).update(body).digest('hex');
}

async function post(event: OutgoingEvent, options: SendOptions): Promise<SendResult> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const started = performance.now();
  try {
    const res = await fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'cio-webhooks-send',
        'x-cio-timestamp': timestamp,
        'x-cio-signature': sign(options.key, timestamp, event.body),
      },
      // A plain Uint8Array copy: fetch's BodyInit type does not take a Buffer over a possibly shared ArrayBuffer.
      body: new Uint8Array(event.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer();
    return { event, status: res.status, ms: performance.now() - started };
  } catch (err) {
    // Duck-typed: fetch's errors may come from another realm (test runners), where instanceof Error fails.
    const e = err as { name?: string; message?: string; cause?: { code?: string } };
    const error = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.message ?? String(err));
    return { event, status: null, ms: performance.now() - started, error };
  }
}

/** POSTs every event (in order of start, `concurrency` at a time) and returns the results in input order. */
export async function sendEvents(
  events: readonly OutgoingEvent[],
  options: SendOptions,
): Promise<SendResult[]> {
  const results: SendResult[] = new Array(events.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < events.length) {
      const index = next++;
      results[index] = await post(events[index], options);
      done += 1;
      options.onResult?.(results[index], done);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 8, events.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

export interface Summary {
  total: number;
  accepted: number;
  byStatus: Map<string, number>;
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function summarize(results: readonly SendResult[]): Summary {
  const byStatus = new Map<string, number>();
  for (const r of results) {
    const key = r.status === null ? (r.error ?? 'no response') : String(r.status);
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
  }
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    total: results.length,
    accepted: results.filter((r) => r.status !== null && r.status >= 200 && r.status < 300).length,
    byStatus,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

function fixturesDir(): string {
  return path.join(projectRoot(), 'test', 'fixtures', 'events');
}

function readEventFile(file: string): OutgoingEvent {
  let body: Buffer;
  try {
    body = fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // The id is only for display: the bytes go out as they are, parseable or not.
  let eventId = '-';
  let label = path.basename(file);
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      event_id?: unknown;
      object_type?: unknown;
      metric?: unknown;
    };
    if (typeof parsed.event_id === 'string') eventId = parsed.event_id;
    if (typeof parsed.object_type === 'string' && typeof parsed.metric === 'string') {
      label = `${parsed.object_type}/${parsed.metric} (${path.basename(file)})`;
    }
  } catch {
    // not JSON: sent anyway (the webhook must still accept a signed body)
  }
  return { label, eventId, body };
}

/** A workspace's URL and key in the running local stack (`npm start -- --workspaces a,b`). */
function workspaceTarget(values: ParsedValues, io: Io, workspace: string): { url: string; key: string } {
  const state = readStackState(io.localDir);
  const url = stringOption(values, 'url') ?? state?.workspaces?.[workspace];
  if (url === undefined) {
    const known = Object.keys(state?.workspaces ?? {});
    throw new UsageError(
      state === undefined
        ? 'no --url given and no local stack is running (start one with `npm start -- --workspaces LABEL`)'
        : `the local stack has no workspace "${workspace}" (${known.length > 0 ? `it has ${known.join(', ')}` : 'start it with --workspaces'})`,
    );
  }
  let key = stringOption(values, 'key');
  if (key === undefined) {
    const source = state?.workspaceKeysFile
      ? fs.readFileSync(state.workspaceKeysFile, 'utf8')
      : io.env.CIO_WORKSPACE_SIGNING_KEYS;
    const keys =
      source === undefined ? undefined : (JSON.parse(source) as Record<string, unknown>)[workspace];
    const first = Array.isArray(keys) ? keys[0] : typeof keys === 'string' ? keys.split(',')[0] : undefined;
    key = typeof first === 'string' ? first.trim() : undefined;
  }
  if (key === undefined || key === '') {
    throw new UsageError(
      `no --key given for workspace "${workspace}": export the CIO_WORKSPACE_SIGNING_KEYS the stack was started with, or pass --key`,
    );
  }
  return { url, key };
}

function resolveTarget(values: ParsedValues, io: Io): { url: string; key: string } {
  const workspace = stringOption(values, 'workspace');
  if (workspace !== undefined && workspace !== 'default') return workspaceTarget(values, io, workspace);
  const state = readStackState(io.localDir);
  const url = stringOption(values, 'url') ?? state?.webhookUrl;
  if (url === undefined) {
    throw new UsageError('no --url given and no local stack is running (start one with `npm start`)');
  }
  if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  let key = stringOption(values, 'key') ?? io.env.CIO_WEBHOOK_SIGNING_KEYS?.split(',')[0]?.trim();
  if ((key === undefined || key === '') && state?.signingKeyFile) {
    key = fs.readFileSync(state.signingKeyFile, 'utf8').trim();
  }
  if ((key === undefined || key === '') && state !== undefined) {
    throw new UsageError(
      'no --key given and CIO_WEBHOOK_SIGNING_KEYS is not set here; the local stack signs with the ' +
        'CIO_WEBHOOK_SIGNING_KEYS it was started with: export the same value in this shell or pass --key',
    );
  }
  if (key === undefined || key === '') {
    throw new UsageError('no --key given, CIO_WEBHOOK_SIGNING_KEYS is not set and no local stack is running');
  }
  return { url, key };
}

type Source =
  | { kind: 'files'; files: string[] }
  | { kind: 'all' }
  | ({ kind: 'generate' } & Required<Pick<GenerateOptions, 'count' | 'duplicateShare' | 'seed'>> &
      Pick<GenerateOptions, 'identifiers' | 'withContent' | 'largeBodies'>);

const GENERATE_ONLY = ['duplicates', 'seed', 'identifiers', 'with-content', 'large', 'large-bytes'];

/** Validates what to send before anything is read, generated or sent. */
function parseSource(v: ParsedValues, files: string[]): Source {
  const generate = numberOption(v, 'generate', { min: 1, max: 1_000_000 });
  const sources = [files.length > 0, v.all === true, generate !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('choose what to send: FILE..., --all or --generate N');
  if (generate === undefined) {
    const misplaced = GENERATE_ONLY.filter((name) => v[name] !== undefined).map((name) => `--${name}`);
    if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')} only go with --generate`);
    return v.all === true ? { kind: 'all' } : { kind: 'files', files };
  }
  const identifiers = stringOption(v, 'identifiers');
  if (identifiers !== undefined && identifiers !== 'multi' && identifiers !== 'id_only') {
    throw new UsageError(`--identifiers must be multi or id_only, got "${identifiers}"`);
  }
  const large = numberOption(v, 'large', { min: 1, max: 1000 });
  const largeBytes = numberOption(v, 'large-bytes', { min: 1024, max: 64 * 1024 * 1024 });
  if (largeBytes !== undefined && large === undefined)
    throw new UsageError('--large-bytes goes with --large');
  return {
    kind: 'generate',
    count: generate,
    duplicateShare: numberOption(v, 'duplicates', { min: 0, max: 0.99, integer: false }) ?? 0.1,
    seed: numberOption(v, 'seed', { min: 0, max: 2 ** 32 - 1 }) ?? Math.floor(Math.random() * 2 ** 32),
    identifiers,
    withContent: v['with-content'] === true,
    largeBodies: large === undefined ? undefined : { count: large, bytes: largeBytes ?? 10_500_000 },
  };
}

function loadEvents(source: Source, io: Io): OutgoingEvent[] {
  switch (source.kind) {
    case 'generate': {
      const { kind: _kind, ...options } = source;
      io.out(
        `generating ${options.count} requests (duplicate share ${options.duplicateShare}, --seed ${options.seed})\n`,
      );
      // Events happen before they are reported: the stream ends now (events follow each other by at most 400 ms),
      // so none is timestamped in the future, where no reconciliation window reaches.
      return generateEvents({ ...options, startMs: Date.now() - options.count * 400 }).map((e) => ({
        label: `${e.objectType}/${e.metric}${e.duplicate ? ' (duplicate)' : ''}`,
        eventId: e.eventId,
        body: Buffer.from(e.body),
      }));
    }
    case 'all': {
      const dir = fixturesDir();
      let names: string[];
      try {
        names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
      } catch {
        throw new UsageError(`no fixtures folder at ${dir}`);
      }
      return names.sort().map((n) => readEventFile(path.join(dir, n)));
    }
    case 'files':
      return source.files.map(readEventFile);
  }
}

/**
 * Sending to the local stack, Customer.io's record comes first: the stack's App API stand-in learns every delivery
 * (and its metrics) that is about to be sent, whether or not its webhook will arrive, as Customer.io's would.
 */
async function recordInLocalAppApi(
  values: ParsedValues,
  io: Io,
  events: readonly OutgoingEvent[],
): Promise<void> {
  const appApiUrl =
    stringOption(values, 'url') === undefined ? readStackState(io.localDir)?.appApiUrl : undefined;
  if (appApiUrl === undefined) return;
  const body = events.map((e) => e.body.toString('utf8').replaceAll('\n', ' ')).join('\n');
  const response = await fetch(new URL('/_local/events', appApiUrl), { method: 'POST', body });
  if (!response.ok) throw new Error(`the local App API stand-in refused the events (${response.status})`);
}

const LIST_LIMIT = 30;

class Progress {
  private lastDraw = 0;
  constructor(
    private readonly io: Io,
    private readonly total: number,
  ) {}
  update(done: number, failed: number): void {
    const now = Date.now();
    const interval = this.io.isTTY ? 100 : 2000;
    if (done < this.total && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    const text = `${done}/${this.total} sent, ${failed} not accepted`;
    if (this.io.isTTY) {
      const width = 30;
      const filled = Math.round((done / this.total) * width);
      this.io.out(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`);
      if (done === this.total) this.io.out('\n');
    } else if (done < this.total) {
      this.io.out(`${text}\n`);
    }
  }
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export async function runSend(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      help: { type: 'boolean', short: 'h' },
      all: { type: 'boolean' },
      generate: { type: 'string' },
      duplicates: { type: 'string' },
      seed: { type: 'string' },
      identifiers: { type: 'string' },
      'with-content': { type: 'boolean' },
      large: { type: 'string' },
      'large-bytes': { type: 'string' },
      repeat: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      workspace: { type: 'string' },
      concurrency: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
    true,
  );
  if (values.help === true) {
    io.out(SEND_HELP + '\n');
    return 0;
  }
  const concurrency = numberOption(values, 'concurrency', { min: 1, max: 1000 }) ?? 8;
  const timeoutMs = numberOption(values, 'timeout-ms', { min: 100, max: 600_000 }) ?? 10_000;
  const repeat = numberOption(values, 'repeat', { min: 1, max: 100 }) ?? 1;
  const source = parseSource(values, positionals);
  const { url, key } = resolveTarget(values, io);
  const events = loadEvents(source, io).flatMap((e) => Array.from({ length: repeat }, () => e));
  await recordInLocalAppApi(values, io, events);

  const list = events.length <= LIST_LIMIT;
  const progress = list ? undefined : new Progress(io, events.length);
  let failed = 0;
  const failures: string[] = [];
  const started = performance.now();
  const results = await sendEvents(events, {
    url,
    key,
    concurrency,
    timeoutMs,
    onResult: (r, done) => {
      const ok = r.status !== null && r.status >= 200 && r.status < 300;
      const line = `${String(r.status ?? r.error).padEnd(4)} ${formatMs(r.ms).padStart(8)}  ${r.event.eventId}  ${r.event.label}`;
      if (!ok) {
        failed += 1;
        if (failures.length < 10) failures.push(line);
      }
      if (list) io.out(line + '\n');
      else progress?.update(done, failed);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const s = summarize(results);
  if (!list && failures.length > 0) {
    io.out(`first requests not accepted:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
  }
  const statuses = [...s.byStatus.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status} ×${n}`)
    .join(', ');
  io.out(
    `sent ${s.total} request${s.total === 1 ? '' : 's'} to ${url} in ${seconds.toFixed(1)} s` +
      ` (${Math.round(s.total / Math.max(seconds, 0.001))}/s)\n` +
      `  status   ${statuses}\n` +
      `  latency  p50 ${formatMs(s.p50)} · p99 ${formatMs(s.p99)} · max ${formatMs(s.max)}\n`,
  );
  if (s.accepted < s.total) {
    io.err(`${s.total - s.accepted} of ${s.total} requests were not accepted (no 2xx)\n`);
    return 1;
  }
  return 0;
}
