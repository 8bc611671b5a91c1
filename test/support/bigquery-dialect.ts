// A static check of SQL meant for BigQuery, for the constructs where BigQuery (GoogleSQL) and DuckDB (the local
// warehouse, and every view and report test) disagree: DuckDB accepts them, so the tests pass, and BigQuery refuses
// them or answers differently. No BigQuery runs here; `cio-webhooks check-sql` dry-runs the same statements against
// a real deployment.
//
// Parsing is sql-parser-cst's BigQuery dialect, which refuses DuckDB-only syntax (`x::INT`, `SELECT * EXCLUDE`,
// ILIKE, FROM-first queries, lambdas, `{...}` and `[...]` literals, `$1` parameters). The rules below cover what a
// parser cannot see. sql-parser-cst is a devDependency (GPL-2.0-or-later) used by tests only: nothing that ships
// imports this module. Known gap of its BigQuery dialect (0.42): it refuses `ORDER BY x NULLS FIRST|LAST`, which
// BigQuery accepts; write `ORDER BY x IS NULL, x` instead.
import { parse, type Node } from 'sql-parser-cst';

export type DialectRule =
  | 'syntax'
  | 'alias-in-aggregate'
  | 'group-by-alias'
  | 'division'
  | 'function'
  | 'date-part-string'
  | 'interval-unit';

export interface DialectProblem {
  rule: DialectRule;
  message: string;
  /** 1-based position in the statement. */
  line: number;
  column: number;
}

const AGGREGATES = new Set([
  'ANY_VALUE',
  'ARRAY_AGG',
  'AVG',
  'COUNT',
  'COUNTIF',
  'LOGICAL_AND',
  'LOGICAL_OR',
  'MAX',
  'MIN',
  'STRING_AGG',
  'SUM',
]);

/**
 * Functions checked against BigQuery's function reference (and DuckDB's: the views and the report run on both, and
 * where both have a function its meaning here is the same). A function outside the list is a problem until someone
 * checks it and adds it: DuckDB-only functions (strftime, list_*, epoch, date_part, regexp_matches ...) are the
 * usual way SQL that passes the tests fails on BigQuery.
 * REGEXP_EXTRACT: without a capture group on both engines; DuckDB answers '' where BigQuery answers NULL (NULLIF).
 * ARRAY_TO_STRING(array, delimiter), STARTS_WITH(text, prefix) and STRPOS(text, search) (1-based, 0 when absent): the
 * same on both.
 */
const FUNCTIONS = new Set([
  ...AGGREGATES,
  'ARRAY_TO_STRING',
  'COALESCE',
  'CURRENT_DATE',
  'CURRENT_TIMESTAMP',
  'DATE',
  'DATE_TRUNC',
  'GREATEST',
  'IFNULL',
  'JSON_VALUE',
  'LEAST',
  'LENGTH',
  'LOWER',
  'NULLIF',
  'REGEXP_EXTRACT',
  'ROUND',
  'ROW_NUMBER',
  'SAFE_CONVERT_BYTES_TO_STRING',
  'SAFE_DIVIDE',
  'STARTS_WITH',
  'STRPOS',
  'SUBSTR',
  'TIMESTAMP_SECONDS',
  'TIMESTAMP_TRUNC',
  'TRIM',
  'UPPER',
]);

/** BigQuery takes the date part of these as a keyword (DATE_TRUNC(d, MONTH)); DuckDB as a leading string. */
const DATE_PART_FUNCTIONS = new Set(['DATE_TRUNC', 'TIMESTAMP_TRUNC', 'DATE_DIFF', 'TIMESTAMP_DIFF']);

/** The problems of `sql` (one or more statements), in text order; [] when it is fine. */
export function bigQueryDialectProblems(sql: string): DialectProblem[] {
  let program: Node;
  try {
    program = parse(sql, { dialect: 'bigquery', includeRange: true, paramTypes: ['@name'] });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = /:(\d+):(\d+)\s*$/m.exec(message);
    return [
      {
        rule: 'syntax',
        message: `BigQuery's grammar refuses it: ${message.split('\n')[0]}`,
        line: at ? Number(at[1]) : 1,
        column: at ? Number(at[2]) : 1,
      },
    ];
  }
  const problems: { offset: number; rule: DialectRule; message: string }[] = [];
  const report = (node: Node, rule: DialectRule, message: string): void => {
    problems.push({ offset: node.range?.[0] ?? 0, rule, message });
  };

  for (const node of descendants(program)) {
    if (node.type === 'select_stmt') checkAliases(node, report);
    if (node.type === 'binary_expr' && node.operator === '/' && !guardedDivisor(node.right)) {
      report(
        node,
        'division',
        `division by ${text(sql, node.right)}: BigQuery raises "division by zero" where DuckDB returns NULL; ` +
          `divide by NULLIF(${text(sql, node.right)}, 0)`,
      );
    }
    if (node.type === 'func_call' && node.name.type === 'identifier') {
      const name = node.name.name.toUpperCase();
      const first = node.args?.expr.args.items[0];
      if (!FUNCTIONS.has(name)) {
        report(
          node,
          'function',
          `${name}() is not among the functions checked against BigQuery (DuckDB-only functions pass the tests ` +
            'and fail on BigQuery); if BigQuery has it with the same meaning, add it to FUNCTIONS',
        );
      } else if (DATE_PART_FUNCTIONS.has(name) && first?.type === 'string_literal') {
        report(
          node,
          'date-part-string',
          `${name}(${text(sql, first)}, …) is DuckDB's argument order: BigQuery takes the value first and the ` +
            'part as a keyword, e.g. DATE_TRUNC(d, MONTH)',
        );
      }
    }
    if (node.type === 'interval_literal' && node.unit === undefined) {
      report(
        node,
        'interval-unit',
        `${text(sql, node)}: BigQuery needs the unit as a keyword, e.g. INTERVAL 7 DAY`,
      );
    }
  }
  return problems
    .sort((a, b) => a.offset - b.offset)
    .map(({ offset, rule, message }) => ({ rule, message, ...position(sql, offset) }));
}

type Report = (node: Node, rule: DialectRule, message: string) => void;

/**
 * BigQuery resolves a name in GROUP BY, HAVING and ORDER BY to a SELECT-list alias before a column of the same name,
 * also inside an aggregate: with `SUM(sent) AS sent`, `ORDER BY SUM(sent)` is SUM(SUM(sent)) ("Aggregations of
 * aggregations are not allowed"). DuckDB binds the name inside the aggregate, and in GROUP BY, to the column.
 */
function checkAliases(select: Extract<Node, { type: 'select_stmt' }>, report: Report): void {
  const aliases = new Map<string, Node>();
  for (const clause of select.clauses) {
    if (clause.type !== 'select_clause') continue;
    for (const item of clause.columns?.items ?? []) {
      if (item.type === 'alias') aliases.set(item.alias.name.toLowerCase(), item.expr);
    }
  }
  if (aliases.size === 0) return;
  for (const clause of select.clauses) {
    if (clause.type === 'having_clause' || clause.type === 'order_by_clause') {
      const where = clause.type === 'having_clause' ? 'HAVING' : 'ORDER BY';
      for (const { node, inAggregate } of expressionNames(clause)) {
        if (inAggregate && aliases.has(node.name.toLowerCase())) {
          report(
            node,
            'alias-in-aggregate',
            `"${node.name}" inside an aggregate in ${where} is the SELECT alias on BigQuery (an aggregate of an ` +
              'aggregate, refused) and the column on DuckDB: filter and sort in an outer query, or rename the alias',
          );
        }
      }
    }
    // A GROUP BY item that is a bare name; inside a larger expression a name is a column on both engines.
    if (clause.type === 'group_by_clause' && clause.columns?.type === 'list_expr') {
      for (const item of clause.columns.items) {
        if (item.type !== 'identifier') continue;
        const aliased = aliases.get(item.name.toLowerCase());
        if (aliased === undefined || aliased.type === 'identifier') continue;
        const readsColumn = [...expressionNames(aliased)].some(
          (ref) => ref.node.name.toLowerCase() === item.name.toLowerCase(),
        );
        if (readsColumn) {
          report(
            item,
            'group-by-alias',
            `GROUP BY ${item.name}: BigQuery groups by the SELECT alias "${item.name}", DuckDB by the column it ` +
              'is computed from: group by the expression or rename the alias',
          );
        }
      }
    }
  }
}

type Identifier = Extract<Node, { type: 'identifier' }>;

/** Unqualified column names in `node` (not function names, not in subqueries), and whether inside an aggregate. */
function* expressionNames(
  node: Node,
  inAggregate = false,
): Generator<{ node: Identifier; inAggregate: boolean }> {
  switch (node.type) {
    case 'select_stmt':
    case 'member_expr':
    case 'interval_literal':
      return;
    case 'identifier':
      yield { node, inAggregate };
      return;
    case 'func_call': {
      const name = node.name.type === 'identifier' ? node.name.name.toUpperCase() : '';
      const aggregate = AGGREGATES.has(name) && node.over === undefined;
      if (node.args) yield* expressionNames(node.args, inAggregate || aggregate);
      if (node.over) yield* expressionNames(node.over, inAggregate);
      return;
    }
  }
  for (const child of children(node)) yield* expressionNames(child, inAggregate);
}

/** A divisor that cannot be zero (a non-zero number) or is NULL when it would be (NULLIF(x, 0)). */
function guardedDivisor(node: Node): boolean {
  if (node.type === 'paren_expr') return guardedDivisor(node.expr);
  if (node.type === 'number_literal') return node.value !== 0;
  if (node.type !== 'func_call' || node.name.type !== 'identifier') return false;
  if (node.name.name.toUpperCase() !== 'NULLIF') return false;
  const second = node.args?.expr.args.items[1];
  return second?.type === 'number_literal' && second.value === 0;
}

/** The direct child nodes of `node`. */
function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'range' || key === 'leading' || key === 'trailing') continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && typeof item === 'object' && typeof (item as { type?: unknown }).type === 'string')
        out.push(item as Node);
    }
  }
  return out;
}

function* descendants(node: Node): Generator<Node> {
  for (const child of children(node)) {
    yield child;
    yield* descendants(child);
  }
}

function text(sql: string, node: Node): string {
  return node.range ? sql.slice(node.range[0], node.range[1]).replace(/\s+/g, ' ') : node.type;
}

function position(sql: string, offset: number): { line: number; column: number } {
  const before = sql.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}
