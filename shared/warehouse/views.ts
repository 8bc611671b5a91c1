// The analytics views over the events table. Each view is one SQL file in shared/warehouse/views/, written in the subset of
// SQL that BigQuery (GoogleSQL) and DuckDB (the local warehouse) both accept, so one definition serves both.
// Table names are placeholders in Terraform templatefile() syntax: `${events}` is the events table and
// `${<view>}` another view. Terraform substitutes fully-qualified backticked names; locally plain names go in.
// No other `${` or `%{` may appear in a file (templatefile would read it as template syntax).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ViewTemplate {
  /** The view's table id: the file name without `.sql`. */
  name: string;
  /** The SQL with its placeholders. */
  template: string;
  /** Views this one reads (placeholders other than `events`). */
  dependsOn: string[];
}

export interface RenderedView {
  name: string;
  sql: string;
}

/** The placeholder for the events table; every other placeholder names a view. */
export const EVENTS_PLACEHOLDER = 'events';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * shared/warehouse/views/ beside this module; compiled code (dist/shared/warehouse/) reads the same sources from the package root,
 * since tsc does not copy .sql files.
 */
export function viewsDir(): string {
  const candidates = [
    path.join(__dirname, 'views'),
    path.join(__dirname, '..', '..', '..', 'shared', 'warehouse', 'views'),
  ];
  const found = candidates.find((dir) => existsSync(dir));
  if (found === undefined) throw new Error(`View SQL not found in ${candidates.join(' or ')}`);
  return found;
}

/** Every view in `dir`, ordered so that each comes after the views it reads. */
export function loadViewTemplates(dir: string = viewsDir()): ViewTemplate[] {
  const views = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => parseTemplate(file.slice(0, -'.sql'.length), readFileSync(path.join(dir, file), 'utf8')));
  return orderByDependency(views);
}

export function parseTemplate(name: string, template: string): ViewTemplate {
  const leftover = template.replace(PLACEHOLDER, '');
  if (leftover.includes('${') || leftover.includes('%{')) {
    throw new Error(
      `View ${name}: only \${name} placeholders may use "\${" or "%{" (Terraform templatefile syntax)`,
    );
  }
  const refs = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  const dependsOn = [...new Set(refs.filter((ref) => ref !== EVENTS_PLACEHOLDER))];
  if (dependsOn.includes(name)) throw new Error(`View ${name} reads itself`);
  return { name, template, dependsOn };
}

/** Topological order, alphabetical among views that are ready at the same time (stable output). */
export function orderByDependency(views: ViewTemplate[]): ViewTemplate[] {
  const byName = new Map(views.map((v) => [v.name, v]));
  for (const view of views) {
    const unknown = view.dependsOn.filter((dep) => !byName.has(dep));
    if (unknown.length > 0) throw new Error(`View ${view.name} reads unknown view(s): ${unknown.join(', ')}`);
  }
  const ordered: ViewTemplate[] = [];
  const placed = new Set<string>();
  while (ordered.length < views.length) {
    const ready = views
      .filter((v) => !placed.has(v.name) && v.dependsOn.every((dep) => placed.has(dep)))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (ready.length === 0) {
      const stuck = views.filter((v) => !placed.has(v.name)).map((v) => v.name);
      throw new Error(`Views depend on each other in a cycle: ${stuck.join(', ')}`);
    }
    for (const view of ready) {
      ordered.push(view);
      placed.add(view.name);
    }
  }
  return ordered;
}

/**
 * The views' SQL with table names filled in, in creation order. `qualify` turns a table id into the SQL reference
 * (e.g. id => `\`${project}.${dataset}.${id}\`` for BigQuery, id => id for a bare DuckDB database); `eventsTable`
 * is the events table's id (BQ_TABLE).
 */
export function renderViews(
  qualify: (tableId: string) => string,
  eventsTable: string = EVENTS_PLACEHOLDER,
  templates: ViewTemplate[] = loadViewTemplates(),
): RenderedView[] {
  return templates.map((view) => ({
    name: view.name,
    sql: view.template.replace(PLACEHOLDER, (_, ref: string) =>
      qualify(ref === EVENTS_PLACEHOLDER ? eventsTable : ref),
    ),
  }));
}
