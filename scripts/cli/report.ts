// `cio-webhooks report`: a self-contained HTML deliverability report from the warehouse views (delivery funnel per
// message, daily bounce/complaint/unsubscribe rates against the bulk-sender thresholds, top bounce reasons, domains
// with complaints). Reads through the official BigQuery client: real BigQuery with --project (BIGQUERY_EMULATOR_HOST
// still redirects it), otherwise the warehouse of the running local stack.
//
// For the CLI dispatcher: `report: { load: async () => (await import('./report')).runReport }`.
import fs from 'node:fs';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { ENV } from '../../shared/config';
import { readStackState } from '../local/stack-state';
import { parseCommandLine, stringOption, UsageError, type Io } from './args';
import { loadReportData, parsePeriod, parseWorkspace } from './report/data';
import { renderHtml } from './report/html';
import { bigQuerySource, type WarehouseSource } from './report/source';

export interface RenderReportOptions {
  /** `7d` (the last 7 UTC days including today) or a start date `YYYY-MM-DD`. */
  since: string;
  source: WarehouseSource;
  /** Defaults to the current time; fixes "today" and the generated-at stamp. */
  now?: Date;
  /** Report one workspace (`default` or a label); default: every workspace together. */
  workspace?: string;
}

/** The report as one HTML document (inline CSS and SVG; opens offline). */
export async function renderReport({
  since,
  source,
  now = new Date(),
  workspace,
}: RenderReportOptions): Promise<string> {
  const period = parsePeriod(since, now);
  return renderHtml(await loadReportData(source, period, now, workspace));
}

export const REPORT_HELP = `Usage: cio-webhooks report [options]

Writes a self-contained HTML deliverability report (funnel per message, daily bounce/complaint/unsubscribe rates
against the Gmail/Yahoo thresholds, top bounce reasons, domains with complaints) from the warehouse views, and its
completeness: the last reconciliation with Customer.io's own record and how late events arrive.

Options:
  --since 7d|YYYY-MM-DD  the last N UTC days including today (default 7d), or from a date through today
  --out FILE             where to write the page (default report.html)
  --project ID           read BigQuery in this project (BIGQUERY_EMULATOR_HOST, if set, redirects the client);
                         without it, the local stack started by \`npm start\`
  --dataset NAME         dataset of the events table and views (default $${ENV.bqDataset}, else customerio)
  --workspace LABEL      only this Customer.io workspace (default, or a label of POST /<label>); default: all
  -h, --help             show this help`;

export const BQ_ID = /^[A-Za-z0-9_]{1,1024}$/;
export const PROJECT_ID = /^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/;

/** The `report` command (the dispatcher's Command signature): writes the page, prints where, returns 0. */
export async function runReport(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    since: { type: 'string' },
    out: { type: 'string' },
    project: { type: 'string' },
    dataset: { type: 'string' },
    workspace: { type: 'string' },
  });
  if (values.help === true) {
    io.out(REPORT_HELP + '\n');
    return 0;
  }
  const since = stringOption(values, 'since') ?? '7d';
  const workspace = parseWorkspace(stringOption(values, 'workspace'));
  const out = path.resolve(stringOption(values, 'out') ?? 'report.html');
  const source = reportSource(stringOption(values, 'project'), stringOption(values, 'dataset'), io);
  const html = await renderReport({ since, source, workspace });
  fs.writeFileSync(out, html);
  io.out(`wrote ${out} (${source.label})\n`);
  return 0;
}

function reportSource(project: string | undefined, dataset: string | undefined, io: Io): WarehouseSource {
  if (project !== undefined) {
    if (!PROJECT_ID.test(project)) throw new UsageError(`--project "${project}" is not a project id`);
    const datasetId = dataset ?? (io.env[ENV.bqDataset]?.trim() || 'customerio');
    if (!BQ_ID.test(datasetId)) throw new UsageError(`--dataset "${datasetId}" is not a dataset name`);
    return bigQuerySource({ projectId: project, datasetId });
  }
  const state = readStackState(io.localDir);
  if (state === undefined) {
    throw new UsageError('no --project given and no local stack is running (start one with `npm start`)');
  }
  const datasetId = dataset ?? state.dataset;
  if (!BQ_ID.test(datasetId)) throw new UsageError(`--dataset "${datasetId}" is not a dataset name`);
  // The local warehouse ignores credentials: do not let the auth library probe for a metadata server first.
  process.env.METADATA_SERVER_DETECTION = 'none';
  return bigQuerySource({
    projectId: state.projectId,
    datasetId,
    label: `local warehouse, dataset ${datasetId}`,
    bigquery: new BigQuery({ projectId: state.projectId, apiEndpoint: state.bigqueryEmulatorHost }),
  });
}
