// The chaos suite and the local-stack tests run the functions from dist/ (as deployed). CI builds first; a
// developer's dist/ may be older than the code, so rebuild when any source under functions/, shared/ or scripts/ (the CLI) is newer than
// the compiled entry point.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

function newestSource(dir: string): number {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).reduce((max, entry) => {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) return max;
    return Math.max(max, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }, 0);
}

export function ensureBuilt(): void {
  const entry = path.join(root, 'dist', 'functions', 'index.js');
  const built = fs.existsSync(entry) ? fs.statSync(entry).mtimeMs : 0;
  const sources = Math.max(
    newestSource(path.join(root, 'functions')),
    newestSource(path.join(root, 'shared')),
    newestSource(path.join(root, 'scripts')),
  );
  if (built >= sources) return;
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (tsc.status !== 0) throw new Error(`npm run build failed:\n${tsc.stdout}${tsc.stderr}`);
}
