// cioWebhook's module as one esbuild bundle: its code, shared/ and the Pub/Sub client in one file, with what
// scripts/packaging/slimming.ts leaves out, slims or patches. functions-framework stays outside, so the framework that
// serves is the one that registered the target. A cold start is mostly loading about 500 modules; one file skips the
// per-module resolution and reads.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { ProtoNode } from './publish-only-protos';
import { LEFT_OUT, PATCHED_SOURCES, SLIMMED_DESCRIPTORS, patchSource, standIn } from './slimming';

export interface BundleOptions {
  /** Repository root: node_modules and the paths in the tables are relative to it. */
  root: string;
  /** The compiled module to bundle. */
  entry: string;
  /** Where to write the bundle (overwritten). */
  outfile: string;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function leaveOut(root: string, applied: Set<string>): Plugin {
  return {
    name: 'leave-out',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^\.\.?\// }, (args) => {
        const importer = path.relative(root, args.importer).split(path.sep).join('/');
        if (!LEFT_OUT[importer]?.test(args.path)) return undefined;
        applied.add(`${importer} -> ${args.path}`);
        return { path: `${importer} -> ${args.path}`, namespace: 'left-out' };
      });
      esbuild.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
        loader: 'js',
        contents: `module.exports = ${standIn(args.path)};\n`,
      }));
    },
  };
}

function slimDescriptors(root: string, applied: Set<string>): Plugin {
  return {
    name: 'slim-descriptors',
    setup(esbuild) {
      esbuild.onLoad({ filter: /[\\/]protos[\\/][a-z_]+\.json$/ }, (args) => {
        const file = path.relative(root, args.path).split(path.sep).join('/');
        const slim = SLIMMED_DESCRIPTORS[file];
        if (!slim) return undefined;
        applied.add(file);
        return { loader: 'json', contents: JSON.stringify(slim(readJson<ProtoNode>(args.path))) };
      });
    },
  };
}

function patchSources(root: string, applied: Set<string>): Plugin {
  return {
    name: 'patch-sources',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.js$/ }, (args) => {
        const file = path.relative(root, args.path).split(path.sep).join('/');
        const patches = PATCHED_SOURCES[file];
        if (!patches) return undefined;
        applied.add(file);
        return { loader: 'js', contents: patchSource(file, readFileSync(args.path, 'utf8'), patches) };
      });
    },
  };
}

/** Bundles `entry` into `outfile`; returns the npm packages the bundle contains (sorted). */
export async function bundleWebhook({ root, entry, outfile }: BundleOptions): Promise<string[]> {
  const applied = new Set<string>();
  const result = await build({
    absWorkingDir: root, // the paths esbuild writes into comments: the same bundle wherever it is built
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // Less to read and parse at every cold start; names are kept, so stack traces still say which function failed.
    minifyWhitespace: true,
    external: ['@google-cloud/functions-framework'],
    // Packages resolve from the repository even when dist/ was compiled elsewhere (the packaging tests).
    nodePaths: [path.join(root, 'node_modules')],
    plugins: [leaveOut(root, applied), slimDescriptors(root, applied), patchSources(root, applied)],
    metafile: true,
    logLevel: 'silent',
  });
  // A warning (e.g. a require esbuild cannot follow) could mean a module missing at run time.
  if (result.warnings.length > 0)
    throw new Error(`esbuild warnings:\n${result.warnings.map((w) => w.text).join('\n')}`);
  // A dependency update that moves these files must not silently bring the cold-start cost back.
  const expected = [
    ...Object.keys(LEFT_OUT),
    ...Object.keys(SLIMMED_DESCRIPTORS),
    ...Object.keys(PATCHED_SOURCES),
  ];
  const done = new Set([...applied].map((a) => a.split(' -> ')[0]));
  const missed = expected.filter((file) => !done.has(file));
  if (missed.length > 0) throw new Error(`the cioWebhook bundle no longer slims ${missed.join(', ')}`);
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const at = input.lastIndexOf('node_modules/');
    if (at === -1) continue;
    const [first, second] = input.slice(at + 'node_modules/'.length).split('/');
    packages.add(first!.startsWith('@') ? `${first}/${second}` : first!);
  }
  return [...packages].sort();
}
