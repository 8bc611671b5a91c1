// The list of SQL texts the project runs against BigQuery (scripts/cli/sql/statements.ts) is complete: every view
// as Terraform renders it, every report query, every SQL example of the README.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forTarget, sqlInMarkdown } from '../../scripts/cli/sql/readme';
import { bigQueryStatements } from '../../scripts/cli/sql/statements';
import { reportQueries, parsePeriod } from '../../scripts/cli/report/data';

const ROOT = path.join(__dirname, '..', '..');
const TARGET = {
  projectId: 'proj-1',
  datasetId: 'ds',
  eventsTable: 'events_tbl',
  rejectsTable: 'rejects_tbl',
};
const NOW = new Date('2024-12-10T12:00:00Z');
const statements = bigQueryStatements(TARGET, NOW);
const named = (prefix: string) => statements.filter((s) => s.name.startsWith(prefix));

describe('sqlInMarkdown', () => {
  const doc = [
    '# Title', // 1
    '', // 2
    'Try `select 1 from customerio.events` or `npm start`, or', // 3
    '`SELECT a', // 4
    'FROM customerio.rejected_events` across a line.', // 5
    '## Queries', // 6
    '```sh', // 7
    "bq query --use_legacy_sql=false 'SELECT day", // 8
    "  FROM `PROJECT.customerio.deliverability_daily`'", // 9
    '# a shell comment, not a heading', // 10
    'npx cio-webhooks query "SELECT 2 FROM customerio.delivery_funnel"   # local', // 11
    'Usage: cio-webhooks query "SQL" [--project ID]', // 12
    '```', // 13
    'Inline: `npx cio-webhooks query "with x as (select 3) select * from x"`.', // 14
    '```sql', // 15
    'SELECT 4', // 16
    'FROM t', // 17
    '```', // 18
    '```console', // 19
    '$ echo `select nothing`', // 20
    '```', // 21
  ].join('\n');

  test('finds commands, sql blocks and inline statements, with their line and section', () => {
    expect(sqlInMarkdown(doc)).toEqual([
      { line: 3, section: 'Title', sql: 'select 1 from customerio.events' },
      { line: 4, section: 'Title', sql: 'SELECT a\nFROM customerio.rejected_events' },
      { line: 8, section: 'Queries', sql: 'SELECT day\n  FROM `PROJECT.customerio.deliverability_daily`' },
      { line: 11, section: 'Queries', sql: 'SELECT 2 FROM customerio.delivery_funnel' },
      { line: 14, section: 'Queries', sql: 'with x as (select 3) select * from x' },
      { line: 16, section: 'Queries', sql: 'SELECT 4\nFROM t' },
    ]);
  });

  test('forTarget points the placeholders at a deployment', () => {
    const tables = { projectId: 'p-1', datasetId: 'analytics', tables: { events: 'ev' } };
    expect(forTarget('SELECT 1 FROM customerio.events JOIN `PROJECT.customerio.x` USING (a)', tables)).toBe(
      'SELECT 1 FROM `p-1.analytics.ev` JOIN `p-1.analytics.x` USING (a)',
    );
  });
});

describe('bigQueryStatements', () => {
  test('names are unique and say where each text lives', () => {
    expect(new Set(statements.map((s) => s.name)).size).toBe(statements.length);
    for (const s of statements)
      expect(s.origin).toMatch(/^(shared|scripts)\/\S+\.(sql|ts)$|^README\.md:\d+$/);
  });

  test('every view file, rendered for the target', () => {
    const files = readdirSync(path.join(ROOT, 'shared', 'warehouse', 'views')).filter((f) =>
      f.endsWith('.sql'),
    );
    expect(
      named('view ')
        .map((s) => s.origin)
        .sort(),
    ).toEqual(files.map((f) => `shared/warehouse/views/${f}`).sort());
    expect(named('view events_unique')[0]!.sql).toContain('FROM `proj-1.ds.events_tbl`');
    expect(named('view delivery_funnel')[0]!.sql).toContain('FROM `proj-1.ds.events_unique`');
  });

  test('every report query', () => {
    const queries = reportQueries((id) => `\`proj-1.ds.${id}\``, parsePeriod('7d', NOW));
    expect(named('report ').map((s) => s.sql)).toEqual(Object.values(queries));
  });

  test('every SQL example of the README: no SELECT is left outside one', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const examples = sqlInMarkdown(readme);
    expect(named('README ').map((s) => s.origin)).toEqual(examples.map((e) => `README.md:${e.line}`));
    const selects = (text: string): number => text.match(/\bselect\b/gi)?.length ?? 0;
    // A SELECT the extraction misses would escape the dialect test and check-sql: write README SQL as a
    // `cio-webhooks query "…"` / `bq query '…'` command, a ```sql block or an inline code span starting with SELECT.
    expect(examples.reduce((n, e) => n + selects(e.sql), 0)).toBe(selects(readme));
    expect(named('README "Analytics"')[0]!.sql).toContain('FROM `proj-1.ds.deliverability_daily`');
    expect(named('README "Operations"')[0]!.sql).toContain('FROM `proj-1.ds.rejects_tbl`');
  });
});

const hasTerraform = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;

(hasTerraform ? test : test.skip)(
  "the views are the SQL terraform/views_order.tf deploys (terraform console's view_sql)",
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sql-statements-tf-'));
    try {
      copyFileSync(path.join(ROOT, 'terraform', 'views_order.tf'), path.join(dir, 'views_order.tf'));
      writeFileSync(
        path.join(dir, 'stub.tf'),
        `locals {\n  views_dir = "${path.join(ROOT, 'shared', 'warehouse', 'views')}"\n` +
          `  view_table_prefix = "proj-1.ds"\n  view_events_table = "events_tbl"\n}\n`,
      );
      const result = spawnSync('terraform', ['console'], {
        cwd: dir,
        input: 'jsonencode(local.view_sql)\n',
        encoding: 'utf8',
        env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' },
        timeout: 120_000,
      });
      if (result.status !== 0) throw new Error(`terraform console: ${result.stderr}`);
      const rendered = JSON.parse(JSON.parse(result.stdout.trim()) as string) as Record<string, string>;
      expect(Object.fromEntries(named('view ').map((s) => [s.name.slice('view '.length), s.sql]))).toEqual(
        rendered,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
