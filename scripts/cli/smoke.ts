// `cio-webhooks smoke`: one signed synthetic event through a deployment, end to end: the webhook accepts it, its
// row reaches the warehouse, the processor logs it; each hop's time is printed. Against a deployed webhook it is
// the one check that covers what the emulators cannot: the real Pub/Sub, Firestore and BigQuery behind the bundled
// clients, their TLS and credentials, the IAM grants and the push subscription. The event is synthetic (its
// event_id starts with SYNTHETIC_EVENT_ID_PREFIX): the processor takes no Track action for it and the views and the
// report leave it out. Last, every SQL text the project runs against the warehouse is dry-run there. The steps run in
// a plain sequence in `smoke()`; each stops the run with a diagnosis.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { ENV } from '../../shared/config';
import { SYNTHETIC_EVENT_ID_PREFIX } from '../../shared/customerio/event';
import { readStackState } from '../local/stack-state';
import { numberOption, parseCommandLine, stringOption, UsageError, type Io, type ParsedValues } from './args';
import { sendEvents, type OutgoingEvent } from './send';
import {
  cloudProcessorLog,
  localProcessorLog,
  type ProcessorLine,
  type ProcessorLog,
} from './smoke/processor-log';
import { checkBigQuerySql, type DryRunResult } from './sql/dry-run';

export const SMOKE_HELP = `Usage: cio-webhooks smoke [--url URL --key-file FILE] [--project ID] [options]

Sends one signed synthetic event (email/delivered, event_id ${SYNTHETIC_EVENT_ID_PREFIX}...) to a webhook and
waits until
  1. the webhook accepts it (200),
  2. its row is in the warehouse's events table,
  3. the processor has logged it,
printing how long each hop took. Synthetic events take no Track API action and are left out of the views and the
report (their rows stay in the events table).

Without --project it checks the local stack started by \`npm start\` (its URL, key, warehouse and processor log).
With --project it checks a deployment: BigQuery in that project and the processor's log lines in Cloud Logging,
read with your Google credentials (gcloud auth application-default login; BigQuery Data Viewer and Job User,
Logs Viewer). \`terraform output -raw smoke_command\` prints the full command for a deployment.

Options:
  --url URL          the webhook (default: the local stack's)
  --key-file FILE    a file holding the signing key to sign with, e.g. --key-file <(printf %s "$KEY") in bash
                     (default, locally: the stack's key)
  --project ID       the Google Cloud project of a deployment
  --dataset NAME     dataset of the events table (default $${ENV.bqDataset}, else customerio; locally the stack's)
  --table NAME       the events table (default $${ENV.bqTable}, else events)
  --processor NAME   the processor's Cloud Run service, for its log lines (default cio-processor)
  --timeout S        give up after this many seconds (default 180)
  -h, --help         show this help

Exit status: 0 when the event went through end to end, 1 when a hop failed (what to check is printed), 2 for a
wrong command line.`;

const BQ_ID = /^[A-Za-z0-9_]{1,1024}$/;
const PROJECT_ID = /^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/;
const POLL_MS = 1000;

/** Where the smoke test goes and where it looks. */
export interface SmokeTarget {
  url: string;
  key: string;
  bigquery: BigQuery;
  /** Fully qualified events table, `project.dataset.table`. */
  table: string;
  /** Where the project's SQL is dry-run (every view, report and README query): the same dataset. */
  sql: { projectId: string; datasetId: string; eventsTable: string };
  log: ProcessorLog;
  timeoutMs: number;
}

export interface SyntheticEvent extends OutgoingEvent {
  /** Unix seconds: the body's `timestamp`, the row's partition. */
  timestamp: number;
}

/** An email/delivered event marked synthetic, naming nobody (no identifiers). */
export function syntheticEvent(now: Date = new Date()): SyntheticEvent {
  const eventId = `${SYNTHETIC_EVENT_ID_PREFIX}${now.getTime()}-${randomBytes(4).toString('hex')}`;
  const timestamp = Math.floor(now.getTime() / 1000);
  const body = {
    event_id: eventId,
    object_type: 'email',
    metric: 'delivered',
    timestamp,
    data: {
      delivery_id: eventId,
      recipient: 'smoke-test@example.invalid',
      subject: 'cio-webhooks smoke test',
    },
  };
  return {
    eventId,
    label: 'email/delivered, synthetic',
    body: Buffer.from(JSON.stringify(body)),
    timestamp,
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** What to check first when the webhook does not answer 200. */
function webhookDiagnosis(status: number | null, error: string | undefined): string {
  if (status === null) return `no answer (${error}): check the URL and that the webhook is deployed`;
  if (status === 401) {
    return (
      'the webhook refused the signature: the key signed with is not one of its CIO_WEBHOOK_SIGNING_KEYS ' +
      '(deployed: the secret version in `terraform output signing_keys_secret_version`)'
    );
  }
  if (status === 403) {
    return (
      'Cloud Run refused the request before the webhook ran: the webhook is not public ' +
      '(README: Deploy, organisation policies)'
    );
  }
  if (status === 404)
    return 'nothing answers at this URL: check it against `terraform output -raw webhook_url`';
  if (status >= 500) {
    return 'the webhook could not accept the event (503: Pub/Sub publish failed); its log line names the cause';
  }
  return 'unexpected status';
}

async function until<T>(deadline: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  for (;;) {
    const found = await probe();
    if (found !== undefined || Date.now() >= deadline) return found;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function describeLines(lines: readonly ProcessorLine[]): string {
  return lines.map((l) => `${l.outcome}${l.error === undefined ? '' : ` (${l.error})`}`).join(', ');
}

/** The smoke test proper: one step after another, each printing its hop or stopping the run. */
export async function smoke(target: SmokeTarget, out: (line: string) => void): Promise<number> {
  const event = syntheticEvent();
  const started = Date.now();
  const deadline = started + target.timeoutMs;
  const elapsed = (): number => Date.now() - started;
  out(`smoke test: ${event.eventId} (${event.label}) to ${target.url}`);

  // 1. The webhook verifies the signature and answers 200 once Pub/Sub holds the event.
  const [sent] = await sendEvents([event], {
    url: target.url,
    key: target.key,
    timeoutMs: Math.min(30_000, target.timeoutMs),
  });
  if (sent!.status !== 200) {
    out(`  1 webhook    ${sent!.status ?? 'no answer'} after ${Math.round(sent!.ms)} ms`);
    out(`FAILED at the webhook: ${webhookDiagnosis(sent!.status, sent!.error)}`);
    return 1;
  }
  out(`  1 webhook    200 after ${Math.round(sent!.ms)} ms`);

  // 2. The processor claimed it in the ledger and inserted its row.
  // The partition column in the filter: BigQuery reads one day's partition, not the table.
  const query = {
    query: `SELECT event_id, actions FROM \`${target.table}\` WHERE event_timestamp = @at AND event_id = @id`,
    params: { at: BigQuery.timestamp(new Date(event.timestamp * 1000)), id: event.eventId },
    useLegacySql: false,
  };
  let row: { actions?: unknown } | undefined;
  try {
    row = await until(deadline, async () => {
      const [rows] = await target.bigquery.query(query);
      return (rows as Array<{ actions?: unknown }>)[0];
    });
  } catch (err) {
    out(`FAILED reading the warehouse: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  if (row === undefined) {
    const lines = await target.log.linesFor(event.eventId).catch(() => []);
    out(
      `FAILED: no row in ${target.table} after ${seconds(elapsed())}. The processor's lines for the event: ` +
        `${lines.length === 0 ? 'none' : describeLines(lines)} (${target.log.label}). Check its retryable ` +
        'failures, the push subscription (`terraform output processor_subscription`) and the dead letters.',
    );
    return 1;
  }
  const actions = Array.isArray(row.actions) && row.actions.length > 0 ? row.actions.join(', ') : 'none';
  out(`  2 warehouse  row in ${target.table} after ${seconds(elapsed())} (actions: ${actions})`);

  // 3. The processor's log line for the delivery: the operator's view of the same event.
  let line: ProcessorLine | undefined;
  let seen: ProcessorLine[] = [];
  try {
    line = await until(deadline, async () => {
      seen = await target.log.linesFor(event.eventId);
      return seen.find((l) => l.outcome === 'processed');
    });
  } catch (err) {
    out(
      `FAILED reading the processor's log (${target.log.label}): ${err instanceof Error ? err.message : String(err)}` +
        ' (reading Cloud Logging needs Logs Viewer on the project)',
    );
    return 1;
  }
  if (line === undefined) {
    out(
      `FAILED: the row is there but no "processed" line from the processor after ${seconds(elapsed())} ` +
        `(${target.log.label}; lines seen: ${seen.length === 0 ? 'none' : describeLines(seen)}).`,
    );
    return 1;
  }
  const own =
    line.latencyMs === undefined ? '' : ` (the processor's own time ${Math.round(line.latencyMs)} ms)`;
  out(`  3 processor  logged "processed" after ${seconds(elapsed())}${own}`);

  // 4. Every SQL text the project runs against the warehouse, dry-run there: BigQuery's own verdict on the views,
  // the report and the README's examples (free: nothing is read).
  let results: DryRunResult[];
  try {
    results = await checkBigQuerySql({ bigquery: target.bigquery, ...target.sql });
  } catch (err) {
    out(`FAILED dry-running the project's SQL: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const refused = results.filter((r) => !r.accepted);
  if (refused.length > 0) {
    out(`  4 queries    ${refused.length} of ${results.length} SQL statements refused:`);
    for (const r of refused) out(`               ${r.name} (${r.origin}): ${r.reason}: ${r.message}`);
    out('FAILED: BigQuery refuses SQL this project runs (npx cio-webhooks check-sql shows every statement)');
    return 1;
  }
  out(`  4 queries    BigQuery accepts all ${results.length} SQL statements (dry run)`);

  out(`passed: the event went through end to end in ${seconds(elapsed())}`);
  return 0;
}

function readKeyFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(
      `cannot read --key-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  if (text === '') throw new UsageError(`--key-file ${file} is empty`);
  if (text.includes(',')) {
    throw new UsageError(
      `--key-file ${file} holds ${text.split(',').length} comma-separated keys: give the one key to sign with`,
    );
  }
  return text;
}

function identifier(value: string, what: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new UsageError(`${what} "${value}" is not valid`);
  return value;
}

/** The target from the command line: a deployment (--project) or the running local stack. */
function resolveTarget(v: ParsedValues, io: Io): SmokeTarget {
  const timeoutMs = (numberOption(v, 'timeout', { min: 10, max: 3600 }) ?? 180) * 1000;
  const table = identifier(
    stringOption(v, 'table') ?? (io.env[ENV.bqTable]?.trim() || 'events'),
    '--table',
    BQ_ID,
  );
  const keyFile = stringOption(v, 'key-file');
  const url = stringOption(v, 'url');
  if (url !== undefined && !/^https?:\/\/\S+$/.test(url))
    throw new UsageError(`--url must be an http(s) URL, got "${url}"`);

  const project = stringOption(v, 'project');
  if (project !== undefined) {
    identifier(project, '--project', PROJECT_ID);
    if (url === undefined || keyFile === undefined) {
      throw new UsageError(
        'with --project, give the deployed webhook (--url) and the signing key (--key-file)',
      );
    }
    const dataset = identifier(
      stringOption(v, 'dataset') ?? (io.env[ENV.bqDataset]?.trim() || 'customerio'),
      '--dataset',
      BQ_ID,
    );
    const service = stringOption(v, 'processor') ?? 'cio-processor';
    // $BIGQUERY_EMULATOR_HOST, if set, redirects this client (the client reads it itself).
    const bigquery = new BigQuery({ projectId: project });
    return {
      url,
      key: readKeyFile(keyFile),
      bigquery,
      table: `${project}.${dataset}.${table}`,
      sql: { projectId: project, datasetId: dataset, eventsTable: table },
      log: cloudProcessorLog({
        projectId: project,
        service,
        since: new Date(Date.now() - 60_000),
        request: (options) => bigquery.authClient.request(options),
      }),
      timeoutMs,
    };
  }

  const state = readStackState(io.localDir);
  if (state === undefined) {
    throw new UsageError(
      'no --project given and no local stack is running: smoke a deployment with --project (and --url, --key-file), ' +
        'or start the local stack with `npm start`',
    );
  }
  if (stringOption(v, 'processor') !== undefined)
    throw new UsageError('--processor only goes with --project');
  let key: string | undefined = keyFile === undefined ? undefined : readKeyFile(keyFile);
  key ??= state.signingKeyFile === null ? undefined : fs.readFileSync(state.signingKeyFile, 'utf8').trim();
  key ??= io.env[ENV.signingKeys]?.split(',')[0]?.trim();
  if (key === undefined || key === '') {
    throw new UsageError(
      'the local stack signs with the CIO_WEBHOOK_SIGNING_KEYS it was started with: export it here or give --key-file',
    );
  }
  const dataset = identifier(stringOption(v, 'dataset') ?? state.dataset, '--dataset', BQ_ID);
  // The local warehouse ignores credentials: do not let the auth library probe for a metadata server first.
  process.env.METADATA_SERVER_DETECTION = 'none';
  return {
    url: url ?? state.webhookUrl,
    key,
    bigquery: new BigQuery({ projectId: state.projectId, apiEndpoint: state.bigqueryEmulatorHost }),
    table: `${state.projectId}.${dataset}.${table}`,
    sql: { projectId: state.projectId, datasetId: dataset, eventsTable: table },
    log: localProcessorLog(path.join(state.logDir, 'processor.log')),
    timeoutMs,
  };
}

export async function runSmoke(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    url: { type: 'string' },
    'key-file': { type: 'string' },
    project: { type: 'string' },
    dataset: { type: 'string' },
    table: { type: 'string' },
    processor: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (values.help === true) {
    io.out(SMOKE_HELP + '\n');
    return 0;
  }
  return smoke(resolveTarget(values, io), (line) => io.out(line + '\n'));
}
