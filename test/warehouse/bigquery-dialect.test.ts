// "One SQL for both engines", checked where the tests cannot see it: every SQL text the project runs against
// BigQuery (scripts/cli/sql/statements.ts) is free of the constructs DuckDB accepts and BigQuery refuses or reads
// differently; and each rule of the check fails on its construct (no BigQuery runs here to prove it otherwise).
import { bigQueryStatements } from '../../scripts/cli/sql/statements';
import { bigQueryDialectProblems, type DialectRule } from '../support/bigquery-dialect';

const TARGET = {
  projectId: 'my-project',
  datasetId: 'customerio',
  eventsTable: 'events',
  rejectsTable: 'rejected_events',
};

const rules = (sql: string): DialectRule[] => bigQueryDialectProblems(sql).map((p) => p.rule);

describe('every SQL text the project runs against BigQuery', () => {
  const statements = bigQueryStatements(TARGET, new Date('2024-12-10T12:00:00Z'));

  test('covers the views, the report, the reconciliation, the README and the help of the query command', () => {
    const kinds = new Set(statements.map((s) => s.name.split(' ')[0]));
    expect([...kinds]).toEqual(['view', 'report', 'reconcile', 'README', 'query']);
  });

  test.each(statements.map((s) => [s.name, s.origin, s.sql]))(
    '%s (%s) has no construct BigQuery and DuckDB disagree on',
    (_name, _origin, sql) => {
      expect(bigQueryDialectProblems(sql)).toEqual([]);
    },
  );
});

describe('each check fails on its construct', () => {
  test('an alias reused inside an aggregate in HAVING or ORDER BY (the report before its fix)', () => {
    // scripts/cli/report/data.ts as it was: "Aggregations of aggregations are not allowed" on BigQuery.
    const domains = `SELECT recipient_domain, SUM(sent) AS sent, SUM(delivered) AS delivered,
        SUM(complaints) AS complaints
      FROM \`p.d.deliverability_daily\` GROUP BY recipient_domain HAVING SUM(complaints) > 0
      ORDER BY SUM(complaints) DESC, SUM(delivered) DESC LIMIT 10`;
    const problems = bigQueryDialectProblems(domains);
    expect(problems.map((p) => [p.rule, p.line, p.column])).toEqual([
      ['alias-in-aggregate', 3, 76],
      ['alias-in-aggregate', 4, 20],
      ['alias-in-aggregate', 4, 42],
    ]);
    expect(problems[0]!.message).toMatch(/"complaints" inside an aggregate in HAVING .* outer query/);
    expect(
      rules(`SELECT origin_id, SUM(sent) AS sent FROM f GROUP BY origin_id ORDER BY SUM(sent) DESC`),
    ).toEqual(['alias-in-aggregate']);

    // The fix: the grouping query inside, filter and sort outside; or an alias that shadows nothing.
    expect(
      rules(`SELECT * FROM (SELECT recipient_domain, SUM(complaints) AS complaints FROM t GROUP BY recipient_domain)
        AS per_domain WHERE complaints > 0 ORDER BY complaints DESC`),
    ).toEqual([]);
    expect(rules(`SELECT g, SUM(c) AS total FROM t GROUP BY g HAVING SUM(c) > 0 ORDER BY SUM(c)`)).toEqual(
      [],
    );
    // Outside an aggregate the alias is what both engines read; a window function is not an aggregate.
    expect(rules(`SELECT g, SUM(c) AS c FROM t GROUP BY g HAVING c > 0 ORDER BY c`)).toEqual([]);
    expect(rules(`SELECT SUM(c) OVER (PARTITION BY g) AS c FROM t ORDER BY c`)).toEqual([]);
  });

  test('GROUP BY a name that is both an alias and the column it is computed from', () => {
    // BigQuery groups by LOWER(x), DuckDB by x: different rows, no error anywhere.
    expect(rules(`SELECT LOWER(x) AS x, COUNT(*) AS n FROM t GROUP BY x`)).toEqual(['group-by-alias']);
    expect(rules(`SELECT LOWER(x) AS lx, COUNT(*) AS n FROM t GROUP BY lx`)).toEqual([]);
    expect(rules(`SELECT x AS x, COUNT(*) AS n FROM t GROUP BY x`)).toEqual([]);
  });

  test('division without NULLIF (the README example before its fix)', () => {
    const readme = `SELECT origin_type, origin_id, SUM(sent) AS sent, SUM(opened) / SUM(delivered) AS open_rate
      FROM customerio.delivery_funnel GROUP BY 1, 2 ORDER BY sent DESC`;
    const problems = bigQueryDialectProblems(readme);
    expect(problems).toEqual([
      {
        rule: 'division',
        line: 1,
        column: 51,
        message: expect.stringMatching(
          /by SUM\(delivered\).*division by zero.*NULLIF\(SUM\(delivered\), 0\)/,
        ),
      },
    ]);
    expect(
      rules(`SELECT a / NULLIF(b, 0), a / (NULLIF(SUM(b), 0)), a / 100, SAFE_DIVIDE(a, b) FROM t`),
    ).toEqual([]);
    expect(rules(`SELECT a / NULLIF(b, 1), a / 0, a / (b + 1) FROM t`)).toEqual([
      'division',
      'division',
      'division',
    ]);
  });

  test.each([
    ['a cast with ::', 'SELECT a::INT64 FROM t'],
    ['SELECT * EXCLUDE', 'SELECT * EXCLUDE (a) FROM t'],
    ['ILIKE', "SELECT a FROM t WHERE a ILIKE 'x%'"],
    ['a FROM-first query', 'FROM t SELECT a'],
    ['a struct literal', "SELECT {'a': 1} AS s"],
    ['a lambda', 'SELECT list_transform(l, x -> x + 1) FROM t'],
    ['a $1 parameter', 'SELECT a FROM t WHERE b = $1'],
    ['integer division //', 'SELECT a // 2 FROM t'],
  ])('DuckDB-only syntax: %s', (_what, sql) => {
    expect(rules(sql)).toEqual(['syntax']);
  });

  test('DuckDB-only functions, DuckDB argument order, intervals without a unit', () => {
    expect(rules(`SELECT strftime(occurred_at, '%Y-%m') FROM t`)).toEqual(['function']);
    expect(rules(`SELECT epoch(occurred_at), list_value(1, 2) FROM t`)).toEqual(['function', 'function']);
    expect(rules(`SELECT DATE_TRUNC('month', occurred_at) FROM t`)).toEqual(['date-part-string']);
    expect(rules(`SELECT DATE_TRUNC(day, MONTH) FROM t`)).toEqual([]);
    expect(rules(`SELECT * FROM t WHERE occurred_at >= CURRENT_TIMESTAMP - INTERVAL '7 days'`)).toEqual([
      'interval-unit',
    ]);
    expect(rules(`SELECT * FROM t WHERE occurred_at >= CURRENT_TIMESTAMP - INTERVAL 7 DAY`)).toEqual([]);
  });

  test('BigQuery syntax the statements may use passes', () => {
    expect(
      rules(`WITH x AS (SELECT event_id, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at) AS r
          FROM \`p-1.d.events\`)
        SELECT event_id, SAFE_CONVERT_BYTES_TO_STRING(b), DATE '2024-01-01', CAST(n AS INT64),
          EXTRACT(DAY FROM ts), CURRENT_DATE - 7, JSON_VALUE(data, '$.a') = 'true'
        FROM x WHERE r = 1 AND a = @since QUALIFY COUNT(*) OVER (PARTITION BY a) = 1`),
    ).toEqual([]);
  });
});
