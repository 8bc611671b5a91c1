// The deployment the capacity model describes, read from terraform/ itself (variable defaults, and which ledger
// fields are exempt from Firestore's automatic indexes), so that the model and the Terraform cannot disagree: change
// a default there and `npm run capacity` and BENCHMARKS.md follow.

import fs from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { projectRoot } from '../../scripts/local/stack-state';

export interface FunctionSettings {
  minInstances: number;
  maxInstances: number;
  /** Concurrent requests per instance. */
  concurrency: number;
  vcpus: number;
}

export interface DeploymentSettings {
  webhook: FunctionSettings;
  processor: FunctionSettings;
  /** CIO_TRACK_MAX_RPS: Track calls per second one processor instance may make. */
  trackMaxRps: number;
  /** Track calls per second the whole deployment may make (Customer.io's per-workspace fair use). */
  trackBudgetRps: number;
  /** DEDUPE_LEASE_SECONDS: the processor's per-event deadline is derived from it. */
  leaseSeconds: number;
  /** Pub/Sub redelivery of nacked messages. */
  retry: { minimumBackoffSeconds: number; maximumBackoffSeconds: number; maxDeliveryAttempts: number };
  /** How long the topic and the subscription keep a message. */
  retentionSeconds: number;
  /** Ledger fields Terraform exempts from indexing (google_firestore_field with an empty index_config). */
  unindexedLedgerFields: string[];
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** hcl2json renders each block as a list of bodies. */
function bodies(v: Json | undefined): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

async function parseDir(dir: string): Promise<Obj[]> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.tf'));
  return Promise.all(
    files.map(async (f) => (await parse(f, fs.readFileSync(path.join(dir, f), 'utf8'))) as Obj),
  );
}

function variableDefaults(docs: Obj[]): Map<string, Json> {
  const defaults = new Map<string, Json>();
  for (const doc of docs) {
    for (const [name, body] of Object.entries(isObj(doc.variable) ? doc.variable : {})) {
      const [first] = bodies(body);
      if (first !== undefined && 'default' in first) defaults.set(name, first.default);
    }
  }
  return defaults;
}

/** "600s" (a duration variable) or 600 → seconds. */
function seconds(v: Json): number {
  return typeof v === 'string' && /^\d+s$/.test(v) ? Number(v.slice(0, -1)) : Number(v);
}

/** The strings an expression names: a list, `"x"`, `${toset(["a", "b"])}`, or locals it refers to. */
function literals(v: Json | undefined, locals: Obj): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v !== 'string') return [];
  if (!v.includes('${')) return [v];
  const referenced = [...v.matchAll(/\blocal\.(\w+)/g)].flatMap((m) => literals(locals[m[1]!], locals));
  return [...referenced, ...[...v.matchAll(/"([^"]+)"/g)].map((m) => m[1]!)];
}

/**
 * Fields of the ledger collection whose single-field indexes Terraform removes: every google_firestore_field on
 * var.dedupe_collection with an empty index_config, its field given literally or through for_each.
 */
function unindexedLedgerFields(docs: Obj[]): string[] {
  const locals: Obj = {};
  for (const doc of docs) for (const l of bodies(doc.locals)) Object.assign(locals, l);
  const fields: string[] = [];
  for (const doc of docs) {
    const resources = isObj(doc.resource) ? doc.resource : {};
    const byName = isObj(resources.google_firestore_field) ? resources.google_firestore_field : {};
    for (const body of Object.values(byName).flatMap(bodies)) {
      if (body.collection !== '${var.dedupe_collection}') continue;
      const index = bodies(body.index_config);
      if (index.length !== 1 || Object.keys(index[0]!).length > 0) continue;
      const field = body.field;
      if (field === '${each.value}' || field === '${each.key}')
        fields.push(...literals(body.for_each, locals));
      else fields.push(...literals(field, locals));
    }
  }
  return [...new Set(fields)].sort();
}

export async function readDeploymentSettings(
  dir = path.join(projectRoot(), 'terraform'),
): Promise<DeploymentSettings> {
  const docs = await parseDir(dir);
  const defaults = variableDefaults(docs);
  const num = (name: string): number => {
    const raw = defaults.get(name);
    const value = raw === undefined ? NaN : seconds(raw);
    if (!Number.isFinite(value)) {
      throw new Error(
        `terraform/variables.tf: variable ${name} has no numeric default (got ${JSON.stringify(raw)})`,
      );
    }
    return value;
  };
  const fn = (prefix: 'webhook' | 'processor'): FunctionSettings => ({
    minInstances: num(`${prefix}_min_instances`),
    maxInstances: num(`${prefix}_max_instances`),
    concurrency: num(`${prefix}_concurrency`),
    vcpus: num(`${prefix}_cpu`),
  });
  return {
    webhook: fn('webhook'),
    processor: fn('processor'),
    trackMaxRps: num('track_max_rps'),
    trackBudgetRps: num('track_api_rps_budget'),
    leaseSeconds: num('dedupe_lease_seconds'),
    retry: {
      minimumBackoffSeconds: num('retry_minimum_backoff'),
      maximumBackoffSeconds: num('retry_maximum_backoff'),
      maxDeliveryAttempts: num('max_delivery_attempts'),
    },
    retentionSeconds: num('events_retention'),
    unindexedLedgerFields: unindexedLedgerFields(docs),
  };
}
