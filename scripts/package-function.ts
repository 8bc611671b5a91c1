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
//
// cioWebhook is deployed as one file: dist/functions/webhook.js is replaced by an esbuild bundle of itself, shared/ and
// the Pub/Sub client (functions-framework stays outside, so the framework that serves is the one that registered
// the target). Its cold start is mostly loading about 500 modules; one file skips the per-module resolution and
// reads, leaves out what the clients load but Publish never runs (LEFT_OUT, PATCHED_SOURCES), and gives the Pub/Sub
// client descriptors of Publish alone (SLIMMED_DESCRIPTORS). The processor is deployed as compiled, from node_modules. `npm run bench` measures this package, not dist/.

import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { publishOnlyProtos, type ProtoNode } from './publish-only-protos';
import { repoRoot } from './repo-root';

/** The compiled folders the functions need (functions/ imports shared/, nothing else). */
export const PACKAGED_DIRS = ['functions', 'shared'] as const;

/** The module bundled for cioWebhook, relative to the package (and to the repository's dist/ parent). */
export const WEBHOOK_MODULE = 'dist/functions/webhook.js';

/**
 * Modules the clients load at startup but Publish never runs. The bundle gets a stand-in for each that throws if
 * anything ever reads it, so a client version that starts using one fails loudly in the packaging tests instead of
 * misbehaving:
 * - static protobufjs modules (about 5 MB of generated code, ~80 ms to load) required only to export them as
 *   `protos` for callers' TypeScript types (the clients themselves work from protos.json), or, in longrunning.js,
 *   only to poll or cancel a long-running operation, which Publish never returns;
 * - the handwritten client's Topic, Subscription, Snapshot, Schema and IAM classes and its tracing: the webhook
 *   builds a `PubSub` only to resolve the generated client's options (emulator endpoint, gRPC defaults).
 */
export const LEFT_OUT: Record<string, RegExp> = {
  'node_modules/@google-cloud/pubsub/build/src/index.js':
    /^(\.\.\/protos\/protos|\.\/(iam|snapshot|subscriber|schema|subscription|topic|temporal|debug))$/,
  'node_modules/@google-cloud/pubsub/build/src/pubsub.js':
    /^\.\/(subscription|snapshot|topic|schema|telemetry-tracing)$/,
  'node_modules/@google-cloud/pubsub-api/build/src/index.js': /^\.\.\/protos\/protos$/,
  'node_modules/google-gax/build/src/index.js': /^\.\.\/protos\/(iam_service|locations|operations)$/,
  'node_modules/google-gax/build/src/fallback.js': /^\.\.\/protos\/(iam_service|locations|operations)$/,
  'node_modules/google-gax/build/src/longRunningCalls/longrunning.js': /^\.\.\/\.\.\/protos\/operations$/,
};

/**
 * Descriptors (protobufjs JSON) that the Pub/Sub client turns into gRPC definitions when it is constructed, the
 * largest cost of a cold start after loading modules, replaced in the bundle by what Publish needs:
 * - the Pub/Sub descriptor (all three v1 services) by Publisher.Publish and its messages (publish-only-protos.ts);
 *   a Subscriber or SchemaService client, or another Publisher method, would fail on the missing definitions;
 * - the IAM descriptor by an empty one: every v1 client builds an IamClient, which loads it at once but uses it
 *   only for an IAM call (getIamPolicy and the like), where the empty one fails.
 */
export const SLIMMED_DESCRIPTORS: Record<string, (full: ProtoNode) => ProtoNode> = {
  'node_modules/@google-cloud/pubsub-api/build/protos/protos.json': (full) =>
    publishOnlyProtos(full, 'google.pubsub.v1.Publisher', ['Publish']),
  'node_modules/google-gax/build/protos/iam_service.json': () => ({ nested: {} }),
};

/** Source of the error that code left out of the bundle throws when something reaches it. */
function leftOutError(what: string): string {
  return `new Error(${JSON.stringify(`${what} was left out of the cioWebhook bundle (scripts/package-function.ts)`)})`;
}

/** Source of an object that throws when anything reads it: what the bundle has instead of a module it left out. */
function standIn(what: string): string {
  return (
    `new Proxy({}, { get(_, key) {\n` +
    `  if (key === '__esModule' || typeof key === 'symbol') return undefined;\n` +
    `  throw ${leftOutError(what)};\n` +
    `} })`
  );
}

/** Getters in place of proto-loader's descriptor-proto fields (see PATCHED_SOURCES). */
const DESCRIPTOR_PROTO_GETTERS =
  `        get type() { throw ${leftOutError("proto-loader's descriptor proto (type)")}; },\n` +
  `        get fileDescriptorProtos() { throw ${leftOutError("proto-loader's file descriptors (fileDescriptorProtos)")}; },\n`;

/**
 * Passages of dependencies' code that the bundle replaces, each [find, replace]; every `find` must occur exactly once,
 * so a dependency update that changes one fails the packaging instead of bringing the cost back:
 * - @grpc/proto-loader gives every message, enum and proto file a description as descriptor protos (`type`,
 *   `fileDescriptorProtos`), which only a gRPC server's reflection service reads: grpc-js and google-gax never do.
 *   Building them runs protobufjs's descriptor extension (loaded for this alone) over the Publish descriptor:
 *   15–35 ms of every cold start in A/B runs of 21 here. The bundle leaves them out; reading one throws.
 */
export const PATCHED_SOURCES: Record<string, Array<[find: string, replace: string]>> = {
  'node_modules/@grpc/proto-loader/build/src/index.js': [
    [
      'const descriptor = require("protobufjs/ext/descriptor");',
      `const descriptor = ${standIn('protobufjs/ext/descriptor')};`,
    ],
    [
      "    const descriptorList = root.toDescriptor('proto3').file;\n" +
        '    const bufferList = descriptorList.map(value => Buffer.from(descriptor.FileDescriptorProto.encode(value).finish()));\n',
      '    const bufferList = undefined;\n',
    ],
    ["    const messageDescriptor = message.toDescriptor('proto3');\n", ''],
    [
      '        type: messageDescriptor.$type.toObject(messageDescriptor, descriptorOptions),\n' +
        '        fileDescriptorProtos: fileDescriptors,\n',
      DESCRIPTOR_PROTO_GETTERS,
    ],
    ["    const enumDescriptor = enumType.toDescriptor('proto3');\n", ''],
    [
      '        type: enumDescriptor.$type.toObject(enumDescriptor, descriptorOptions),\n' +
        '        fileDescriptorProtos: fileDescriptors,\n',
      DESCRIPTOR_PROTO_GETTERS,
    ],
  ],
};

/** `source` with each [find, replace] applied; throws naming `file` if a `find` does not occur exactly once. */
export function patchSource(file: string, source: string, patches: Array<[string, string]>): string {
  let patched = source;
  for (const [find, replace] of patches) {
    const at = patched.indexOf(find);
    if (at === -1 || patched.indexOf(find, at + 1) !== -1) {
      const excerpt = find.trim().split('\n')[0]!.slice(0, 80);
      throw new Error(
        `${file}: the passage the cioWebhook bundle patches ("${excerpt}") is not there exactly once`,
      );
    }
    patched = patched.slice(0, at) + replace + patched.slice(at + find.length);
  }
  return patched;
}

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

/** Bundles `entry` into `outfile` (overwriting it); returns the npm packages it contains. */
export async function bundleWebhook(root: string, entry: string, outfile: string): Promise<string[]> {
  const applied = new Set<string>();
  const result = await build({
    absWorkingDir: root, // the paths esbuild writes into comments: the same bundle wherever it is built
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // Less to read and parse at every cold start (2.6 MB → 1.6 MB); names are kept, so stack traces still say
    // which function failed.
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
  const webhookBundlePackages = await bundleWebhook(
    root,
    path.join(distDir, path.relative('dist', WEBHOOK_MODULE)),
    path.join(outDir, WEBHOOK_MODULE),
  );
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
