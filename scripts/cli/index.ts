#!/usr/bin/env node
// `cio-webhooks`: the operator's command line. Each command is loaded only when it runs, so `send` does not pay
// for the Pub/Sub or BigQuery clients.

import { defaultLocalDir } from '../local/stack-state';
import { UsageError, type Io } from './args';

type Command = (argv: readonly string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  send: {
    summary: 'sign and POST events (fixtures, files or a generated stream) to a webhook',
    load: async () => (await import('./send')).runSend,
  },
  query: {
    summary: 'run SQL against the local warehouse (or BigQuery with --project) and print a table',
    load: async () => (await import('./query-command')).runQueryCommand,
  },
  report: {
    summary: 'write a self-contained HTML deliverability report from the warehouse',
    load: async () => (await import('./report')).runReport,
  },
  'check-sql': {
    summary: 'dry-run every SQL statement the project runs against BigQuery (views, report, README examples)',
    load: async () => (await import('./check-sql')).runCheckSql,
  },
  smoke: {
    summary: 'send one signed synthetic event and follow it to the warehouse and the processor log',
    load: async () => (await import('./smoke')).runSmoke,
  },
  reconcile: {
    summary: "compare the warehouse with Customer.io's own record (App API); --repair fills the gaps",
    load: async () => (await import('./reconcile')).runReconcileCommand,
  },
  backfill: {
    summary: 'write what Customer.io records and the warehouse lacks (history, lost events); resumable',
    load: async () => (await import('./backfill')).runBackfillCommand,
  },
  'replay-dead-letters': {
    summary: 'move dead-lettered messages back onto the events topic',
    load: async () => (await import('./replay-dead-letters')).runReplayDeadLetters,
  },
};

export const HELP = `Usage: cio-webhooks <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(21)}${c.summary}`)
  .join('\n')}

Without flags the commands use the local stack started by \`npm start\` (its URLs and key are in .local/stack.json).
Run \`cio-webhooks <command> --help\` for a command's options.`;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(HELP + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`cio-webhooks: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  try {
    return await (
      await command.load()
    )(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`cio-webhooks ${name}: ${err.message} (see cio-webhooks ${name} --help)\n`);
      return 2;
    }
    io.err(`cio-webhooks ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  const io: Io = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
    env: process.env,
    localDir: defaultLocalDir(),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `cio-webhooks: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
