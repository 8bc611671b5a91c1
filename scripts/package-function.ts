// `npm run package`: builds the folder Terraform zips and deploys to both Cloud Run functions
// (terraform/build/source): the compiled dist/functions and dist/shared, a package.json whose main is the entry
// that registers both targets, and a package-lock.json that matches it (scripts/packaging/manifest.ts says why).
// cioWebhook's module is replaced by one esbuild bundle (scripts/packaging/webhook-bundle.ts, with what
// scripts/packaging/slimming.ts leaves out); the processor is deployed as compiled, from node_modules.
// `npm run bench` measures this package, not dist/.

import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  productionLockfile,
  productionManifest,
  type Lockfile,
  type PackageJson,
} from './packaging/manifest';
import { bundleWebhook } from './packaging/webhook-bundle';
import { repoRoot } from './repo-root';

/** The compiled folders the functions need (functions/ imports shared/, nothing else). */
export const PACKAGED_DIRS = ['functions', 'shared'] as const;

/** The module bundled for cioWebhook, relative to the package (and to the repository's dist/ parent). */
export const WEBHOOK_MODULE = 'dist/functions/webhook.js';

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
  /** npm packages inside the cioWebhook bundle (sorted). */
  webhookBundlePackages: string[];
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

export async function packageFunction(options: PackageOptions = {}): Promise<PackageResult> {
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
  const webhookBundlePackages = await bundleWebhook({
    root,
    entry: path.join(distDir, path.relative('dist', WEBHOOK_MODULE)),
    outfile: path.join(outDir, WEBHOOK_MODULE),
  });
  const deployed = productionManifest(manifest, lock);
  const deployedLock = productionLockfile(lock, deployed);
  writeJson(path.join(outDir, 'package.json'), deployed);
  writeJson(path.join(outDir, 'package-lock.json'), deployedLock);

  return {
    outDir,
    files: countFiles(outDir),
    dependencies: Object.keys(deployed.dependencies ?? {}),
    lockedPackages: Object.keys(deployedLock.packages).length - 1,
    webhookBundlePackages,
  };
}

if (require.main === module) {
  packageFunction().then(
    (result) =>
      console.log(
        `packaged ${result.files} files into ${path.relative(process.cwd(), result.outDir)} ` +
          `(${result.dependencies.length} dependencies, ${result.lockedPackages} locked packages; ` +
          `cioWebhook bundles ${result.webhookBundlePackages.length} packages)`,
      ),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
