// The SQL examples of a Markdown document (the README), found where a reader would copy them from:
// - the quoted argument of `bq query … '<sql>'` and of `cio-webhooks query "<sql>"`, in code blocks and inline code;
// - a fenced code block marked `sql`, whole;
// - an inline code span that is itself a statement (starts with SELECT, WITH, INSERT, UPDATE, DELETE or MERGE).
// The SQL keeps the document's placeholders (PROJECT, the default dataset `customerio`); `forTarget` fills them in.

export interface MarkdownSql {
  /** 1-based line where the statement starts. */
  line: number;
  /** The heading of the section it is in ('' before the first heading). */
  section: string;
  sql: string;
}

const BQ_QUERY = /\bbq query\b[^'\n]*'([^']*)'/g;
const CLI_QUERY = /\bcio-webhooks query "([^"]*)"/g;
const INLINE_CODE = /`([^`]+)`/g;
/** What starts a statement (and not a placeholder such as `query "SQL"` in a usage line). */
const STATEMENT = /^\s*(select|with|insert|update|delete|merge)\b/i;

/** Every SQL example of `markdown`, in document order. */
export function sqlInMarkdown(markdown: string): MarkdownSql[] {
  const found: { offset: number; sql: string }[] = [];
  const headings: { offset: number; title: string }[] = [];
  for (const { text, offset, fenced } of blocks(markdown)) {
    if (!fenced) {
      for (const h of text.matchAll(/^#{1,6} +(.+)$/gm))
        headings.push({ offset: offset + h.index, title: h[1]! });
    }
    const sqlBlock = /^```sql[ \t]*\n([\s\S]*?)^```/m.exec(text);
    if (fenced && sqlBlock) {
      found.push({ offset: offset + sqlBlock[0].indexOf('\n') + 1, sql: sqlBlock[1]! });
      continue;
    }
    const commands = [...text.matchAll(BQ_QUERY), ...text.matchAll(CLI_QUERY)];
    for (const m of commands) {
      if (STATEMENT.test(m[1]!)) found.push({ offset: offset + m.index + m[0].indexOf(m[1]!), sql: m[1]! });
    }
    if (fenced) continue;
    for (const m of text.matchAll(INLINE_CODE)) {
      if (STATEMENT.test(m[1]!)) found.push({ offset: offset + m.index + 1, sql: m[1]! });
    }
  }
  return found
    .sort((a, b) => a.offset - b.offset)
    .map(({ offset, sql }) => ({
      line: markdown.slice(0, offset).split('\n').length,
      section:
        headings
          .filter((h) => h.offset <= offset)
          .at(-1)
          ?.title.trim() ?? '',
      sql: sql.trim(),
    }));
}

/** The document split into fenced code blocks and the prose between them, with their offsets. */
function blocks(markdown: string): { text: string; offset: number; fenced: boolean }[] {
  const out: { text: string; offset: number; fenced: boolean }[] = [];
  const fence = /^```[^\n]*\n[\s\S]*?^```[ \t]*$/gm;
  let at = 0;
  for (const m of markdown.matchAll(fence)) {
    out.push({ text: markdown.slice(at, m.index), offset: at, fenced: false });
    out.push({ text: m[0], offset: m.index, fenced: true });
    at = m.index + m[0].length;
  }
  out.push({ text: markdown.slice(at), offset: at, fenced: false });
  return out;
}

export interface ExampleTables {
  projectId: string;
  datasetId: string;
  /** Table ids by the default name the document uses (`events`, `rejected_events`). */
  tables: Readonly<Record<string, string>>;
}

/**
 * The example with its table references pointed at a deployment: `PROJECT.customerio.<table>` and
 * `customerio.<table>` (backticked or not) become `` `<project>.<dataset>.<table id>` ``.
 */
export function forTarget(sql: string, target: ExampleTables): string {
  return sql.replace(
    /`?(?:PROJECT\.)?customerio\.([A-Za-z_][A-Za-z0-9_]*)`?/g,
    (_, table: string) => `\`${target.projectId}.${target.datasetId}.${target.tables[table] ?? table}\``,
  );
}
