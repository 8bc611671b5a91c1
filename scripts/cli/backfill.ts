// `cio-webhooks backfill`: writes into the warehouse the first occurrence of each (delivery, metric) Customer.io
// records for deliveries created in the window and the warehouse lacks: history from before the webhook existed,
// or what it never delivered. Rows are marked source = 'app_api' and have deterministic event ids (a re-run adds
// nothing); no Track API call is made for them. Resumable: a checkpoint file records each day's progress, so after
// Ctrl-C or a crash the same command continues where it stopped.

import path from 'node:path';
import { checkKeyWorkspace } from '../../shared/reconcile/records';
import { runReconciliation } from '../../shared/reconcile/run';
import { parseCommandLine, stringOption, UsageError, type Io } from './args';
import { CheckpointFile } from './completeness/checkpoint-file';
import { renderResult } from './completeness/print';
import { formatDuration, ProgressLine } from './completeness/progress';
import { webhookSettings } from '../../shared/reconcile/webhook-settings';
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from './completeness/target';
import { isoMinute, parseDuration, parseWindow } from './completeness/window';

export const BACKFILL_HELP = `Usage: cio-webhooks backfill --since TIME [--until TIME] [--workspace LABEL] [--dry-run]

Writes the first occurrence of each (delivery, metric) that Customer.io records (App API) for deliveries created in
the window and the warehouse lacks, as rows with source = 'app_api'. A re-run adds nothing; the views count each
(delivery, metric) once, whether it came from a webhook, from here or both. Nothing is sent to Customer.io.

Ctrl-C stops after the chunk in progress; run the same command again to continue (the checkpoint is kept in
.local/backfill/<workspace>.json until the backfill has finished; relative times such as 180d resume the
window of the interrupted run).

Options:
  --since TIME           deliveries created from: 2025-01-31 (UTC), an ISO time with a zone, or 180d before now
  --until TIME           ... until (default: the settle cutoff, an hour ago); windows over Customer.io's
                         6-month limit are split
  --dry-run              count what would be written; write nothing
  --settle DURATION      leave first occurrences younger than this to their webhook (default 60m; 2m locally)
  --checkpoint FILE      where to keep the progress (default .local/backfill/<workspace>.json)
  --concurrency N        days read at once (default 4; Customer.io's 10 requests/s is shared by all of them)
${TARGET_HELP}
  -h, --help             show this help`;

export async function runBackfillCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    since: { type: 'string' },
    until: { type: 'string' },
    'dry-run': { type: 'boolean' },
    settle: { type: 'string' },
    checkpoint: { type: 'string' },
    concurrency: { type: 'string' },
    ...TARGET_OPTIONS,
  });
  if (values.help === true) {
    io.out(BACKFILL_HELP + '\n');
    return 0;
  }
  const since = stringOption(values, 'since');
  if (since === undefined) throw new UsageError('--since is required (e.g. --since 2025-01-01)');
  const now = new Date();
  const target = resolveTarget(values, io);
  const rawSettle = stringOption(values, 'settle');
  const settle = rawSettle === undefined ? (target.local ? 120 : 3600) : parseDuration(rawSettle);
  if (settle === undefined)
    throw new UsageError(`--settle must be a duration (60m, 2h, 0), got "${rawSettle}"`);
  const until = stringOption(values, 'until');
  const concurrencyRaw = stringOption(values, 'concurrency');
  const concurrency = concurrencyRaw === undefined ? 4 : Number(concurrencyRaw);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    throw new UsageError('--concurrency must be 1 to 32');
  }
  const dryRun = values['dry-run'] === true;
  // Without --until the window ends at the settle cutoff.
  let window = parseWindow(since, until, now, Math.floor(now.getTime() / 1000) - settle);
  const checkpoint = dryRun
    ? undefined
    : new CheckpointFile(
        path.resolve(
          stringOption(values, 'checkpoint') ??
            path.join(io.localDir, 'backfill', `${target.client.workspace}.json`),
        ),
      );
  const saved = checkpoint?.load();
  // A relative --since / --until (7d, or none) means "the window of the run being resumed".
  const relative = (v: string | undefined): boolean => v === undefined || parseDuration(v) !== undefined;
  if (
    saved !== undefined &&
    (relative(since) || saved.window.start === window.start) &&
    (relative(until) || saved.window.end === window.end)
  ) {
    window = saved.window;
  }
  const previous = saved;
  io.out(
    `${dryRun ? 'Dry run: counting' : 'Backfilling'} workspace ${target.client.workspace}: deliveries created ` +
      `${isoMinute(window.start)} .. ${isoMinute(window.end)}\n  Customer.io's record: ${target.appApiLabel}\n` +
      `  warehouse: ${target.warehouse.label}\n` +
      (previous === undefined
        ? ''
        : `  resuming from ${checkpoint!.file}: ${previous.deliveries} deliveries read, ${previous.written} rows written before\n`),
  );
  const settings = await webhookSettings(target.client);
  await checkKeyWorkspace(target.client, target.warehouse, Math.floor(now.getTime() / 1000) - settle);

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    io.err(
      '\nstopping after the chunk in progress (Ctrl-C again to stop at once; the checkpoint is saved)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const line = new ProgressLine(io, dryRun ? 'to write' : 'written');
  try {
    const result = await runReconciliation({
      client: target.client,
      warehouse: target.warehouse,
      window,
      settledBefore: window.end,
      repair: true,
      dryRun,
      detectUnknown: false,
      subscribed: settings.subscribed,
      checkpoint,
      concurrency,
      signal: controller.signal,
      onProgress: (p) => line.update(p),
    });
    line.done();
    const elapsed = result.finishedAt.getTime() - result.startedAt.getTime();
    const t = result.tally.totals;
    if (result.interrupted) {
      io.out(
        `Stopped: ${t.deliveries} deliveries read, ${t.repaired} rows written in ${formatDuration(elapsed)}. ` +
          `Run the same command to continue (checkpoint ${checkpoint?.file}).\n`,
      );
      return 130;
    }
    io.out(renderResult({ result, settings, mode: dryRun ? 'dry-run' : 'repair' }));
    const before = result.resumed;
    io.out(
      `Done in ${formatDuration(elapsed)}: ${t.deliveries.toLocaleString('en-US')} deliveries, ` +
        `${t.repaired.toLocaleString('en-US')} rows ${dryRun ? 'to write' : 'written'}` +
        (before === undefined
          ? ''
          : ` (plus ${before.deliveries} deliveries and ${before.written} rows before the interruption)`) +
        `, ${result.apiRequests} App API requests (${((result.apiRequests * 1000) / Math.max(elapsed, 1)).toFixed(1)}/s).\n`,
    );
    checkpoint?.remove();
    return result.invalidRows.length > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
