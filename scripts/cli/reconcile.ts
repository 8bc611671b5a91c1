// `cio-webhooks reconcile`: compares the warehouse with Customer.io's own record (App API) of the deliveries created
// in a window, prints the drift, writes the run to reconcile_runs / reconcile_drift, and with --repair writes what
// the warehouse lacks. Exit 0: drift within the threshold; 3: over it; 1: the run failed.

import { parseShare } from '../../shared/config';
import { checkKeyWorkspace, driftRecords, runRecord, runStatus } from '../../shared/reconcile/records';
import { runReconciliation } from '../../shared/reconcile/run';
import { RECONCILE_DRIFT, RECONCILE_RUNS } from '../../shared/reconcile/warehouse';
import { parseCommandLine, stringOption, UsageError, type Io } from './args';
import { percent, renderResult } from './completeness/print';
import { ProgressLine } from './completeness/progress';
import { webhookSettings } from '../../shared/reconcile/webhook-settings';
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from './completeness/target';
import { isoMinute, parseDuration, parseWindow } from './completeness/window';

export const RECONCILE_HELP = `Usage: cio-webhooks reconcile [--since 7d] [--until TIME] [--workspace LABEL] [--threshold 0.1%] [--repair]

Compares the warehouse with Customer.io's own record of every delivery created in the window (the App API: the
first occurrence of each metric of each delivery), per day, channel, metric and parent, prints where they differ
with delivery ids, and writes the run to the reconcile_runs and reconcile_drift tables.

Options:
  --since TIME           deliveries created from (default 7d): 7d, 36h, 90m before now, 2025-01-31 (UTC), or an
                         ISO time with a zone
  --until TIME           ... until (default now)
  --threshold SHARE      exit 3 when drift (missing here + only here, over what Customer.io records) is above it:
                         0.001 or 0.1% (default 0.1%)
  --settle DURATION      first occurrences younger than this are not judged: their webhook may still be on its way
                         (default 60m; 2m on the local stack)
  --repair               also write what the warehouse lacks, as rows with source = 'app_api' (a second run adds
                         nothing); no Track API call is made for them
  --all                  list every group, not only those that differ
${TARGET_HELP}
  -h, --help             show this help

Exit status: 0 drift within the threshold, 3 over it, 1 the run failed, 2 a wrong command line.`;

export const DRIFT_EXIT = 3;

export async function runReconcileCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    since: { type: 'string' },
    until: { type: 'string' },
    threshold: { type: 'string' },
    settle: { type: 'string' },
    repair: { type: 'boolean' },
    all: { type: 'boolean' },
    ...TARGET_OPTIONS,
  });
  if (values.help === true) {
    io.out(RECONCILE_HELP + '\n');
    return 0;
  }
  const now = new Date();
  const window = parseWindow(stringOption(values, 'since') ?? '7d', stringOption(values, 'until'), now);
  const rawThreshold = stringOption(values, 'threshold');
  const threshold = rawThreshold === undefined ? 0.001 : parseShare(rawThreshold);
  if (threshold === undefined)
    throw new UsageError(`--threshold must be a share (0.001) or a percentage (0.1%), got "${rawThreshold}"`);
  const target = resolveTarget(values, io);
  const rawSettle = stringOption(values, 'settle');
  const settle = rawSettle === undefined ? (target.local ? 120 : 3600) : parseDuration(rawSettle);
  if (settle === undefined)
    throw new UsageError(`--settle must be a duration (60m, 2h, 0), got "${rawSettle}"`);
  const settledBefore = Math.min(window.end, Math.floor(now.getTime() / 1000) - settle);
  const repair = values.repair === true;

  io.out(
    `Reconciling workspace ${target.client.workspace}: deliveries created ${isoMinute(window.start)} .. ` +
      `${isoMinute(window.end)}\n  Customer.io's record: ${target.appApiLabel}\n  warehouse: ${target.warehouse.label}\n`,
  );
  const settings = await webhookSettings(target.client);
  const check = await checkKeyWorkspace(target.client, target.warehouse, settledBefore);
  if (!check.checked) {
    io.out(
      "  (the key's workspace could not be checked: no webhook deliveries in the warehouse in the 6 hours before the cutoff)\n",
    );
  }
  const line = new ProgressLine(io, repair ? 'written' : 'to repair');
  const result = await runReconciliation({
    client: target.client,
    warehouse: target.warehouse,
    window,
    settledBefore,
    repair,
    subscribed: settings.subscribed,
    onProgress: (p) => line.update(p),
  });
  line.done();
  io.out(
    renderResult({
      result,
      threshold,
      settings,
      mode: repair ? 'repair' : 'compare',
      all: values.all === true,
    }),
  );
  await target.warehouse.recordRun(runRecord(result, threshold, 'cli'), driftRecords(result));
  io.out(
    `Run ${result.runId} written to ${RECONCILE_RUNS} and ${RECONCILE_DRIFT} ` +
      `(${result.apiRequests} App API requests in ${((result.finishedAt.getTime() - result.startedAt.getTime()) / 1000).toFixed(1)} s).\n`,
  );
  if (runStatus(result, threshold) === 'drift') {
    io.err(`drift ${percent(result.tally.drift)} is over the threshold ${percent(threshold)}\n`);
    return DRIFT_EXIT;
  }
  return 0;
}
