// `npm start`: the whole pipeline on this machine until Ctrl-C. Prints one screen (URLs, key, where data and logs
// live, what to try next), then the functions' logs as compact lines. Ctrl-C, SIGTERM or a crash stop everything.

import path from 'node:path';
import { ConfigError } from '../../shared/config';
import { parseCommandLine, portOption, stringOption, UsageError } from '../cli/args';
import { EmulatorError } from './emulators';
import { renderLogLine } from './log-render';
import { startStack, StackError, type Stack } from './stack';
import { defaultLocalDir } from './stack-state';

const HELP = `Usage: npm start -- [options]

Starts the Pub/Sub and Firestore emulators, the local warehouse (DuckDB, BigQuery API) and both functions from
dist/, wired like production, and keeps them running until Ctrl-C.

Options:
  --port N             webhook port (default: $PORT, else 8080 when free, else any free port)
  --processor-port N   processor port (default: any free port)
  --warehouse-port N   warehouse (BigQuery API) port (default: any free port)
  --project ID         project id used with the emulators (default cio-local)
  --workspaces A,B     more Customer.io workspaces besides the default one (POST /): each at /<label>, with a
                       development signing key of its own (kept in .local/workspace-keys.json)
  --reset              empty the warehouse, the dedupe ledger and the App API stand-in's record
                       (.local/warehouse/, .local/firestore/, .local/app-api/) first
  --quiet              keep function logs out of the console (they still go to .local/logs/)
  -h, --help           show this help

Environment: CIO_SITE_ID + CIO_TRACK_API_KEY make Track API calls real (default: dry-run);
CIO_WEBHOOK_SIGNING_KEYS replaces the development key (CIO_WORKSPACE_SIGNING_KEYS the workspaces' keys and labels);
the other CIO_*, DEDUPE_*, BQ_* and LOG_LEVEL variables are passed to the functions.`;

function shortPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') ? relative : file;
}

function screen(stack: Stack, quiet: boolean): string {
  const s = stack.state;
  const bold = (t: string) => (process.stdout.isTTY ? `\x1b[1m${t}\x1b[0m` : t);
  const key =
    stack.signingKeySource === 'env'
      ? '(from CIO_WEBHOOK_SIGNING_KEYS)'
      : `${stack.signingKey}  (${stack.signingKeySource === 'generated' ? 'generated now, ' : ''}kept in ${shortPath(s.signingKeyFile ?? '')})`;
  const track =
    stack.trackMode === 'live'
      ? 'LIVE: profile actions call the Customer.io Track API (CIO_SITE_ID is set)'
      : 'dry-run: actions are decided, logged and recorded on rows, not sent (set CIO_SITE_ID and CIO_TRACK_API_KEY to go live)';
  const workspaces: Array<[string, string]> = Object.entries(s.workspaces).flatMap(([label, url]) => [
    [`Workspace ${label}`, bold(url)],
    [
      '',
      `key ${stack.workspaceKeys[label]}${s.workspaceKeysFile ? `  (kept in ${shortPath(s.workspaceKeysFile)})` : ''}`,
    ],
  ]);
  const rows: Array<[string, string]> = [
    ['Webhook URL', `${bold(s.webhookUrl)}${workspaces.length > 0 ? '  (the default workspace)' : ''}`],
    ['Signing key', key],
    ...workspaces,
    ['Processor', `${s.processorUrl}  (push subscription ${s.pushSubscription} on topic ${s.eventsTopic})`],
    [
      'Dead letters',
      `topic ${s.deadLetterTopic}, pull subscription ${s.deadLetterSubscription} (after 5 failed deliveries)`,
    ],
    ['Pub/Sub', `emulator ${s.pubsubEmulatorHost}, project ${s.projectId}`],
    ['Firestore', `emulator ${s.firestoreEmulatorHost} (dedupe ledger)`],
    [
      '',
      `${stack.ledgerLoaded === undefined ? 'started empty' : `loaded the ledger saved at ${stack.ledgerLoaded.savedAt}`}; ` +
        `saved to ${shortPath(stack.ledgerDir)}/ when the stack stops; --reset empties it`,
    ],
    ['Warehouse', `${shortPath(s.warehouseDir)}/  (DuckDB, kept between runs; --reset empties it)`],
    ['', `BigQuery API at ${s.bigqueryEmulatorHost}, dataset ${s.dataset}`],
    ['Track API', track],
    [
      'App API',
      `${s.appApiUrl}  (stand-in: Customer.io's record of what \`send\` sends, kept in ${shortPath(path.join(path.dirname(s.logDir), 'app-api'))}/; reconcile and backfill use it)`,
    ],
    [
      'Logs',
      `${shortPath(s.logDir)}/  (webhook.log, processor.log: JSON lines${quiet ? '' : '; shown below, compacted'})`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    '',
    bold(`cio-webhooks local stack is running`),
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    'Try, in another terminal:',
    '  npx cio-webhooks send --all                      sign and POST every fixture event',
    ...Object.keys(s.workspaces).map(
      (label) =>
        `  npx cio-webhooks send --all --workspace ${label}`.padEnd(51) + `the same, to workspace ${label}`,
    ),
    '  npx cio-webhooks send --generate 500 --duplicates 0.1',
    '  npx cio-webhooks query "select metric, count(*) as n from customerio.events group by 1 order by 2 desc"',
    '  npx cio-webhooks report                         write report.html (deliverability, from the views)',
    "  npx cio-webhooks reconcile --since 1d           compare the warehouse with Customer.io's record (App API)",
    '  npx cio-webhooks replay-dead-letters --dry-run',
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    port: { type: 'string' },
    'processor-port': { type: 'string' },
    'warehouse-port': { type: 'string' },
    project: { type: 'string' },
    workspaces: { type: 'string' },
    reset: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (values.help === true) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const envPort = process.env.PORT;
  const webhookPort =
    portOption(values, 'port') ?? (envPort ? portOption({ port: envPort }, 'port') : undefined);
  const quiet = values.quiet === true;
  const color = process.stdout.isTTY === true;

  // Filled in once the stack is up; the signal handlers below need it before that.
  const current: { stack?: Stack; running: boolean } = { running: false };
  let shuttingDown: Promise<void> | undefined;
  let markStopped = (): void => undefined;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const shutdown = (why: string, code: number): Promise<void> =>
    (shuttingDown ??= (async () => {
      process.exitCode = code;
      process.stdout.write(
        `\n${why}: stopping the functions, saving the dedupe ledger, stopping the emulators and the warehouse…\n`,
      );
      try {
        await current.stack?.stop();
        const saved =
          current.stack && ` The dedupe ledger is saved in ${shortPath(current.stack.ledgerDir)}/.`;
        process.stdout.write(`stopped; nothing left running.${saved ?? ''}\n`);
      } catch (err) {
        process.stderr.write(`error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
      markStopped();
    })());
  let interrupts = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // A second Ctrl-C does not wait: the guardians still take the emulators and functions down with us, and a
      // ledger save it cuts short is ignored (the next start loads the previous save).
      if (++interrupts > 1) process.exit(130);
      void shutdown(`${signal} received`, signal === 'SIGINT' ? 0 : 143);
    });
  }
  const crash = (err: unknown) => {
    process.stderr.write(
      `\nunexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    void shutdown('crashed', 1).then(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  process.stdout.write(
    'starting the local stack (first start takes a while: two emulators boot a JVM each)\n',
  );
  const started = Date.now();
  const stack = await startStack({
    localDir: defaultLocalDir(),
    reset: values.reset === true,
    webhookPort,
    processorPort: portOption(values, 'processor-port'),
    warehousePort: portOption(values, 'warehouse-port'),
    projectId: stringOption(values, 'project'),
    workspaces: (stringOption(values, 'workspaces') ?? '')
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== ''),
    onStep: (message) => process.stdout.write(`  … ${message}\n`),
    onLog: (source, line) => {
      if (quiet) return;
      const rendered = renderLogLine(source, line, { color });
      if (rendered !== undefined) process.stdout.write(rendered + '\n');
    },
    onUnexpectedExit: (source, how) => {
      if (!current.running) return;
      process.stderr.write(
        `\nthe ${source} function stopped (${how}); see ${current.stack?.logFiles[source]}\n`,
      );
      void shutdown(`${source} function gone`, 1);
    },
  });
  if (shuttingDown !== undefined) {
    // Ctrl-C arrived while starting: stop what startStack started.
    await stack.stop();
    return Number(process.exitCode ?? 0);
  }
  current.stack = stack;
  current.running = true;
  process.stdout.write(screen(stack, quiet));
  process.stdout.write(`(up in ${((Date.now() - started) / 1000).toFixed(1)} s)\n\n`);
  // Stay up until a signal, a crash or a lost function; shutdown() sets the exit code.
  await stopped;
  return Number(process.exitCode ?? 0);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`npm start: ${err.message} (see npm start -- --help)\n`);
      process.exitCode = 2;
    } else if (err instanceof StackError || err instanceof EmulatorError || err instanceof ConfigError) {
      process.stderr.write(`could not start the local stack:\n${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `could not start the local stack: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
