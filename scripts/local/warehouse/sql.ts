// The small BigQuery → DuckDB SQL translation the local warehouse applies to query jobs and view definitions.
//
// Supported subset (write analytics SQL inside it so it runs on both):
// - Table references `dataset.table`, `project.dataset.table`, with or without backticks, also `project`.dataset.table:
//   the project is dropped (the local warehouse has one namespace of datasets) and backticks become double quotes.
//   A three-part name counts as project.dataset.table right after FROM, JOIN, INTO, UPDATE, TABLE or VIEW (write
//   joins with JOIN, not comma lists of project-qualified tables).
// - String literals in single or double quotes ("x" is a string in BigQuery, an identifier in DuckDB: it is
//   rewritten to 'x'), with \' \" \\ \n \t \r escapes or a doubled quote. No r'raw' or triple-quoted strings.
// - Query parameters: @name → $name; positional ? unchanged.
// - Comments: --, /* */ and # (rewritten to --).
// - SAFE_CAST → TRY_CAST; SAFE_CONVERT_BYTES_TO_STRING is a macro of the store (NULL for invalid UTF-8).
// Everything else goes to DuckDB as written: most of standard SQL, COUNT/SUM/COUNT_IF, CAST, CASE, GROUP BY, window
// functions and JSON_VALUE/JSON_EXTRACT work on both; BigQuery-only functions (TIMESTAMP_TRUNC(ts, DAY), FORMAT_*,
// GENERATE_*, UNNEST with OFFSET, STRUCT literals ...) do not.

/** Keywords after which a dotted name is a table reference (where a 3-part name means project.dataset.table). */
const TABLE_CONTEXT = new Set(['FROM', 'JOIN', 'INTO', 'UPDATE', 'TABLE', 'VIEW']);

interface NamePart {
  text: string;
  quoted: boolean;
}

export function translateSql(sql: string): string {
  let out = '';
  let i = 0;
  let lastKeyword = '';
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = lineEnd(sql, i);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '#') {
      const end = lineEnd(sql, i);
      out += '--' + sql.slice(i + 1, end);
      i = end;
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      const end = close < 0 ? n : close + 2;
      out += sql.slice(i, end);
      i = end;
    } else if (c === "'" || c === '"') {
      const { value, end } = readString(sql, i, c);
      out += `'${value.replaceAll("'", "''")}'`;
      i = end;
      lastKeyword = '';
    } else if (c === '@' && next !== '@' && /[A-Za-z_]/.test(next ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))!;
      out += '$' + m[0];
      i += 1 + m[0].length;
      lastKeyword = '';
    } else if (c === '`' || /[A-Za-z_]/.test(c)) {
      const { parts, end } = readName(sql, i);
      const single = parts.length === 1 && !parts[0]!.quoted ? parts[0]!.text : undefined;
      if (single !== undefined && single.toUpperCase() === 'SAFE_CAST') {
        out += 'TRY_CAST';
      } else {
        const name = TABLE_CONTEXT.has(lastKeyword) && parts.length === 3 ? parts.slice(1) : parts;
        out += name.map((p) => (p.quoted ? `"${p.text.replaceAll('"', '""')}"` : p.text)).join('.');
      }
      lastKeyword = single?.toUpperCase() ?? '';
      i = end;
    } else {
      out += c;
      if (!/\s/.test(c)) lastKeyword = '';
      i++;
    }
  }
  return out;
}

function lineEnd(sql: string, from: number): number {
  const nl = sql.indexOf('\n', from);
  return nl < 0 ? sql.length : nl;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r' };

/** The value of a BigQuery string literal starting at `start` (backslash escapes and doubled quotes decoded). */
function readString(sql: string, start: number, quote: string): { value: string; end: number } {
  let i = start + 1;
  let value = '';
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\\' && i + 1 < sql.length) {
      const esc = sql[i + 1]!;
      value += ESCAPES[esc] ?? esc;
      i += 2;
    } else if (c === quote && sql[i + 1] === quote) {
      value += quote;
      i += 2;
    } else if (c === quote) {
      return { value, end: i + 1 };
    } else {
      value += c;
      i++;
    }
  }
  throw new Error(`Unterminated ${quote} quote in SQL.`);
}

/** A dotted name: plain identifiers and `backticked` segments; a backticked segment may itself contain dots. */
function readName(sql: string, start: number): { parts: NamePart[]; end: number } {
  const parts: NamePart[] = [];
  let i = start;
  for (;;) {
    if (sql[i] === '`') {
      const close = sql.indexOf('`', i + 1);
      if (close < 0) throw new Error('Unterminated ` quote in SQL.');
      for (const text of sql.slice(i + 1, close).split('.')) parts.push({ text, quoted: true });
      i = close + 1;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i));
      if (!m) break;
      parts.push({ text: m[0], quoted: false });
      i += m[0].length;
    }
    if (sql[i] === '.' && /[`A-Za-z_]/.test(sql[i + 1] ?? '')) i++;
    else break;
  }
  return { parts, end: i };
}
