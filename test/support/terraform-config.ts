// terraform/ read the way the tests need it: every file parsed with @cdktf/hcl2json (expressions stay source text,
// `${...}`), blocks as lists of objects, plus the helpers that look things up in that shape and run terraform.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const ROOT = path.join(__dirname, '..', '..');
export const TF_DIR = path.join(ROOT, 'terraform');

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

export interface TerraformConfig {
  resources: Record<string, Record<string, Obj>>;
  data: Record<string, Record<string, Obj>>;
  variables: Record<string, Obj>;
  locals: Obj;
  outputs: Record<string, Obj>;
  providers: Json[];
  /** Top-level `import` blocks. */
  imports: Obj[];
  /** Top-level `moved` blocks. */
  moved: Obj[];
}

export const isObj = (v: Json | undefined): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function asObj(v: Json | undefined, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what}: expected an object, got ${JSON.stringify(v)}`);
  return v;
}

/** hcl2json renders a block as a list of objects: every instance of `name` in `body`. */
export function blocks(body: Obj, name: string): Obj[] {
  const v = body[name];
  return Array.isArray(v) ? v.filter(isObj) : [];
}

export function block(body: Obj, name: string): Obj {
  const [first] = blocks(body, name);
  if (first === undefined) throw new Error(`missing block ${name}`);
  return first;
}

export function text(v: Json | undefined, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Every .tf file of `dir`, parsed. */
export async function parseTerraformFiles(dir: string): Promise<Array<{ file: string; doc: Obj }>> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort();
  return Promise.all(
    files.map(async (file) => ({
      file,
      doc: (await parse(file, readFileSync(path.join(dir, file), 'utf8'))) as Obj,
    })),
  );
}

export async function loadTerraform(dir: string = TF_DIR): Promise<TerraformConfig> {
  const config: TerraformConfig = {
    resources: {},
    data: {},
    variables: {},
    locals: {},
    outputs: {},
    providers: [],
    imports: [],
    moved: [],
  };
  const addNamed = (target: Record<string, Record<string, Obj>>, section: Json | undefined): void => {
    for (const [type, byName] of Object.entries(asObj(section ?? {}, 'section'))) {
      for (const [name, bodies] of Object.entries(asObj(byName, type))) {
        (target[type] ??= {})[name] = asObj((bodies as Json[])[0], `${type}.${name}`);
      }
    }
  };
  for (const { doc } of await parseTerraformFiles(dir)) {
    addNamed(config.resources, doc.resource);
    addNamed(config.data, doc.data);
    for (const [name, bodies] of Object.entries(asObj(doc.variable ?? {}, 'variable'))) {
      config.variables[name] = asObj((bodies as Json[])[0], `variable ${name}`);
    }
    for (const locals of (doc.locals as Json[] | undefined) ?? [])
      Object.assign(config.locals, asObj(locals, 'locals'));
    if (doc.provider !== undefined) config.providers.push(doc.provider);
    for (const [name, bodies] of Object.entries(asObj(doc.output ?? {}, 'output'))) {
      config.outputs[name] = asObj((bodies as Json[])[0], `output ${name}`);
    }
    config.imports.push(...((doc.import as Json[] | undefined) ?? []).filter(isObj));
    config.moved.push(...((doc.moved as Json[] | undefined) ?? []).filter(isObj));
  }
  return config;
}

export function resource(config: TerraformConfig, type: string, name: string): Obj {
  const body = config.resources[type]?.[name];
  if (body === undefined) throw new Error(`terraform/ declares no ${type}.${name}`);
  return body;
}

export function variableDefault(config: TerraformConfig, name: string): Json {
  const v = config.variables[name];
  if (v === undefined || !('default' in v)) throw new Error(`variable ${name} has no default`);
  return v.default!;
}

/** "${local.name}" or "${var.name}" → the local's / the variable default's value; anything else as is. */
export function resolve(config: TerraformConfig, v: Json | undefined): Json | undefined {
  if (typeof v !== 'string') return v;
  const local = /^\$\{local\.(\w+)\}$/.exec(v);
  if (local) return config.locals[local[1]!];
  const variable = /^\$\{var\.(\w+)\}$/.exec(v);
  if (variable) return variableDefault(config, variable[1]!);
  return v;
}

export function allStrings(v: Json | undefined, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => allStrings(x, out));
  else if (isObj(v)) Object.values(v).forEach((x) => allStrings(x, out));
  return out;
}

/** Resources (`type.name`), data sources (`data.type.name`) and `time_sleep`s `body` refers to, depends_on included. */
export function referencedAddresses(body: Json | undefined, declared: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const s of allStrings(body)) {
    for (const [ref] of s.matchAll(/(?<![\w.])(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*/g)) {
      if (declared.has(ref)) out.add(ref);
    }
  }
  return out;
}

/** Every resource and data source address, `type.name` / `data.type.name`. */
export function declaredAddresses(config: TerraformConfig): Set<string> {
  const out = new Set<string>();
  for (const [type, byName] of Object.entries(config.resources)) {
    for (const name of Object.keys(byName)) out.add(`${type}.${name}`);
  }
  for (const [type, byName] of Object.entries(config.data)) {
    for (const name of Object.keys(byName)) out.add(`data.${type}.${name}`);
  }
  return out;
}

/** What each resource and data source depends on, directly or through locals, transitively. */
export function dependencyClosure(config: TerraformConfig): Map<string, Set<string>> {
  const declared = declaredAddresses(config);
  const localRefs = (s: string): string[] => [...s.matchAll(/(?<![\w.])local\.(\w+)/g)].map((m) => m[1]!);
  // A local's dependencies: the addresses its expression names, and those of the locals it names.
  const localDeps = new Map<string, Set<string>>();
  const depsOfLocal = (name: string, seen: Set<string> = new Set()): Set<string> => {
    const known = localDeps.get(name);
    if (known !== undefined) return known;
    const deps = referencedAddresses(config.locals[name], declared);
    seen.add(name);
    for (const s of allStrings(config.locals[name])) {
      for (const other of localRefs(s)) {
        if (!seen.has(other)) for (const d of depsOfLocal(other, seen)) deps.add(d);
      }
    }
    localDeps.set(name, deps);
    return deps;
  };
  const direct = new Map<string, Set<string>>();
  const add = (address: string, body: Obj): void => {
    const deps = referencedAddresses(body, declared);
    for (const s of allStrings(body))
      for (const l of localRefs(s)) for (const d of depsOfLocal(l)) deps.add(d);
    deps.delete(address);
    direct.set(address, deps);
  };
  for (const [type, byName] of Object.entries(config.resources)) {
    for (const [name, body] of Object.entries(byName)) add(`${type}.${name}`, body);
  }
  for (const [type, byName] of Object.entries(config.data)) {
    for (const [name, body] of Object.entries(byName)) add(`data.${type}.${name}`, body);
  }
  const closure = new Map<string, Set<string>>();
  for (const start of direct.keys()) {
    const seen = new Set<string>();
    const stack = [...direct.get(start)!];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(direct.get(next) ?? []));
    }
    closure.set(start, seen);
  }
  return closure;
}

// ---------- running terraform ----------

export const TF_ENV = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
export const hasTerraform = spawnSync('terraform', ['version'], { env: TF_ENV }).status === 0;

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string; env?: Record<string, string | undefined> } = {},
): SpawnSyncReturns<string> {
  const result = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 180_000,
    ...opts,
    env: { ...TF_ENV, ...opts.env },
  });
  if (result.error) throw result.error;
  return result;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `cio-tf-${prefix}-`));
}
