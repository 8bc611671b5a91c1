// `cio-webhooks check-sql --project P`: dry-runs every SQL text the project runs against BigQuery (analytics views,
// report queries, README examples: scripts/cli/sql/statements.ts) against a deployed dataset and names the ones
// BigQuery refuses. The tests run the same SQL on DuckDB only; this is the check against BigQuery itself.
import { BigQuery } from '@google-cloud/bigquery';
import { ENV } from '../../shared/config';
import { parseCommandLine, stringOption, UsageError, type Io } from './args';
import { BQ_ID, PROJECT_ID } from './report';
import { checkBigQuerySql, type DryRunResult } from './sql/dry-run';

export const CHECK_SQL_HELP = `Usage: cio-webhooks check-sql --project ID [options]

Dry-runs every SQL statement the project runs against BigQuery (the analytics views as Terraform deploys them, the
report's queries, the README's examples) against a deployed dataset, and names any that BigQuery refuses, with
BigQuery's message. Dry runs are free: BigQuery checks and plans each statement against the dataset's tables and
views, and reads nothing.

Options:
  --project ID          the deployment's project, with your Google credentials
                        ($BIGQUERY_EMULATOR_HOST, if set, redirects the client)
  --dataset NAME        dataset of the events table and views (default $${ENV.bqDataset}, else customerio)
  --table NAME          the events table (default $${ENV.bqTable}, else events)
  --rejects-table NAME  the rejected-events table (default $${ENV.bqRejectsTable}, else rejected_events)
  -h, --help            show this help

Exit status: 0 when BigQuery accepts every statement, 1 when it refuses any.`;

export async function runCheckSql(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    project: { type: 'string' },
    dataset: { type: 'string' },
    table: { type: 'string' },
    'rejects-table': { type: 'string' },
  });
  if (values.help === true) {
    io.out(CHECK_SQL_HELP + '\n');
    return 0;
  }
  const projectId = stringOption(values, 'project');
  if (projectId === undefined)
    throw new UsageError('--project is required (the deployment to dry-run against)');
  if (!PROJECT_ID.test(projectId)) throw new UsageError(`--project "${projectId}" is not a project id`);
  const bqName = (flag: string, variable: string, fallback: string): string => {
    const value = stringOption(values, flag) ?? (io.env[variable]?.trim() || fallback);
    if (!BQ_ID.test(value)) throw new UsageError(`--${flag} "${value}" is not a BigQuery name`);
    return value;
  };
  const datasetId = bqName('dataset', ENV.bqDataset, 'customerio');
  const eventsTable = bqName('table', ENV.bqTable, 'events');
  const rejectsTable = bqName('rejects-table', ENV.bqRejectsTable, 'rejected_events');

  const results = await checkBigQuerySql({
    bigquery: new BigQuery({ projectId }),
    projectId,
    datasetId,
    eventsTable,
    rejectsTable,
  });
  io.out(formatResults(`${projectId}.${datasetId}`, results));
  return results.every((r) => r.accepted) ? 0 : 1;
}

/** One line per statement (a refused one adds BigQuery's message under it), then the count. */
export function formatResults(dataset: string, results: readonly DryRunResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = [`dry run of ${results.length} SQL statements against BigQuery ${dataset}:`];
  for (const r of results) {
    if (r.accepted) {
      lines.push(
        `  ok       ${r.name.padEnd(width)}  ${`scans ${bytes(r.bytesProcessed)}`.padEnd(16)}  ${r.origin}`,
      );
    } else {
      lines.push(`  REFUSED  ${r.name.padEnd(width)}  ${''.padEnd(16)}  ${r.origin}`);
      const message = `${r.reason}: ${r.message}`.split('\n').filter((line) => line.trim() !== '');
      for (const line of message) lines.push(`           ${line}`);
    }
  }
  const refused = results.filter((r) => !r.accepted).length;
  lines.push(
    refused === 0
      ? `BigQuery accepts all ${results.length}.`
      : `BigQuery refuses ${refused} of ${results.length}: the message's [line:column] points into that statement.`,
  );
  return lines.join('\n') + '\n';
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
