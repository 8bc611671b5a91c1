// cioReconcile: the scheduled side of completeness, private (Cloud Scheduler's identity is its only invoker). A POST
// with {"check": "reconcile"} compares the last RECONCILE_DAYS of deliveries with Customer.io's record and writes
// the run to BigQuery; {"check": "stall"} looks for a stream Customer.io is holding back. Configuration is read and
// the clients are built once per instance, at load. See shared/reconcile/scheduled.ts.
import { BigQuery } from '@google-cloud/bigquery';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { loadReconcileConfig } from '../shared/config';
import { AppApiClient } from '../shared/customerio/app-api/client';
import { createLogger } from '../shared/log';
import { scheduledReconcile, stallCheck } from '../shared/reconcile/scheduled';
import { ReconcileWarehouse } from '../shared/reconcile/warehouse';

const config = loadReconcileConfig();
const logger = createLogger(config.logLevel, { function: 'cioReconcile' });
const bigquery = new BigQuery({ projectId: config.projectId });
const deps = {
  config,
  logger,
  warehouse: new ReconcileWarehouse({
    bigquery,
    projectId: config.projectId,
    datasetId: config.bqDataset,
    eventsTable: config.bqTable,
  }),
  clients: [...config.appApi.workspaces.values()].map(
    (workspace) => new AppApiClient({ workspace, baseUrl: config.appApi.url }),
  ),
};

export const cioReconcile: HttpFunction = async (req, res) => {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').send('POST {"check": "reconcile" | "stall"}');
    return;
  }
  const check = (req.body as { check?: unknown } | undefined)?.check ?? 'reconcile';
  if (check !== 'reconcile' && check !== 'stall') {
    res.status(400).send('check must be "reconcile" or "stall"');
    return;
  }
  const outcomes = check === 'stall' ? await stallCheck(deps) : await scheduledReconcile(deps);
  // A failed run answers 500, so Cloud Scheduler shows (and retries) it; drift and stalls are alerted on through
  // the log lines, not the status.
  const failed = outcomes.some((o) => o.outcome === 'reconcile_failed');
  res.status(failed ? 500 : 200).json({ check, outcomes });
};
