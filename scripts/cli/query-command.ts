// `cio-webhooks query "SQL"`: the command-line side of runQuery (query.ts). Without --project it queries the
// warehouse of the running local stack; with --project, BigQuery itself.

import { BigQuery } from '@google-cloud/bigquery';
import { readStackState } from '../local/stack-state';
import { parseCommandLine, stringOption, UsageError, type Io } from './args';
import { runQuery } from './query';

export const QUERY_HELP = `Usage: cio-webhooks query "SQL" [--project ID]

Runs one SQL statement and prints the result as a table.

Without --project it queries the local warehouse of the stack started by \`npm start\` (DuckDB behind the BigQuery
API; BigQuery spellings such as backticked names, SAFE_CAST and TIMESTAMP_SECONDS are translated), e.g.
  cio-webhooks query "select metric, count(*) as n from customerio.events group by 1 order by 2 desc"

Options:
  --project ID   query BigQuery in this project with your Google credentials
                 ($BIGQUERY_EMULATOR_HOST, if set, redirects the client)
  -h, --help     show this help`;

export async function runQueryCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      help: { type: 'boolean', short: 'h' },
      project: { type: 'string' },
    },
    true,
  );
  if (values.help === true) {
    io.out(QUERY_HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1 || positionals[0].trim() === '') {
    throw new UsageError('give exactly one SQL statement, quoted: cio-webhooks query "select ..."');
  }
  const project = stringOption(values, 'project');
  let projectId: string;
  let bigquery: BigQuery;
  if (project !== undefined) {
    projectId = project;
    bigquery = new BigQuery({ projectId });
  } else {
    const state = readStackState(io.localDir);
    if (state === undefined) {
      throw new UsageError('no --project given and no local stack is running (start one with `npm start`)');
    }
    projectId = state.projectId;
    // The local warehouse ignores credentials: do not let the auth library probe for a metadata server first.
    process.env.METADATA_SERVER_DETECTION = 'none';
    bigquery = new BigQuery({ projectId, apiEndpoint: state.bigqueryEmulatorHost });
  }
  await runQuery(positionals[0], { projectId, bigquery, out: (line) => io.out(line + '\n') });
  return 0;
}
