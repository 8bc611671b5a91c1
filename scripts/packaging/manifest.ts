// The deployable package.json and package-lock.json. Google's Node.js buildpack installs with `npm ci` whenever a
// lockfile is present (it generates one with `npm install --package-lock-only` otherwise, i.e. unpinned versions),
// and `npm ci` refuses a package.json and lockfile that disagree: so the deployed lockfile is the repository's with
// every dev-only package removed, the same pinned versions the tests ran, nothing production does not load. The
// package.json has no scripts: the buildpack runs a `build` (or `gcp-build`) script if there is one, after
// installing devDependencies, and the code deployed is already compiled.

export interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  main: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

export interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

export interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
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
