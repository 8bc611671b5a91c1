// cioReconcile: the scheduled side of completeness, private (Cloud Scheduler's identity is its only invoker). A POST
// with {"check": "reconcile"} compares the last RECONCILE_DAYS of deliveries with Customer.io's record and writes
// the run to BigQuery; {"check": "stall"} looks for a stream Customer.io is holding back. Configuration is read and
// the clients are built once per instance, at load. See shared/reconcile/scheduled.ts.
import { BigQuery } from '@google-cloud/bigquery';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { loadReconcileConfig } from '../shared/config';
import { AppApiClient } from '../shared/customerio/app-api/client';
import { createLogger } from '../shared/log';
import { readBody, type BodyResult } from '../shared/request-body';
import { requestedCheck, scheduledReconcile, stallCheck } from '../shared/reconcile/scheduled';
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

/** Cloud Scheduler's bodies are a few bytes. */
const limits = { maxBytes: 64 * 1024 };

export const cioReconcile: HttpFunction = async (req, res) => {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').send('POST {"check": "reconcile" | "stall"}');
    return;
  }
  const body = await new Promise<BodyResult>((resolve) => readBody(req, limits, resolve));
  if (!body.ok) {
    logger.warn('request body refused', { reason: body.failure, body_bytes: body.bytes });
    if (body.failure !== 'aborted') res.status(body.failure === 'compressed' ? 415 : 413).send(body.failure);
    return;
  }
  body.release();
  const request = requestedCheck(body.body);
  if (!request.ok) {
    res.status(400).send(request.detail);
    return;
  }
  const { check } = request;
  const outcomes = check === 'stall' ? await stallCheck(deps) : await scheduledReconcile(deps);
  // A failed run answers 500, so Cloud Scheduler shows (and retries) it; drift and stalls are alerted on through
  // the log lines, not the status.
  const failed = outcomes.some((o) => o.outcome === 'reconcile_failed');
  res.status(failed ? 500 : 200).json({ check, outcomes });
};
