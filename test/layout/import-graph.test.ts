// The layout's arrows go one way: no module of the project imports itself back through others (a cycle hides which
// part depends on which, and makes load order matter). Type-only imports count too: they tie the modules' designs.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const FOLDERS = ['functions', 'shared', 'scripts', 'bench'];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((file) => fs.existsSync(file));
}

/** Relative imports of a file: static, dynamic and require(). */
function importsOf(file: string): string[] {
  // Comments may quote an import (`await import('./x')`): only code counts.
  const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
  const specs = [...text.matchAll(/(?:from|import|require)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((spec) => resolve(file, spec)).filter((target): target is string => target !== undefined);
}

/** Every cycle found by a depth-first walk, each as the list of files around it. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

it('finds a cycle when there is one (the check itself works)', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  expect(cycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
});

it('no module of functions/, shared/, scripts/ or bench/ imports itself back through others', () => {
  const files = FOLDERS.flatMap((folder) => sources(path.join(ROOT, folder)));
  expect(files.length).toBeGreaterThan(40);
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const readable = cycles(graph).map((cycle) => cycle.map((file) => path.relative(ROOT, file)).join(' → '));
  expect(readable).toEqual([]);
});
