// Where `reconcile` and `backfill` read and write: the App API of one workspace (CIO_APP_API_KEY /
// CIO_WORKSPACE_APP_API_KEYS, or the local stack's stand-in) and the warehouse (BigQuery with --project, else the
// local stack's), and what the workspace's reporting webhooks send.

import fs from 'node:fs';
import { BigQuery } from '@google-cloud/bigquery';
import { ConfigError, ENV, loadAppApiConfig } from '../../../shared/config';
import { DEFAULT_WORKSPACE, WORKSPACE_LABEL } from '../../../shared/workspace';
import { AppApiClient } from '../../../shared/customerio/app-api/client';
import { ReconcileWarehouse } from '../../../shared/reconcile/warehouse';
import { readStackState } from '../../local/stack-state';
import { stringOption, UsageError, type Io, type OptionSpec, type ParsedValues } from '../args';

export const TARGET_OPTIONS: Record<string, OptionSpec> = {
  workspace: { type: 'string' },
  project: { type: 'string' },
  dataset: { type: 'string' },
  table: { type: 'string' },
};

export const TARGET_HELP = `  --workspace LABEL      the Customer.io workspace (default: default, whose App API key is $${ENV.appApiKey};
                         others take theirs from $${ENV.workspaceAppApiKeys})
  --project ID           the warehouse is BigQuery in this project (your Google credentials); without it, the
                         local stack started by \`npm start\` (and its App API stand-in when no key is set)
  --dataset NAME         dataset of the events table (default $${ENV.bqDataset}, else customerio)
  --table NAME           the events table (default $${ENV.bqTable}, else events)`;

export interface Target {
  client: AppApiClient;
  warehouse: ReconcileWarehouse;
  bigquery: BigQuery;
  /** The local stack (shorter default settle time). */
  local: boolean;
  /** Where the App API is: Customer.io's host or the stand-in. */
  appApiLabel: string;
}

const BQ_ID = /^[A-Za-z0-9_]{1,1024}$/;
const PROJECT_ID = /^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/;

export function resolveTarget(
  values: ParsedValues,
  io: Io,
  onRetry?: ConstructorParameters<typeof AppApiClient>[0]['onRetry'],
): Target {
  const workspace = stringOption(values, 'workspace') ?? DEFAULT_WORKSPACE;
  if (!WORKSPACE_LABEL.test(workspace))
    throw new UsageError(`--workspace "${workspace}" is not a workspace label`);
  const project = stringOption(values, 'project');
  const state = project === undefined ? readStackState(io.localDir) : undefined;
  if (project === undefined && state === undefined) {
    throw new UsageError('no --project given and no local stack is running (start one with `npm start`)');
  }
  if (project !== undefined && !PROJECT_ID.test(project))
    throw new UsageError(`--project "${project}" is not a project id`);
  const datasetId =
    stringOption(values, 'dataset') ?? (io.env[ENV.bqDataset]?.trim() || state?.dataset || 'customerio');
  const eventsTable = stringOption(values, 'table') ?? (io.env[ENV.bqTable]?.trim() || 'events');
  for (const [flag, id] of [
    ['--dataset', datasetId],
    ['--table', eventsTable],
  ] as const) {
    if (!BQ_ID.test(id)) throw new UsageError(`${flag} "${id}" is not a BigQuery name`);
  }

  let config;
  try {
    config = loadAppApiConfig(io.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  let ws = config.workspaces.get(workspace);
  let baseUrl = config.url;
  if (
    ws === undefined &&
    state?.appApiUrl !== undefined &&
    state.appApiKeyFile !== undefined &&
    workspace === DEFAULT_WORKSPACE
  ) {
    // The local stack's stand-in, fed by `cio-webhooks send`.
    ws = { label: workspace, key: fs.readFileSync(state.appApiKeyFile, 'utf8').trim(), region: 'us' };
    baseUrl = state.appApiUrl;
  }
  if (ws === undefined) {
    throw new UsageError(
      workspace === DEFAULT_WORKSPACE
        ? `no App API key: set ${ENV.appApiKey} (Customer.io: Settings → API Credentials → App API Keys; read access to Messages)`
        : `no App API key for workspace "${workspace}": add it to ${ENV.workspaceAppApiKeys} ({"${workspace}": "<key>"})`,
    );
  }
  const client = new AppApiClient({ workspace: ws, baseUrl, onRetry });

  let bigquery: BigQuery;
  let projectId: string;
  if (project !== undefined) {
    projectId = project;
    bigquery = new BigQuery({ projectId });
  } else {
    projectId = state!.projectId;
    // The local warehouse ignores credentials: do not let the auth library probe for a metadata server first.
    process.env.METADATA_SERVER_DETECTION = 'none';
    bigquery = new BigQuery({ projectId, apiEndpoint: state!.bigqueryEmulatorHost });
  }
  return {
    client,
    bigquery,
    warehouse: new ReconcileWarehouse({ bigquery, projectId, datasetId, eventsTable }),
    local: project === undefined,
    appApiLabel: baseUrl === undefined ? client.baseUrl : `${client.baseUrl} (override)`,
  };
}
