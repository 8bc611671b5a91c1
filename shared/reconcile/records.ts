// A finished run as the rows of reconcile_runs and reconcile_drift, and the check that the App API key belongs to
// the workspace whose webhook feeds this warehouse (a key of another workspace would find every delivery
// "missing", and a repair would copy another workspace's deliveries in).

import { ENV } from '../config';
import type { AppApiClient } from '../customerio/app-api/client';
import { deliveryPages } from '../customerio/app-api/deliveries';
import type { RunResult } from './run';
import type { DriftRecord, ReconcileWarehouse, RunRecord } from './warehouse';

export type RunStatus = 'ok' | 'drift';

export function runStatus(result: RunResult, threshold: number): RunStatus {
  const drift = result.tally.drift;
  return drift !== undefined && drift > threshold ? 'drift' : 'ok';
}

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

export function runRecord(result: RunResult, threshold: number, trigger: string): RunRecord {
  const t = result.tally.totals;
  return {
    run_id: result.runId,
    workspace: result.workspace,
    started_at: result.startedAt.toISOString(),
    finished_at: result.finishedAt.toISOString(),
    trigger,
    window_start: iso(result.window.start),
    window_end: iso(result.window.end),
    settled_before: iso(result.settledBefore),
    status: runStatus(result, threshold),
    threshold,
    deliveries: t.deliveries,
    judged: t.judged,
    matched: t.matched,
    missing_here: t.missingHere,
    only_here: t.onlyHere,
    repaired: t.repaired,
    drift: result.tally.drift ?? null,
    not_judged: JSON.stringify(Object.fromEntries(result.tally.notJudged)),
    api_requests: result.apiRequests,
    error: null,
  };
}

export function driftRecords(result: RunResult): DriftRecord[] {
  return result.tally.sortedGroups().map((g) => ({
    run_id: result.runId,
    workspace: result.workspace,
    run_started_at: result.startedAt.toISOString(),
    day: g.day,
    channel: g.channel,
    metric: g.metric,
    parent_type: g.parentType,
    customerio: g.customerio,
    matched: g.matched,
    missing_here: g.missingHere,
    only_here: g.onlyHere,
    repaired: g.repaired,
    sample_missing: g.sampleMissing,
    sample_only_here: g.sampleOnlyHere,
  }));
}

export class WorkspaceMismatchError extends Error {
  override name = 'WorkspaceMismatchError';
}

export interface WorkspaceCheck {
  /** false: nothing to compare in the period (no deliveries, or no webhook events yet). */
  checked: boolean;
  customerio: number;
  found: number;
  period: { start: number; end: number };
}

/**
 * Compares Customer.io's newest deliveries of the 6 hours before `settledBefore` with the warehouse: if the
 * warehouse holds webhook deliveries of that period and none of Customer.io's, the key is another workspace's.
 */
export async function checkKeyWorkspace(
  client: AppApiClient,
  warehouse: ReconcileWarehouse,
  settledBefore: number,
): Promise<WorkspaceCheck> {
  const period = { start: settledBefore - 6 * 3600, end: settledBefore };
  const pages = deliveryPages(client, period, { limit: 1000 });
  const first = await pages.next();
  await pages.return(undefined);
  const listed = first.done === true ? [] : first.value.deliveries;
  const sent = await warehouse.sentDeliveries(
    client.workspace,
    new Date(period.start * 1000),
    new Date(period.end * 1000),
  );
  if (listed.length === 0 || sent.length === 0) {
    return { checked: false, customerio: listed.length, found: 0, period };
  }
  const found = new Set(
    (
      await warehouse.facts(
        client.workspace,
        listed.map((d) => d.id),
        new Date((period.start - 86400) * 1000),
      )
    ).map((f) => f.deliveryId),
  ).size;
  if (found === 0) {
    const variable =
      client.workspace === 'default' ? ENV.appApiKey : `${ENV.workspaceAppApiKeys}["${client.workspace}"]`;
    throw new WorkspaceMismatchError(
      `the App API key of workspace ${client.workspace} (${variable}) lists ${listed.length} deliveries created ` +
        `${iso(period.start)} .. ${iso(period.end)} and the warehouse holds none of them, though its webhook sent ` +
        `${sent.length} deliveries then: the key belongs to another Customer.io workspace than the one whose ` +
        `reporting webhook feeds ${warehouse.label}. Use that workspace's App API key (another workspace: ` +
        '--workspace <label> with its key in ' +
        `${ENV.workspaceAppApiKeys}). Nothing was written.`,
    );
  }
  return { checked: true, customerio: listed.length, found, period };
}
