// `npm run schema:export`: writes the BigQuery table schemas Terraform reads (terraform/schema/*.json) from
// shared/warehouse/schema.ts, the single definition. test/terraform.test.ts fails when the files drift from it.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  EVENTS_TABLE,
  RECONCILE_DRIFT_TABLE,
  RECONCILE_RUNS_TABLE,
  REJECTS_TABLE,
  toBigQueryJson,
  type TableSpec,
} from '../shared/warehouse/schema';
import { repoRoot } from './repo-root';

/** File name under terraform/schema/ → the table it describes (bigquery.tf reads these names). */
export const SCHEMA_FILES: Readonly<Record<string, TableSpec>> = {
  'events.json': EVENTS_TABLE,
  'rejected_events.json': REJECTS_TABLE,
  'reconcile_runs.json': RECONCILE_RUNS_TABLE,
  'reconcile_drift.json': RECONCILE_DRIFT_TABLE,
};

export function schemaDir(root: string = repoRoot()): string {
  return path.join(root, 'terraform', 'schema');
}

/** Writes every schema file into `dir` and returns the paths written. */
export function exportSchemas(dir: string = schemaDir()): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(SCHEMA_FILES).map(([file, spec]) => {
    const target = path.join(dir, file);
    writeFileSync(target, toBigQueryJson(spec));
    return target;
  });
}

if (require.main === module) {
  for (const written of exportSchemas()) console.log(`wrote ${path.relative(process.cwd(), written)}`);
}
