// The repository explains itself: docs/architecture.md and docs/customerio.md state the contracts, and each table here
// is held to the code it describes, so that a change to either side alone fails. Also: every path and section the
// docs and comments cite exists, and nothing cites the team's private brief, which is not in the repository.
import fs from 'node:fs';
import path from 'node:path';
import { METRICS_BY_OBJECT_TYPE } from '../scripts/cli/generate-events';
import { ENV, PROCESSOR_ENV, RECONCILE_ENV, WEBHOOK_ENV } from '../shared/config';
import { token, type ActionKey, type SkipReason } from '../shared/customerio/action-policy';
import { FAILURE_SEVERITY } from '../shared/errors';
import { EVENTS_TABLE, REJECTS_TABLE, type TableSpec } from '../shared/warehouse/schema';
import { EVENTS_PLACEHOLDER, loadViewTemplates } from '../shared/warehouse/views';
import { OUTCOMES } from '../shared/webhook/outcome';

const ROOT = path.join(__dirname, '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

const ARCHITECTURE = 'docs/architecture.md';
const CUSTOMERIO = 'docs/customerio.md';
const DOCS = [ARCHITECTURE, CUSTOMERIO];

// ---- Markdown, as far as these docs use it ----

interface Heading {
  level: number;
  title: string;
  line: number;
}

function headings(md: string): Heading[] {
  const out: Heading[] = [];
  let fenced = false;
  md.split('\n').forEach((text, line) => {
    if (text.startsWith('```')) fenced = !fenced;
    const m = fenced ? null : /^(#{1,6}) (.+)$/.exec(text);
    if (m) out.push({ level: m[1].length, title: m[2].trim(), line });
  });
  return out;
}

/** The text under a heading, up to the next heading of the same or a higher level. */
function section(file: string, title: string): string {
  const md = read(file);
  const all = headings(md);
  const at = all.findIndex((h) => h.title === title);
  if (at === -1) throw new Error(`${file} has no heading "${title}"`);
  const end = all.slice(at + 1).find((h) => h.level <= all[at].level);
  return md
    .split('\n')
    .slice(all[at].line + 1, end?.line)
    .join('\n');
}

/** The cells of a table row, split on pipes that are not escaped. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** The body rows of the first table in `text` whose header starts with `firstColumn`. */
function table(text: string, firstColumn: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|') && cells(l)[0] === firstColumn);
  if (start === -1) throw new Error(`no table with a "${firstColumn}" column`);
  const body = lines.slice(start + 2);
  const end = body.findIndex((l) => !l.startsWith('|'));
  return body.slice(0, end === -1 ? undefined : end).map(cells);
}

/** The `code spans` of a piece of Markdown. */
const code = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** GitHub's anchor for a heading. */
const slug = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');

const sorted = <T>(items: Iterable<T>): T[] => [...items].sort();

// ---- TypeScript source, for the types that have no runtime value ----

function withoutComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The string literals of a union type, following the types it names (looked up in `files`). */
function unionMembers(name: string, files: string[]): string[] {
  for (const file of files) {
    const m = new RegExp(`export type ${name}\\s*=([^;]+);`).exec(withoutComments(read(file)));
    if (m === null) continue;
    const literals = [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]);
    const named = [...m[1].replace(/'[^']*'/g, '').matchAll(/\b([A-Z]\w*)\b/g)].map((x) => x[1]);
    return [...literals, ...named.flatMap((type) => unionMembers(type, files))];
  }
  throw new Error(`no union type ${name} in ${files.join(', ')}`);
}

// ---- docs/architecture.md ----

describe('docs/architecture.md', () => {
  it('the configuration table lists exactly the variables of shared/config.ts, each with the functions that read it', () => {
    const rows = table(section(ARCHITECTURE, 'Configuration'), 'variable');
    const documented = rows.map(([variable, readBy]) => ({ variable: code(variable).join(), readBy }));
    const readers = { webhook: WEBHOOK_ENV, processor: PROCESSOR_ENV, reconcile: RECONCILE_ENV };
    const expected = Object.values(ENV).map((variable) => ({
      variable,
      readBy: Object.entries(readers)
        .filter(([, names]) => names.includes(variable))
        .map(([fn]) => fn)
        .join(', '),
    }));
    const byName = (a: { variable: string }, b: { variable: string }) => a.variable.localeCompare(b.variable);
    expect(documented.sort(byName)).toEqual(expected.sort(byName));
  });

  it('the webhook outcome table is OUTCOMES: every outcome, with its status and level, and no other', () => {
    const rows = table(section(ARCHITECTURE, 'Webhook outcomes'), 'outcome');
    const documented = rows.map(([outcome, status, level]) => `${code(outcome).join()} ${status} ${level}`);
    const expected = Object.entries(OUTCOMES).map(
      ([outcome, spec]) => `${outcome} ${spec.status ?? 'none'} ${spec.level}`,
    );
    expect(sorted(documented)).toEqual(sorted(expected));
  });

  it("the processor outcome table lists the processor's outcomes", () => {
    const rows = table(section(ARCHITECTURE, 'Processor outcomes'), 'outcome');
    const expected = unionMembers('Outcome', ['shared/processor/process-push.ts']);
    expect(sorted(rows.map(([outcome]) => code(outcome).join()))).toEqual(sorted(expected));
  });

  it('the failure classes are the kinds of FAILURE_SEVERITY, with their severities', () => {
    const rows = table(section(ARCHITECTURE, 'Failure classes'), 'kind');
    const documented = rows.map(([kind, severity]) => `${code(kind).join()} ${severity}`);
    const expected = Object.entries(FAILURE_SEVERITY).map(([kind, severity]) => `${kind} ${severity}`);
    expect(sorted(documented)).toEqual(sorted(expected));
  });

  it("the ledger's fields are LedgerDoc's", () => {
    const rows = table(section(ARCHITECTURE, 'The ledger'), 'field');
    const type = /interface LedgerDoc \{([\s\S]*?)\n\}/.exec(
      withoutComments(read('shared/processor/ledger.ts')),
    );
    expect(type).not.toBeNull();
    const fields = [...type![1].matchAll(/^\s*(\w+)\??:/gm)].map((m) => m[1]);
    expect(rows.map(([field]) => code(field).join())).toEqual(fields);
  });

  it.each([
    ['events', EVENTS_TABLE],
    ['rejected_events', REJECTS_TABLE],
  ] as const)(
    'the %s table lists the columns of its TableSpec, in order, with type and mode',
    (title, spec) => {
      const rows = table(section(ARCHITECTURE, title), 'column');
      const documented = rows.map(
        ([column, type, mode]) => `${code(column).join()} ${type} ${mode || 'NULLABLE'}`,
      );
      const expected = (spec as TableSpec).fields.map((f) => `${f.name} ${f.type} ${f.mode}`);
      expect(documented).toEqual(expected);
    },
  );

  it('the reject reasons are RejectReason', () => {
    const rows = table(section(ARCHITECTURE, 'rejected_events'), 'reason');
    const expected = unionMembers('RejectReason', ['shared/warehouse/row.ts', 'shared/customerio/event.ts']);
    expect(sorted(rows.map(([reason]) => code(reason).join()))).toEqual(sorted(expected));
  });

  describe('the action policy', () => {
    const text = section(ARCHITECTURE, 'The action policy');
    const keys = unionMembers('ActionKey', ['shared/customerio/action-policy.ts']);
    const reasons = unionMembers('SkipReason', ['shared/customerio/action-policy.ts']);

    it('lists the action keys and skip reasons of its types', () => {
      const listed = /The action keys are ([\s\S]*?); the skip reasons ([\s\S]*?)\. /.exec(text);
      expect(listed).not.toBeNull();
      expect(sorted(code(listed![1]))).toEqual(sorted(keys));
      expect(sorted(code(listed![2]))).toEqual(sorted(reasons));
    });

    it('names no action or skip the policy does not have', () => {
      const named = code(text).filter((span) => /^(identify:[a-z_:]+|suppress|skipped:[a-z_]+)$/.test(span));
      expect(named.length).toBeGreaterThan(0);
      const valid = [...keys, ...reasons.map((reason) => token.skipped(reason as SkipReason))];
      expect(named.filter((span) => !valid.includes(span))).toEqual([]);
    });

    it("lists every token form of the row's actions column", () => {
      const key = '<key>' as string as ActionKey;
      const forms: Record<keyof typeof token, string> = {
        done: token.done(key),
        dryRun: token.dryRun(key),
        error: token.error(key, 999).replace('999', '<status>'),
        throttled: token.throttled(key),
        skipped: token.skipped('<reason>' as string as SkipReason),
      };
      expect(sorted(Object.keys(forms))).toEqual(sorted(Object.keys(token)));
      const rows = table(text, 'token');
      expect(sorted(rows.map(([form]) => code(form).join()))).toEqual(sorted(Object.values(forms)));
    });
  });

  it('the views table lists every view of shared/warehouse/views/ and what each reads', () => {
    const rows = table(section(ARCHITECTURE, 'The views'), 'view');
    const documented = rows.map(
      ([view, reads]) => `${code(view).join()} reads ${sorted(code(reads)).join()}`,
    );
    const expected = loadViewTemplates().map((view) => {
      const reads = view.template.includes(`\${${EVENTS_PLACEHOLDER}}`) ? [EVENTS_PLACEHOLDER] : [];
      return `${view.name} reads ${sorted([...reads, ...view.dependsOn]).join()}`;
    });
    expect(sorted(documented)).toEqual(sorted(expected));
  });

  it('the layout table names every stage folder of shared/', () => {
    const rows = table(section(ARCHITECTURE, 'Layout'), 'folder');
    const folders = rows.flatMap(([folder]) => code(folder));
    const stages = fs
      .readdirSync(path.join(ROOT, 'shared'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `shared/${entry.name}/`);
    expect(stages.filter((stage) => !folders.includes(stage))).toEqual([]);
  });
});

// ---- docs/customerio.md ----

describe('docs/customerio.md', () => {
  it('the object type × metric table is the one the event generator sends', () => {
    const text = section(CUSTOMERIO, 'Object types and metrics');
    const header = text.split('\n').find((l) => l.startsWith('| metric |'));
    expect(header).toBeDefined();
    const objectTypes = cells(header!).slice(1);
    const documented: Record<string, string[]> = Object.fromEntries(objectTypes.map((t) => [t, []]));
    for (const [metric, ...marks] of table(text, 'metric')) {
      marks.forEach((mark, i) => {
        if (mark !== '') documented[objectTypes[i]].push(code(metric).join());
      });
    }
    const expected = Object.fromEntries(
      Object.entries(METRICS_BY_OBJECT_TYPE).map(([type, metrics]) => [type, sorted(metrics)]),
    );
    for (const type of objectTypes) documented[type].sort();
    expect(documented).toEqual(expected);
  });
});

// ---- Every doc, every citation ----

/** Repository-relative paths the docs may name in code spans. */
const REPO_PATH =
  /^(functions|shared|scripts|test|bench|terraform|docs)\/[\w./-]*$|^[\w.-]+\.(md|json|mjs|js)$/;

describe('what the docs name exists', () => {
  it.each(DOCS)('%s: every file or folder it names in code spans exists', (file) => {
    const named = code(read(file)).filter((span) => REPO_PATH.test(span) && !span.includes('..'));
    const missing = named.filter((span) => !fs.existsSync(path.join(ROOT, span)));
    expect(named.length).toBeGreaterThan(5);
    expect(missing).toEqual([]);
  });

  it.each([...DOCS, 'README.md'])(
    '%s: every relative link leads to a file, and its #anchor to a heading',
    (file) => {
      const text = read(file).replace(/```[\s\S]*?```/g, '');
      const broken: string[] = [];
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [relative, anchor] = target.split('#');
        const linked = relative === '' ? file : path.join(path.dirname(file), relative);
        if (!fs.existsSync(path.join(ROOT, linked))) {
          broken.push(target);
          continue;
        }
        if (anchor !== undefined && !headings(read(linked)).some((h) => slug(h.title) === anchor))
          broken.push(target);
      }
      expect(broken).toEqual([]);
    },
  );
});

/** Every text file of the repository (what git would track), as [path, text]. */
function repositoryFiles(): Array<[string, string]> {
  const skip = new Set([
    'node_modules',
    'dist',
    'coverage',
    '.git',
    '.local',
    'terraform/build',
    'terraform/.terraform',
  ]);
  const out: Array<[string, string]> = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (skip.has(rel)) continue;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) {
        const bytes = fs.readFileSync(path.join(ROOT, rel));
        if (!bytes.includes(0)) out.push([rel, bytes.toString('utf8')]);
      }
    }
  };
  walk('');
  return out;
}

describe('citations', () => {
  const files = repositoryFiles();

  it('every cited section of docs/architecture.md or docs/customerio.md is a heading there', () => {
    const titles = Object.fromEntries(
      DOCS.map((doc) => [path.basename(doc), headings(read(doc)).map((h) => h.title)]),
    );
    const cited: string[] = [];
    const dangling: string[] = [];
    for (const [file, text] of files) {
      for (const [, doc, title] of text.matchAll(/(architecture\.md|customerio\.md),? "([^"]+)"/g)) {
        cited.push(title);
        if (!titles[doc].includes(title)) dangling.push(`${file}: ${doc}, "${title}"`);
      }
    }
    expect(cited.length).toBeGreaterThan(0);
    expect(dangling).toEqual([]);
  });

  it("nothing cites the team's private brief, which is not in the repository", () => {
    // Spelt in pieces so that this file does not cite them either.
    const brief = [
      ['DESIGN', 'md'].join('.'),
      ['customerio', 'facts'].join('-'),
      ['customerio', 'app-api.md'].join('-'),
    ];
    const briefFolder = ['', 'work', 'shared'].join('/');
    const citing = files
      .filter(([, text]) => brief.some((name) => text.includes(name)) || text.includes(briefFolder))
      .map(([file]) => file);
    expect(citing).toEqual([]);
  });
});
