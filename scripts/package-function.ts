// `npm run package`: builds the folder Terraform zips and deploys to both Cloud Run functions
// (terraform/build/source): the compiled dist/functions and dist/shared, a package.json whose main is the entry
// that registers both targets, and a package-lock.json that matches it.
//
// Why a lockfile, and why a pruned one: Google's Node.js buildpack installs with `npm ci` whenever a lockfile is
// present (it generates one with `npm install --package-lock-only` otherwise, i.e. unpinned versions). `npm ci`
// refuses a package.json and lockfile that disagree, so the deployed lockfile is the repository's lockfile with
// every dev-only package removed: the same pinned versions we test with, nothing that production does not load.
// The package.json has no scripts: the buildpack runs a `build` (or `gcp-build`) script if there is one, after
// installing devDependencies, and the code here is already compiled.

import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './repo-root';

/** The compiled folders the functions need (functions/ imports shared/, nothing else). */
export const PACKAGED_DIRS = ['functions', 'shared'] as const;

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  main: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

export interface PackageOptions {
  /** Repository root: package.json and package-lock.json are read from here. */
  root?: string;
  /** Compiled output of `npm run build` (default <root>/dist). */
  distDir?: string;
  /** Folder to (re)create (default <root>/terraform/build/source). */
  outDir?: string;
}

export interface PackageResult {
  outDir: string;
  files: number;
  dependencies: string[];
  lockedPackages: number;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function countFiles(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (n, entry) => n + (entry.isDirectory() ? countFiles(path.join(dir, entry.name)) : 1),
    0,
  );
}

/** The deployable package.json: runtime fields only, production dependencies only, no scripts. */
export function productionManifest(manifest: PackageJson, lock: Lockfile): PackageJson {
  const deployed: PackageJson = {
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    license: manifest.license,
    main: manifest.main,
    engines: manifest.engines,
    dependencies: manifest.dependencies ?? {},
  };
  // Keep install-script approvals only for packages that are still installed.
  const kept = Object.entries(manifest.allowScripts ?? {}).filter(
    ([name]) =>
      lock.packages[`node_modules/${name}`]?.dev !== true && `node_modules/${name}` in lock.packages,
  );
  if (kept.length > 0) deployed.allowScripts = Object.fromEntries(kept);
  return deployed;
}

/** The repository lockfile without dev-only packages, its root entry matching the deployed package.json. */
export function productionLockfile(lock: Lockfile, deployed: PackageJson): Lockfile {
  if (lock.lockfileVersion < 2)
    throw new Error('package-lock.json v2 or later is needed (it marks dev-only packages)');
  const packages: Record<string, LockEntry> = {
    '': {
      name: deployed.name,
      version: deployed.version,
      license: deployed.license,
      dependencies: deployed.dependencies,
      engines: deployed.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key !== '' && entry.dev !== true) packages[key] = entry;
  }
  return {
    name: deployed.name,
    version: deployed.version,
    lockfileVersion: lock.lockfileVersion,
    requires: true,
    packages,
  };
}

export function packageFunction(options: PackageOptions = {}): PackageResult {
  const root = options.root ?? repoRoot();
  const distDir = options.distDir ?? path.join(root, 'dist');
  const outDir = options.outDir ?? path.join(root, 'terraform', 'build', 'source');

  const manifest = readJson<PackageJson>(path.join(root, 'package.json'));
  const lock = readJson<Lockfile>(path.join(root, 'package-lock.json'));
  const entry = path.join(distDir, path.relative('dist', manifest.main));
  if (!manifest.main.startsWith('dist/') || !existsSync(entry)) {
    throw new Error(`${entry} not found: run \`npm run build\` first`);
  }

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const dir of PACKAGED_DIRS) {
    // Source maps point at .ts files that are not deployed.
    cpSync(path.join(distDir, dir), path.join(outDir, 'dist', dir), {
      recursive: true,
      filter: (src) => !src.endsWith('.map'),
    });
  }
  const deployed = productionManifest(manifest, lock);
  const deployedLock = productionLockfile(lock, deployed);
  writeJson(path.join(outDir, 'package.json'), deployed);
  writeJson(path.join(outDir, 'package-lock.json'), deployedLock);

  return {
    outDir,
    files: countFiles(outDir),
    dependencies: Object.keys(deployed.dependencies ?? {}),
    lockedPackages: Object.keys(deployedLock.packages).length - 1,
  };
}

if (require.main === module) {
  const result = packageFunction();
  console.log(
    `packaged ${result.files} files into ${path.relative(process.cwd(), result.outDir)} ` +
      `(${result.dependencies.length} dependencies, ${result.lockedPackages} locked packages)`,
  );
}
