// An existing deployment's tables must take every schema change in place, without losing rows: BigQuery (and
// Terraform's google_bigquery_table, which updates a schema in place when it only gains columns) can add NULLABLE
// or REPEATED columns to a table, never drop, retype, reorder or make REQUIRED ones. The schemas of the first
// release are kept in test/fixtures/schema/ to hold every later schema against.
import fs from 'node:fs';
import path from 'node:path';
import { EVENTS_TABLE, REJECTS_TABLE, type SchemaField, type TableSpec } from '../../shared/warehouse/schema';

const RELEASED = path.join(__dirname, '..', 'fixtures', 'schema');

/** Why `next` cannot replace `released` in place; empty when it can. */
export function inPlaceProblems(released: readonly SchemaField[], next: readonly SchemaField[]): string[] {
  const problems: string[] = [];
  released.forEach((field, i) => {
    const now = next[i];
    if (now === undefined || now.name !== field.name) problems.push(`${field.name} was removed or moved`);
    else if (now.type !== field.type || now.mode !== field.mode)
      problems.push(`${field.name} changed from ${field.type} ${field.mode} to ${now.type} ${now.mode}`);
  });
  for (const added of next.slice(released.length)) {
    if (added.mode === 'REQUIRED') problems.push(`${added.name} is added as REQUIRED`);
  }
  return problems;
}

it.each([
  ['events-0.1.0.json', EVENTS_TABLE],
  ['rejected_events-0.1.0.json', REJECTS_TABLE],
] as Array<[string, TableSpec]>)('%s: today’s schema only adds nullable columns at the end', (file, spec) => {
  const released = JSON.parse(fs.readFileSync(path.join(RELEASED, file), 'utf8')) as SchemaField[];
  expect(inPlaceProblems(released, spec.fields)).toEqual([]);
});

it('tells a change that would need the table recreated', () => {
  const a: SchemaField = { name: 'a', type: 'STRING', mode: 'NULLABLE', description: '' };
  const b: SchemaField = { name: 'b', type: 'JSON', mode: 'NULLABLE', description: '' };
  expect(inPlaceProblems([a, b], [a])).toEqual(['b was removed or moved']);
  expect(inPlaceProblems([a, b], [b, a])).toEqual(['a was removed or moved', 'b was removed or moved']);
  expect(inPlaceProblems([a], [{ ...a, type: 'INTEGER' }])).toEqual([
    'a changed from STRING NULLABLE to INTEGER NULLABLE',
  ]);
  expect(inPlaceProblems([a], [a, { ...b, mode: 'REQUIRED' }])).toEqual(['b is added as REQUIRED']);
  expect(inPlaceProblems([a], [a, b])).toEqual([]);
});
