// Creates the warehouse dataset, tables (shared/warehouse/schema.ts) and analytics views (shared/warehouse/views/) through the real BigQuery client, so it works
// the same against the local warehouse and real BigQuery. Idempotent: existing objects are kept; a table that lacks
// fields added to the schema since it was created gets them (BigQuery allows adding NULLABLE/REPEATED fields).
import type { BigQuery, Dataset, TableField } from '@google-cloud/bigquery';
import { renderViews } from '../../../shared/warehouse/views';
import {
  EVENTS_TABLE,
  RECONCILE_DRIFT_TABLE,
  RECONCILE_RUNS_TABLE,
  REJECTS_TABLE,
  type TableSpec,
} from '../../../shared/warehouse/schema';
import { RECONCILE_DRIFT, RECONCILE_RUNS } from '../../../shared/reconcile/warehouse';

export async function ensureWarehouseTables(
  bigquery: BigQuery,
  dataset: string,
  tables: { events: string; rejects: string },
): Promise<void> {
  const [ds] = await bigquery.dataset(dataset).get({ autoCreate: true });
  await ensureTable(ds, tables.events, EVENTS_TABLE);
  await ensureTable(ds, tables.rejects, REJECTS_TABLE);
  await ensureTable(ds, RECONCILE_RUNS, RECONCILE_RUNS_TABLE);
  await ensureTable(ds, RECONCILE_DRIFT, RECONCILE_DRIFT_TABLE);
  await ensureViews(ds, tables.events);
}

// The analytics views (shared/warehouse/views/*.sql), the same SQL Terraform deploys. Replaced on every run so an upgraded
// definition takes effect; created in dependency order.
async function ensureViews(ds: Dataset, eventsTable: string): Promise<void> {
  for (const view of renderViews((id) => `\`${ds.id}.${id}\``, eventsTable)) {
    const table = ds.table(view.name);
    const [exists] = await table.exists();
    if (exists) await table.delete();
    await ds.createTable(view.name, { view: { query: view.sql, useLegacySql: false } });
  }
}

async function ensureTable(ds: Dataset, name: string, spec: TableSpec): Promise<void> {
  const schema: TableField[] = spec.fields.map((f) => ({ ...f }));
  const table = ds.table(name);
  const [exists] = await table.exists();
  if (!exists) {
    try {
      await ds.createTable(name, {
        schema,
        timePartitioning: { type: 'DAY', field: spec.partitionField },
        clustering: { fields: spec.clustering },
        description: spec.description,
      });
      return;
    } catch (e) {
      // Someone else created it in the meantime: fall through to the schema check.
      if ((e as { code?: unknown }).code !== 409) throw e;
    }
  }
  const [meta] = await table.getMetadata();
  const current = (meta.schema?.fields ?? []) as TableField[];
  const known = new Set(current.map((f) => f.name?.toLowerCase()));
  const missing = schema.filter((f) => !known.has(f.name!.toLowerCase()));
  if (missing.length === 0) return;
  if (missing.some((f) => f.mode === 'REQUIRED'))
    throw new Error(
      `Table ${ds.id}.${name} lacks REQUIRED field(s) ${missing.map((f) => f.name).join(', ')}; BigQuery cannot add ` +
        'REQUIRED fields to an existing table. Recreate it or migrate it by hand.',
    );
  await table.setMetadata({ schema: { fields: [...current, ...missing] } });
}
