// What cioReconcile does when Cloud Scheduler calls it, per workspace with an App API key:
// - `reconcile` (daily): the last RECONCILE_DAYS of deliveries compared (and repaired with RECONCILE_REPAIR), the
//   run written to reconcile_runs / reconcile_drift, and one log line whose outcome the alerts count:
//   reconcile_ok (INFO), reconcile_drift (ERROR: over RECONCILE_DRIFT_THRESHOLD), reconcile_failed (ERROR).
// - `stall` (every few minutes): when no webhook event has arrived for STALL_AFTER_MINUTES and Customer.io created
//   deliveries in that time, a `stall` line at ERROR (the stream is held back: a failing endpoint, a disabled or
//   misconfigured webhook); `stream_flowing` or `quiet` (nothing was sent, so nothing was expected) otherwise.

import type { ReconcileConfig } from '../config';
import { AppApiError, type AppApiClient } from '../customerio/app-api/client';
import { deliveryPages } from '../customerio/app-api/deliveries';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import { checkKeyWorkspace, driftRecords, runRecord, runStatus } from './records';
import { runReconciliation } from './run';
import type { ReconcileWarehouse } from './warehouse';
import { webhookSettings } from './webhook-settings';

export interface ScheduledDeps {
  config: Pick<ReconcileConfig, 'days' | 'threshold' | 'repair' | 'settleMinutes' | 'stallMinutes'>;
  warehouse: ReconcileWarehouse;
  /** One per workspace. */
  clients: readonly AppApiClient[];
  logger: Logger;
  now?: () => Date;
}

export interface WorkspaceOutcome {
  workspace: string;
  outcome: 'reconcile_ok' | 'reconcile_drift' | 'reconcile_failed' | 'stall' | 'stream_flowing' | 'quiet';
  [field: string]: unknown;
}

const DAY = 86400;

export type Check = 'reconcile' | 'stall';

/**
 * The check a request asks for: its body's `check` (`{"check": "stall"}`), `reconcile` for an empty body. The
 * function reads the exact bytes (the framework's parsers are off), so this is where the body is parsed.
 */
export function requestedCheck(body: Buffer): { ok: true; check: Check } | { ok: false; detail: string } {
  if (body.toString('utf8').trim() === '') return { ok: true, check: 'reconcile' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, detail: 'the body is not JSON: POST {"check": "reconcile" | "stall"}' };
  }
  const check =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? ((parsed as { check?: unknown }).check ?? 'reconcile')
      : undefined;
  if (check === 'reconcile' || check === 'stall') return { ok: true, check };
  return { ok: false, detail: 'check must be "reconcile" or "stall": POST {"check": "reconcile" | "stall"}' };
}

export async function scheduledReconcile(deps: ScheduledDeps): Promise<WorkspaceOutcome[]> {
  const outcomes: WorkspaceOutcome[] = [];
  for (const client of deps.clients) {
    const startedAt = (deps.now ?? (() => new Date()))();
    const settledBefore = Math.floor(startedAt.getTime() / 1000) - deps.config.settleMinutes * 60;
    const window = { start: settledBefore - deps.config.days * DAY, end: settledBefore };
    try {
      const settings = await webhookSettings(client);
      await checkKeyWorkspace(client, deps.warehouse, settledBefore);
      const result = await runReconciliation({
        client,
        warehouse: deps.warehouse,
        window,
        settledBefore,
        repair: deps.config.repair,
        subscribed: settings.subscribed,
        now: deps.now,
      });
      const record = runRecord(result, deps.config.threshold, 'schedule');
      await deps.warehouse.recordRun(record, driftRecords(result));
      const status = runStatus(result, deps.config.threshold);
      const t = result.tally.totals;
      const outcome: WorkspaceOutcome = {
        workspace: client.workspace,
        outcome: status === 'drift' ? 'reconcile_drift' : 'reconcile_ok',
        run_id: result.runId,
        drift: result.tally.drift ?? null,
        threshold: deps.config.threshold,
        judged: t.judged,
        missing_here: t.missingHere,
        only_here: t.onlyHere,
        repaired: t.repaired,
        deliveries: t.deliveries,
        api_requests: result.apiRequests,
        window_start: record.window_start,
        window_end: record.window_end,
      };
      const message =
        status === 'drift'
          ? `reconcile: drift ${pct(result.tally.drift)} over the threshold ${pct(deps.config.threshold)} ` +
            `(${t.missingHere} missing here, ${t.onlyHere} only here of ${t.judged})`
          : `reconcile: drift ${pct(result.tally.drift)} (${t.judged} first occurrences judged)`;
      if (status === 'drift') deps.logger.error(message, outcome);
      else deps.logger.info(message, outcome);
      outcomes.push(outcome);
    } catch (err) {
      const outcome: WorkspaceOutcome = {
        workspace: client.workspace,
        outcome: 'reconcile_failed',
        error: errorMessage(err),
        ...(err instanceof AppApiError && { kind: err.kind, retryable: err.retryable }),
      };
      deps.logger.error(`reconcile failed: ${errorMessage(err)}`, outcome);
      // The failure is a result too: the report and anyone querying reconcile_runs see it.
      await deps.warehouse
        .recordRun(
          {
            run_id: `${startedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-failed`,
            workspace: client.workspace,
            started_at: startedAt.toISOString(),
            finished_at: null,
            trigger: 'schedule',
            window_start: new Date(window.start * 1000).toISOString(),
            window_end: new Date(window.end * 1000).toISOString(),
            settled_before: new Date(settledBefore * 1000).toISOString(),
            status: 'failed',
            threshold: deps.config.threshold,
            deliveries: 0,
            judged: 0,
            matched: 0,
            missing_here: 0,
            only_here: 0,
            repaired: 0,
            drift: null,
            not_judged: '{}',
            api_requests: client.stats.requests,
            error: errorMessage(err).slice(0, 2000),
          },
          [],
        )
        .catch((recordErr: unknown) =>
          deps.logger.warn('could not record the failed run', { error: errorMessage(recordErr) }),
        );
      outcomes.push(outcome);
    }
  }
  return outcomes;
}

export async function stallCheck(deps: ScheduledDeps): Promise<WorkspaceOutcome[]> {
  const now = (deps.now ?? (() => new Date()))();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const stallSeconds = deps.config.stallMinutes * 60;
  const outcomes: WorkspaceOutcome[] = [];
  for (const client of deps.clients) {
    // Each workspace has its own stream: one that stalls is not hidden by another that flows.
    const last = await deps.warehouse.lastReceived(
      client.workspace,
      new Date((nowSeconds - stallSeconds - DAY) * 1000),
    );
    const silentSeconds =
      last.at === undefined ? undefined : nowSeconds - Math.floor(last.at.getTime() / 1000);
    const fields = {
      workspace: client.workspace,
      last_event_received_at: last.at?.toISOString() ?? null,
      minutes_since_last_event: silentSeconds === undefined ? null : Math.floor(silentSeconds / 60),
      stall_after_minutes: deps.config.stallMinutes,
    };
    if (silentSeconds !== undefined && silentSeconds < stallSeconds) {
      deps.logger.debug('stall check: events are arriving', { outcome: 'stream_flowing', ...fields });
      outcomes.push({ outcome: 'stream_flowing', ...fields });
      continue;
    }
    // Deliveries created in the silent period, older than 2 minutes (their first event has had time to arrive).
    const pages = deliveryPages(
      client,
      { start: nowSeconds - stallSeconds, end: nowSeconds - 120 },
      { limit: 100 },
    );
    const first = await pages.next();
    await pages.return(undefined);
    const created = first.done === true ? 0 : first.value.deliveries.length;
    if (created === 0) {
      deps.logger.info('stall check: no events, and Customer.io created no deliveries either', {
        outcome: 'quiet',
        ...fields,
      });
      outcomes.push({ outcome: 'quiet', ...fields });
      continue;
    }
    const outcome: WorkspaceOutcome = { outcome: 'stall', ...fields, deliveries_created: created };
    deps.logger.error(
      `stall: no webhook event for ${fields.minutes_since_last_event ?? 'over ' + deps.config.stallMinutes} minutes ` +
        `while Customer.io created ${created}${created === 100 ? '+' : ''} deliveries: Customer.io is holding the ` +
        'stream back (see Troubleshooting: the webhook answering non-2xx, a disabled or re-pointed reporting webhook)',
      outcome,
    );
    outcomes.push(outcome);
  }
  return outcomes;
}

const pct = (share: number | undefined): string =>
  share === undefined ? 'n/a' : `${(share * 100).toFixed(3)}%`;
