// Real `terraform apply` and `terraform plan` over terraform/, offline. No provider can be downloaded here, so every
// resource and data source becomes a `terraform_data` (built into Terraform) that keeps the original's count or
// for_each, depends_on and every argument except write-only ones, all in `triggers_replace`: a change to any of them
// replaces the stand-in and gives it a new id. A reference to an attribute of a resource becomes a reference to its
// stand-in's id, so a change propagates to everything that reads the resource, as a replacement would. Variables,
// locals and outputs are the real ones. What this cannot show: the provider's own diffs (defaults, normalisation)
// and which changes the provider applies in place rather than by replacement.
//
// So a plan here answers "does this apply change anything, and what", for a sequence of applies with different
// variables, e.g. a first apply with the secret values and a second one without them.
import { mkdirSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ROOT,
  TF_DIR,
  asObj,
  isObj,
  parseTerraformFiles,
  run,
  tempDir,
  type Json,
  type Obj,
} from './terraform-config';

interface ProviderSchema {
  resources: Record<string, { arguments?: Record<string, { write_only?: boolean }> }>;
}

const SCHEMA = JSON.parse(
  readFileSync(path.join(ROOT, 'scripts', 'terraform-lint', 'google-provider-schema.json'), 'utf8'),
) as ProviderSchema;

/** Write-only arguments: never in the plan or state, so they cannot cause a change. */
function writeOnlyArguments(type: string): Set<string> {
  const args = SCHEMA.resources[type]?.arguments ?? {};
  return new Set(Object.keys(args).filter((name) => args[name]!.write_only === true));
}

const DROPPED = new Set([
  'lifecycle',
  'provider',
  'provisioner',
  'connection',
  'count',
  'for_each',
  'depends_on',
]);

export interface PlannedChange {
  address: string;
  actions: string[];
}

export interface Plan {
  /** Resource changes other than no-op, by stand-in address (terraform_data.<type>__<name>[index]). */
  changes: PlannedChange[];
  /** Resources the plan imports (import blocks), by stand-in address, with the id imported. */
  imports: Array<{ address: string; id: string }>;
  /** Outputs whose value changes. */
  outputs: string[];
}

export interface PlanStub {
  /** `terraform apply` with these -var values and environment (TF_VAR_*). Throws with terraform's output on failure. */
  apply(vars: Record<string, string>, env?: Record<string, string>): void;
  plan(vars: Record<string, string>, env?: Record<string, string>): Plan;
  destroy(vars: Record<string, string>, env?: Record<string, string>): void;
  close(): void;
}

/** The stand-in address of a resource (`type.name`) or data source (`data.type.name`). */
export function standIn(address: string): string {
  return `terraform_data.${address.replaceAll('.', '__')}`;
}

export async function createPlanStub(): Promise<PlanStub> {
  const files = await parseTerraformFiles(TF_DIR);
  const collections = new Set<string>();
  const declared = new Set<string>();
  for (const { doc } of files) {
    for (const [section, prefix] of [
      ['resource', ''],
      ['data', 'data.'],
    ] as const) {
      for (const [type, byName] of Object.entries(asObj(doc[section] ?? {}, section))) {
        for (const [name, bodies] of Object.entries(asObj(byName, type))) {
          const address = `${prefix}${type}.${name}`;
          declared.add(address);
          const body = asObj((bodies as Json[])[0], address);
          if ('count' in body || 'for_each' in body) collections.add(address);
        }
      }
    }
  }

  const REF =
    /(?<![\w.])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)((?:\[[^[\]]*\])?)((?:\.[A-Za-z_]\w*|\[[^[\]]*\])*)/g;
  const rewrite = (s: string): string =>
    s.replace(REF, (match, data: string | undefined, type: string, name: string, index: string) => {
      const address = `${data ?? ''}${type}.${name}`;
      if (!declared.has(address)) return match;
      if (index === '' && collections.has(address)) return standIn(address);
      return `${standIn(address)}${index}.id`;
    });
  const rewriteAll = (v: Json): Json => {
    if (typeof v === 'string') return rewrite(v);
    if (Array.isArray(v)) return v.map(rewriteAll);
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewriteAll(x)]));
    return v;
  };
  // Dynamic blocks: their content reads the iterator, meaningless here; what they produce is decided by for_each.
  const withoutDynamic = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(withoutDynamic);
    if (!isObj(v)) return v;
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'dynamic' && isObj(x)) {
        for (const [name, list] of Object.entries(x)) {
          out[`dynamic_${name}`] = (list as Json[]).map((d) => asObj(d, 'dynamic').for_each ?? null);
        }
      } else out[k] = withoutDynamic(x);
    }
    return out;
  };

  const standIns: Obj = {};
  const locals: Obj = {};
  const outputs: Obj = {};
  const imports: Obj[] = [];
  const moved: Obj[] = [];
  // `to`/`from` are addresses, possibly with an index: google_x.n[0] → terraform_data.google_x__n[0].
  const movedAddress = (v: Json | undefined): string =>
    String(v)
      .replace(/^\$\{(.*)\}$/, '$1')
      .replace(/^([^[]+)/, (a) => standIn(a));
  for (const { doc } of files) {
    for (const [section, prefix] of [
      ['resource', ''],
      ['data', 'data.'],
    ] as const) {
      for (const [type, byName] of Object.entries(asObj(doc[section] ?? {}, section))) {
        const writeOnly = section === 'resource' ? writeOnlyArguments(type) : new Set<string>();
        for (const [name, bodies] of Object.entries(asObj(byName, type))) {
          const address = `${prefix}${type}.${name}`;
          const body = asObj((bodies as Json[])[0], address);
          const args: Obj = {};
          for (const [k, v] of Object.entries(body)) {
            if (!DROPPED.has(k) && !writeOnly.has(k)) args[k] = v;
          }
          const stub: Obj = { triggers_replace: rewriteAll(withoutDynamic(args)) };
          for (const meta of ['count', 'for_each'] as const) {
            if (meta in body) stub[meta] = rewriteAll(body[meta]!);
          }
          const dependsOn = (body.depends_on as Json[] | undefined) ?? [];
          if (dependsOn.length > 0) {
            stub.depends_on = dependsOn.map((d) => standIn(String(d).replace(/^\$\{(.*)\}$/, '$1')));
          }
          standIns[standIn(address).slice('terraform_data.'.length)] = stub;
        }
      }
    }
    for (const block of (doc.locals as Json[] | undefined) ?? []) {
      for (const [k, v] of Object.entries(asObj(block, 'locals'))) locals[k] = rewriteAll(v);
    }
    for (const block of ((doc.import as Json[] | undefined) ?? []).filter(isObj)) {
      imports.push({ ...(rewriteAll(block) as Obj), to: movedAddress(block.to) });
    }
    for (const block of ((doc.moved as Json[] | undefined) ?? []).filter(isObj)) {
      moved.push({ from: movedAddress(block.from), to: movedAddress(block.to) });
    }
    for (const [name, bodies] of Object.entries(asObj(doc.output ?? {}, 'output'))) {
      const body = asObj((bodies as Json[])[0], `output ${name}`);
      const out: Obj = { value: rewriteAll(body.value ?? null) };
      if (body.sensitive !== undefined) out.sensitive = body.sensitive;
      outputs[name] = out;
    }
  }

  const tmp = tempDir('plan');
  const dir = path.join(tmp, 'terraform');
  mkdirSync(dir);
  // The configuration reads ../shared (view SQL) and schema/ relative to itself.
  symlinkSync(path.join(ROOT, 'shared'), path.join(tmp, 'shared'), 'dir');
  symlinkSync(path.join(TF_DIR, 'schema'), path.join(dir, 'schema'), 'dir');
  copyFileSync(path.join(TF_DIR, 'variables.tf'), path.join(dir, 'variables.tf'));
  writeFileSync(
    path.join(dir, 'stand-ins.tf.json'),
    JSON.stringify(
      { resource: { terraform_data: standIns }, locals, output: outputs, import: imports, moved },
      null,
      1,
    ),
  );

  const fail = (what: string, r: { status: number | null; stdout: string; stderr: string }): never => {
    throw new Error(`terraform ${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  };
  const init = run('terraform', ['init', '-input=false', '-no-color'], { cwd: dir });
  if (init.status !== 0) fail('init', init);
  const varArgs = (vars: Record<string, string>): string[] =>
    Object.entries(vars).map(([k, v]) => `-var=${k}=${v}`);

  return {
    apply(vars, env = {}) {
      const r = run('terraform', ['apply', '-auto-approve', '-input=false', '-no-color', ...varArgs(vars)], {
        cwd: dir,
        env,
      });
      if (r.status !== 0) fail('apply', r);
    },
    plan(vars, env = {}) {
      const p = run('terraform', ['plan', '-input=false', '-no-color', '-out=plan.bin', ...varArgs(vars)], {
        cwd: dir,
        env,
      });
      if (p.status !== 0) fail('plan', p);
      const show = run('terraform', ['show', '-json', 'plan.bin'], { cwd: dir, env });
      if (show.status !== 0) fail('show', show);
      const json = JSON.parse(show.stdout) as {
        resource_changes?: Array<{
          address: string;
          change: { actions: string[]; importing?: { id: string } };
        }>;
        output_changes?: Record<string, { actions: string[] }>;
      };
      return {
        imports: (json.resource_changes ?? []).flatMap((c) =>
          c.change.importing === undefined ? [] : [{ address: c.address, id: c.change.importing.id }],
        ),
        changes: (json.resource_changes ?? [])
          .filter((c) => c.change.actions.join() !== 'no-op')
          .map((c) => ({ address: c.address, actions: c.change.actions })),
        outputs: Object.entries(json.output_changes ?? {})
          .filter(([, c]) => c.actions.join() !== 'no-op')
          .map(([name]) => name),
      };
    },
    destroy(vars, env = {}) {
      const r = run(
        'terraform',
        ['destroy', '-auto-approve', '-input=false', '-no-color', ...varArgs(vars)],
        {
          cwd: dir,
          env,
        },
      );
      if (r.status !== 0) fail('destroy', r);
    },
    close() {
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
