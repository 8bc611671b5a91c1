// Every SQL text the project runs against BigQuery, in one list: the analytics views as Terraform deploys them, the
// report's queries, and the examples of the README and of `cio-webhooks query --help`. The dialect test (test/warehouse/bigquery-dialect.test.ts) checks each
// for the constructs where BigQuery and DuckDB disagree, and `cio-webhooks check-sql` dry-runs each against a
// deployed dataset. SQL that a new feature runs against BigQuery joins the list as one more entry of SOURCES.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RECONCILE_PARAM_TYPES, reconcileQueries } from '../../../shared/reconcile/warehouse';
import { renderViews } from '../../../shared/warehouse/views';
import { QUERY_HELP } from '../query-command';
import { parsePeriod, reportQueries } from '../report/data';
import { repoRoot } from '../../repo-root';
import { forTarget, sqlInMarkdown, type ExampleTables } from './readme';

export interface SqlStatement {
  /** Unique and stable: `view events_unique`, `report funnels`, `README "Analytics" 2`. */
  name: string;
  /** Where the text lives: a repository path, with `:line` for the README. */
  origin: string;
  sql: string;
  /** The query parameters it is run with (values for a dry run, and their BigQuery types). */
  params?: { values: Record<string, unknown>; types: Record<string, string | string[]> };
}

/** The deployment the statements are written for (the Terraform variables of the same names). */
export interface BigQueryTarget {
  projectId: string;
  datasetId: string;
  /** BQ_TABLE / bq_events_table. */
  eventsTable: string;
  /** BQ_REJECTS_TABLE / bq_rejects_table. */
  rejectsTable: string;
}

type StatementSource = (target: BigQueryTarget, now: Date) => SqlStatement[];

const SOURCES: readonly StatementSource[] = [
  viewStatements,
  reportStatements,
  reconcileStatements,
  readmeStatements,
  helpStatements,
];

/** Every statement, with fully qualified table names for `target`; `now` fixes the report's period. */
export function bigQueryStatements(target: BigQueryTarget, now: Date = new Date()): SqlStatement[] {
  const statements = SOURCES.flatMap((source) => source(target, now));
  const names = new Set<string>();
  for (const { name } of statements) {
    if (names.has(name)) throw new Error(`Two SQL statements are named "${name}"`);
    names.add(name);
  }
  return statements;
}

const qualify =
  ({ projectId, datasetId }: BigQueryTarget) =>
  (id: string): string =>
    `\`${projectId}.${datasetId}.${id}\``;

/** The views' SELECTs exactly as terraform/views_order.tf renders them (`view_sql`). */
function viewStatements(target: BigQueryTarget): SqlStatement[] {
  return renderViews(qualify(target), target.eventsTable).map((view) => ({
    name: `view ${view.name}`,
    origin: `shared/warehouse/views/${view.name}.sql`,
    sql: view.sql,
  }));
}

function reportStatements(target: BigQueryTarget, now: Date): SqlStatement[] {
  const queries = reportQueries(qualify(target), parsePeriod('7d', now));
  return Object.entries(queries).map(([name, sql]) => ({
    name: `report ${name}`,
    origin: 'scripts/cli/report/data.ts',
    sql,
  }));
}

/** What reconcile, backfill and the scheduled cioReconcile ask the events table. */
function reconcileStatements(target: BigQueryTarget, now: Date): SqlStatement[] {
  const queries = reconcileQueries(qualify(target)(target.eventsTable));
  return (Object.keys(queries) as Array<keyof typeof queries>).map((name) => {
    const types = RECONCILE_PARAM_TYPES[name];
    const values = Object.fromEntries(
      Object.entries(types).map(([param, type]) => [param, sampleValue(type, now)]),
    );
    return {
      name: `reconcile ${name}`,
      origin: 'shared/reconcile/warehouse.ts',
      sql: queries[name],
      params: { values, types },
    };
  });
}

/** A value of a parameter's type, for a dry run (which reads nothing, so any value of the type will do). */
function sampleValue(type: string | string[], now: Date): unknown {
  if (Array.isArray(type)) return type.map((t) => sampleValue(t, now));
  if (type === 'TIMESTAMP') return now;
  if (type === 'STRING') return 'default';
  throw new Error(`no sample value for a ${type} parameter`);
}

function readmeStatements(target: BigQueryTarget): SqlStatement[] {
  const readme = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
  const perSection = new Map<string, number>();
  return sqlInMarkdown(readme).map(({ line, section, sql }) => {
    const n = (perSection.get(section) ?? 0) + 1;
    perSection.set(section, n);
    return {
      name: `README "${section}" ${n}`,
      origin: `README.md:${line}`,
      sql: forTarget(sql, exampleTables(target)),
    };
  });
}

function helpStatements(target: BigQueryTarget): SqlStatement[] {
  return sqlInMarkdown(QUERY_HELP).map(({ sql }, i) => ({
    name: `query --help ${i + 1}`,
    origin: 'scripts/cli/query-command.ts',
    sql: forTarget(sql, exampleTables(target)),
  }));
}

/** Examples are written for the default names (dataset customerio, tables events and rejected_events). */
const exampleTables = (target: BigQueryTarget): ExampleTables => ({
  projectId: target.projectId,
  datasetId: target.datasetId,
  tables: { events: target.eventsTable, rejected_events: target.rejectsTable },
});
