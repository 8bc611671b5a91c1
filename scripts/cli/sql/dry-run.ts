// Dry runs of the project's SQL against a deployed dataset, through the official BigQuery client: BigQuery parses,
// resolves and plans each statement against the real tables and views, reads nothing and bills nothing. What the
// DuckDB-backed tests cannot prove (that BigQuery itself accepts the SQL), this does, for one deployment.
import type { BigQuery } from '@google-cloud/bigquery';
import { bigQueryStatements, type BigQueryTarget, type SqlStatement } from './statements';

export type DryRunResult = SqlStatement &
  (
    | {
        accepted: true;
        /** What running it would scan now (the dry run's totalBytesProcessed). */
        bytesProcessed: number;
      }
    | {
        accepted: false;
        /** BigQuery's reason: invalidQuery, notFound, ... */
        reason: string;
        /** BigQuery's message, e.g. "Aggregations of aggregations are not allowed at [4:20]". */
        message: string;
      }
  );

/** Reasons that are the statement's fault (or the deployment's: a missing table), not the caller's access. */
const REFUSALS = new Set(['invalidQuery', 'invalid', 'notFound']);

/**
 * Dry-runs each statement, all at once. A statement BigQuery refuses is a result (accepted: false); any other
 * failure (credentials, permissions, quota, network) rejects, once every dry run has settled, since it says nothing
 * about the SQL.
 */
export async function dryRunStatements(
  bigquery: BigQuery,
  statements: readonly SqlStatement[],
): Promise<DryRunResult[]> {
  const settled = await Promise.allSettled(
    statements.map(async (statement): Promise<DryRunResult> => {
      try {
        const [job] = await bigquery.createQueryJob({
          query: statement.sql,
          ...(statement.params !== undefined && {
            params: statement.params.values,
            types: statement.params.types,
          }),
          useLegacySql: false,
          dryRun: true,
        });
        const bytes = Number(job.metadata?.statistics?.query?.totalBytesProcessed ?? 0);
        return { ...statement, accepted: true, bytesProcessed: bytes };
      } catch (e) {
        const refusal = asRefusal(e);
        if (refusal === undefined) throw e;
        return { ...statement, accepted: false, ...refusal };
      }
    }),
  );
  return settled.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
}

export interface CheckBigQuerySqlOptions {
  /** A client for the deployment's project (its projectId is where the dry-run jobs are created). */
  bigquery: BigQuery;
  projectId: string;
  datasetId: string;
  /** Default `events` (BQ_TABLE). */
  eventsTable?: string;
  /** Default `rejected_events` (BQ_REJECTS_TABLE). */
  rejectsTable?: string;
}

/** Every SQL text of the project (statements.ts), dry-run against one deployed dataset, in the list's order. */
export function checkBigQuerySql({
  bigquery,
  projectId,
  datasetId,
  eventsTable = 'events',
  rejectsTable = 'rejected_events',
}: CheckBigQuerySqlOptions): Promise<DryRunResult[]> {
  const target: BigQueryTarget = { projectId, datasetId, eventsTable, rejectsTable };
  return dryRunStatements(bigquery, bigQueryStatements(target));
}

/** BigQuery's refusal of a statement, from the client's ApiError (HTTP 400/404 with errors[].reason). */
function asRefusal(e: unknown): { reason: string; message: string } | undefined {
  if (!(e instanceof Error)) return undefined;
  const { code, errors } = e as Error & {
    code?: unknown;
    errors?: { reason?: unknown; message?: unknown }[];
  };
  const first = Array.isArray(errors) ? errors[0] : undefined;
  const reason = typeof first?.reason === 'string' ? first.reason : undefined;
  const refused = reason === undefined ? code === 400 || code === 404 : REFUSALS.has(reason);
  if (!refused) return undefined;
  const message = typeof first?.message === 'string' && first.message !== '' ? first.message : e.message;
  return { reason: reason ?? (code === 404 ? 'notFound' : 'invalidQuery'), message };
}
