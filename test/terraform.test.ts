// Holds terraform/ to the code it deploys, offline (no provider can be downloaded here, so no `terraform validate`):
// formatting, the provider-schema lint, references between blocks, the variable validations (run by the real
// terraform binary), the env-var contract of shared/config.ts, entry points, schemas, views, IAM, Pub/Sub wiring
// and the deployable package.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { builtinModules } from 'node:module';
import {
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
  mkdirSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { getFunction, getTestServer } from '@google-cloud/functions-framework/testing';
import { PROCESSOR_ENV, RECONCILE_ENV, WEBHOOK_ENV } from '../shared/config';
import {
  EVENTS_TABLE,
  RECONCILE_DRIFT_TABLE,
  RECONCILE_RUNS_TABLE,
  REJECTS_TABLE,
  toBigQueryJson,
} from '../shared/warehouse/schema';
import { exportSchemas, SCHEMA_FILES } from '../scripts/export-schema';
import { packageFunction } from '../scripts/package-function';
import {
  ROOT,
  TF_DIR,
  allStrings,
  asObj,
  block,
  blocks,
  declaredAddresses,
  hasTerraform,
  isObj,
  loadTerraform,
  resource,
  run,
  tempDir,
  text,
  variableDefault,
  type Json,
  type Obj,
  type TerraformConfig,
} from './support/terraform-config';
import { lintTerraform } from './support/terraform-lint';

/** Contract variables Terraform leaves unset on purpose, so the code's default applies. */
const DELIBERATELY_DEFAULTED: Record<'webhook' | 'processor' | 'reconcile', string[]> = {
  webhook: [],
  // A URL override for tests and proxies; production talks to Customer.io's regional endpoint (CIO_REGION).
  processor: ['CIO_TRACK_API_URL'],
  reconcile: ['CIO_APP_API_URL'],
};

/** Warnings the offline linter may print: time_sleep belongs to hashicorp/time, which its schema does not cover. */
const ALLOWED_LINT_WARNING =
  /resource\.time_sleep\.\w+: warning: resource type "time_sleep" is not in the schema/;

/** Environment variable names a function resource sets: plain, fixed secrets, and dynamic secret blocks. */
function envNames(
  config: TerraformConfig,
  fn: Obj,
): { plain: string[]; secret: string[]; dynamicSecret: string[] } {
  const service = block(fn, 'service_config');
  // A map literal, or a conditional whose map names one variable per line (`NAME = ...`).
  const namesIn = (name: string): string[] => {
    const local = config.locals[name];
    return isObj(local)
      ? Object.keys(local)
      : [...text(local, `local.${name}`).matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1]!);
  };
  // `local.x`, or `merge(local.x, local.y, ...)` of such maps.
  const plain = [
    ...text(service.environment_variables, 'environment_variables').matchAll(/local\.(\w+)/g),
  ].flatMap(([, name]) => namesIn(name!));
  const secret = blocks(service, 'secret_environment_variables').map((b) => text(b.key, 'secret key'));
  const dynamicSecret: string[] = [];
  for (const d of blocks(isObj(service.dynamic) ? service.dynamic : {}, 'secret_environment_variables')) {
    for (const [, name] of text(d.for_each, 'for_each').matchAll(/local\.(\w+)/g)) {
      dynamicSecret.push(...namesIn(name!));
    }
  }
  return { plain, secret, dynamicSecret };
}

if (!hasTerraform)
  console.warn('terraform binary not found on PATH: the terraform fmt/console/plan tests are skipped');
const withTerraform = hasTerraform ? it : it.skip;

// ---------- tests ----------

let config: TerraformConfig;
beforeAll(async () => {
  config = await loadTerraform(TF_DIR);
});

describe('terraform/ offline checks', () => {
  withTerraform('is terraform fmt clean', () => {
    const result = run('terraform', ['fmt', '-check', '-recursive', '-diff', TF_DIR]);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('passes the provider-schema lint (arguments, blocks, required fields of hashicorp/google 7.x)', () => {
    const result = lintTerraform();
    expect(result.errors).toEqual([]);
    expect(result.summary).toMatch(/0 error\(s\)/);
    expect(result.status).toBe(0);
    expect(result.warnings.filter((l) => !ALLOWED_LINT_WARNING.test(l))).toEqual([]);
  });

  it('refers only to variables, locals, resources and data sources it declares, and uses every variable', () => {
    const declared = declaredAddresses(config);
    const missing = new Set<string>();
    const usedVariables = new Set<string>();
    const everything: Json = {
      r: config.resources as unknown as Json,
      d: config.data as unknown as Json,
      l: config.locals,
      o: config.outputs as unknown as Json,
      v: config.variables as unknown as Json,
      p: config.providers,
      i: config.imports,
    };
    for (const s of allStrings(everything).filter((x) => x.includes('${'))) {
      for (const [, name] of s.matchAll(/(?<![\w.])var\.(\w+)/g)) {
        usedVariables.add(name!);
        if (!(name! in config.variables)) missing.add(`var.${name}`);
      }
      for (const [, name] of s.matchAll(/(?<![\w.])local\.(\w+)/g)) {
        if (!(name! in config.locals)) missing.add(`local.${name}`);
      }
      for (const [ref] of s.matchAll(/(?<![\w.])data\.[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*/g)) {
        if (!declared.has(ref)) missing.add(ref);
      }
      for (const [, ref] of s.matchAll(/(?<![\w.])((?:google|time)_[a-z0-9_]+\.[A-Za-z_][\w-]*)/g)) {
        if (!declared.has(ref!)) missing.add(ref!);
      }
    }
    expect([...missing]).toEqual([]);
    expect(Object.keys(config.variables).filter((v) => !usedVariables.has(v))).toEqual([]);
  });

  it('describes and types every variable, and requires only project_id and region', () => {
    for (const [name, v] of Object.entries(config.variables)) {
      expect([name, typeof v.description, typeof v.type]).toEqual([name, 'string', 'string']);
    }
    const required = Object.entries(config.variables)
      .filter(([, v]) => !('default' in v))
      .map(([name]) => name);
    expect(required.sort()).toEqual(['project_id', 'region']);
  });

  it('pins google and google-beta to 7.x and needs Terraform 1.11+ (write-only secret arguments)', async () => {
    const doc = (await parse('versions.tf', readFileSync(path.join(TF_DIR, 'versions.tf'), 'utf8'))) as Obj;
    const terraform = asObj((doc.terraform as Json[])[0], 'terraform');
    expect(terraform.required_version).toBe('>= 1.11');
    const providers = asObj((terraform.required_providers as Json[])[0], 'required_providers');
    expect(providers.google).toEqual({ source: 'hashicorp/google', version: '~> 7.0' });
    expect(providers['google-beta']).toEqual({ source: 'hashicorp/google-beta', version: '~> 7.0' });
    expect(asObj(providers.archive, 'archive').source).toBe('hashicorp/archive');
    expect(asObj(providers.time, 'time').source).toBe('hashicorp/time');
  });
});

describe('terraform variable validations (real terraform plan on variables.tf)', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('vars');
    copyFileSync(path.join(TF_DIR, 'variables.tf'), path.join(dir, 'variables.tf'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const plan = (...vars: string[]): SpawnSyncReturns<string> =>
    run(
      'terraform',
      [
        'plan',
        '-input=false',
        '-no-color',
        '-var=project_id=my-project-1',
        '-var=region=us-central1',
        ...vars.map((v) => `-var=${v}`),
      ],
      { cwd: dir },
    );
  const oneLine = (r: SpawnSyncReturns<string>): string => (r.stdout + r.stderr).replace(/\s+/g, ' ');

  withTerraform('accepts the defaults', () => {
    const result = plan();
    expect(oneLine(result)).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });

  withTerraform(
    'refuses a processor fleet that could exceed the Track API budget (max instances x per-instance rps)',
    () => {
      const result = plan('processor_max_instances=11');
      expect(result.status).not.toBe(0);
      expect(oneLine(result)).toMatch(
        /processor_max_instances x track_max_rps must not exceed track_api_rps_budget/,
      );
      expect(plan('processor_max_instances=20', 'track_max_rps=5').status).toBe(0);
    },
  );

  withTerraform('refuses a ledger lease that does not outlast the processor timeout', () => {
    const result = plan('processor_timeout_seconds=120');
    expect(result.status).not.toBe(0);
    expect(oneLine(result)).toMatch(/dedupe_lease_seconds must be greater than processor_timeout_seconds/);
  });

  withTerraform(
    'refuses a processor timeout shorter than the per-event deadline (40 s) plus a margin',
    () => {
      const result = plan('processor_timeout_seconds=30');
      expect(result.status).not.toBe(0);
      expect(oneLine(result)).toMatch(/processor_timeout_seconds must be between 45/);
      expect(plan('processor_timeout_seconds=45').status).toBe(0);
    },
  );

  withTerraform('refuses an empty signing-key list and half of the Track credentials', () => {
    expect(oneLine(plan('webhook_signing_keys= , '))).toMatch(
      /webhook_signing_keys must hold at least one key/,
    );
    expect(oneLine(plan('track_site_id=123'))).toMatch(/Set both track_site_id and track_api_key/);
  });
});

describe('terraform matches the code it deploys', () => {
  const functions = (): Record<string, Obj> => config.resources.google_cloudfunctions2_function ?? {};

  it('deploys exactly the entry points functions/index.ts registers, on nodejs24', async () => {
    const source = readFileSync(path.join(ROOT, 'functions', 'index.ts'), 'utf8');
    const targetsBlock = /const targets[^{]*\{([\s\S]*?)\n\};/.exec(source)?.[1] ?? '';
    const registered = [...targetsBlock.matchAll(/^\s+(\w+): \(\) =>/gm)].map((m) => m[1]!);
    const entryPoints = Object.values(functions()).map((fn) => block(fn, 'build_config').entry_point);
    expect(entryPoints.sort()).toEqual(registered.sort());
    expect(registered.length).toBeGreaterThan(0);
    for (const fn of Object.values(functions())) expect(block(fn, 'build_config').runtime).toBe('nodejs24');

    await import('../functions/index');
    for (const entry of entryPoints) expect(getFunction(text(entry, 'entry_point'))).toBeDefined();
  });

  it.each([
    ['webhook', 'cioWebhook', WEBHOOK_ENV],
    ['processor', 'cioProcessor', PROCESSOR_ENV],
    ['reconcile', 'cioReconcile', RECONCILE_ENV],
  ] as const)(
    'sets every %s environment variable of shared/config.ts, or leaves it to its default on purpose',
    (role, entry, contract) => {
      const [fn] = Object.values(functions()).filter((f) => block(f, 'build_config').entry_point === entry);
      const { plain, secret, dynamicSecret } = envNames(config, fn!);
      const set = [...plain, ...secret, ...dynamicSecret];
      const defaulted = DELIBERATELY_DEFAULTED[role];
      expect(contract.filter((name) => !set.includes(name) && !defaulted.includes(name))).toEqual([]);
      // Nothing misspelt or foreign, nothing both set and "defaulted", nothing set twice.
      expect(set.filter((name) => !contract.includes(name) && name !== 'NODE_ENV')).toEqual([]);
      // functions-framework echoes a crash's error message to the caller unless NODE_ENV is production.
      const envLocal = role === 'webhook' ? config.locals.webhook_env : config.locals.processor_env;
      expect(text(block(fn!, 'service_config').environment_variables, 'env')).toContain(`local.${role}_env`);
      expect(asObj(envLocal, 'env').NODE_ENV).toBe('production');
      expect(defaulted.filter((name) => set.includes(name) || !contract.includes(name))).toEqual([]);
      expect(new Set(set).size).toBe(set.length);
    },
  );

  it('injects the signing keys and Track credentials from Secret Manager, the credentials only when the Track API is on', () => {
    const webhook = envNames(config, resource(config, 'google_cloudfunctions2_function', 'webhook'));
    expect(webhook.secret).toEqual(['CIO_WEBHOOK_SIGNING_KEYS']);
    expect(webhook.dynamicSecret).toEqual(['CIO_WORKSPACE_SIGNING_KEYS']);
    expect(webhook.plain).not.toContain('CIO_WEBHOOK_SIGNING_KEYS');

    const service = block(resource(config, 'google_cloudfunctions2_function', 'processor'), 'service_config');
    const [dynamic] = blocks(asObj(service.dynamic, 'dynamic'), 'secret_environment_variables');
    // Dry-run means both credentials absent, not empty: an empty secret would stop the processor from starting.
    expect(dynamic!.for_each).toBe(
      '${merge(local.processor_track_secrets, local.processor_workspace_secrets)}',
    );
    expect(text(config.locals.processor_track_secrets, 'local')).toMatch(
      /^\$\{var\.track_api_enabled \? \{[\s\S]*\} : \{\}\}$/,
    );
    // Each workspace's secret only when a workspace needs it: a single-workspace deployment is unchanged.
    expect(text(config.locals.processor_workspace_secrets, 'local')).toMatch(
      /^\$\{length\(local\.live_workspaces\) > 0 \? \{/,
    );
    expect(text(config.locals.webhook_workspace_secrets, 'local')).toMatch(
      /^\$\{local\.workspaces_enabled \? \{/,
    );
    expect(
      envNames(config, resource(config, 'google_cloudfunctions2_function', 'processor')).dynamicSecret.sort(),
    ).toEqual(['CIO_SITE_ID', 'CIO_TRACK_API_KEY', 'CIO_WORKSPACE_TRACK_CREDENTIALS']);
  });

  it('keeps terraform/schema/*.json equal to shared/warehouse/schema.ts (npm run schema:export)', () => {
    for (const [file, spec] of Object.entries(SCHEMA_FILES)) {
      expect([file, readFileSync(path.join(TF_DIR, 'schema', file), 'utf8')]).toEqual([
        file,
        toBigQueryJson(spec),
      ]);
    }
    const dir = tempDir('schema');
    try {
      const written = exportSchemas(dir).map((f) => path.basename(f));
      expect(written.sort()).toEqual(Object.keys(SCHEMA_FILES).sort());
      expect(readFileSync(path.join(dir, 'events.json'), 'utf8')).toBe(toBigQueryJson(EVENTS_TABLE));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['events', 'events.json', EVENTS_TABLE],
    ['rejected_events', 'rejected_events.json', REJECTS_TABLE],
    ['reconcile_runs', 'reconcile_runs.json', RECONCILE_RUNS_TABLE],
    ['reconcile_drift', 'reconcile_drift.json', RECONCILE_DRIFT_TABLE],
  ] as const)('partitions and clusters table %s as shared/warehouse/schema.ts says', (name, file, spec) => {
    const table = resource(config, 'google_bigquery_table', name);
    expect(table.schema).toBe(`\${file("\${path.module}/schema/${file}")}`);
    expect(block(table, 'time_partitioning')).toEqual({ type: 'DAY', field: spec.partitionField });
    expect(table.clustering).toEqual(spec.clustering);
    expect(table.description).toBe(spec.description);
    expect(table.deletion_protection).toBe('${var.bq_deletion_protection}');
    expect(variableDefault(config, 'bq_deletion_protection')).toBe(true);
  });
});

describe('terraform security and delivery wiring', () => {
  const invokerTypes = [
    'google_cloud_run_service_iam_member',
    'google_cloud_run_service_iam_binding',
    'google_cloud_run_service_iam_policy',
    'google_cloud_run_v2_service_iam_member',
    'google_cloud_run_v2_service_iam_binding',
    'google_cloudfunctions2_function_iam_member',
    'google_cloudfunctions2_function_iam_binding',
  ];
  const grantsOn = (fn: string): Obj[] =>
    invokerTypes.flatMap((type) =>
      Object.values(config.resources[type] ?? {}).filter((g) =>
        allStrings(g).some((s) => s.includes(`google_cloudfunctions2_function.${fn}.`)),
      ),
    );

  it('makes only the webhook public; the processor is internal and invocable by the push identity alone', () => {
    const publicMembers = (g: Obj): string[] =>
      allStrings([g.member ?? null, g.members ?? null]).filter((m) =>
        /allUsers|allAuthenticatedUsers/.test(m),
      );
    expect(grantsOn('webhook').flatMap(publicMembers)).toEqual(['allUsers']);
    expect(grantsOn('webhook').map((g) => g.role)).toEqual(['roles/run.invoker']);

    const processorGrants = grantsOn('processor');
    expect(processorGrants.flatMap(publicMembers)).toEqual([]);
    expect(processorGrants.map((g) => [g.role, g.member])).toEqual([
      ['roles/run.invoker', '${google_service_account.push.member}'],
    ]);
    const processor = block(
      resource(config, 'google_cloudfunctions2_function', 'processor'),
      'service_config',
    );
    expect(processor.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
    const webhook = block(resource(config, 'google_cloudfunctions2_function', 'webhook'), 'service_config');
    expect(webhook.ingress_settings).toBe('ALLOW_ALL');
  });

  it('grants nothing project-wide beyond Firestore for the processor, BigQuery jobs for reconcile and the build roles; storage only on one bucket', () => {
    const projectGrants = Object.values(config.resources.google_project_iam_member ?? {});
    const members = projectGrants.map((g) => text(g.member, 'member'));
    expect(
      members.filter((m) => !/google_service_account\.(processor|reconcile|build)\.member/.test(m)),
    ).toEqual([]);
    expect(projectGrants.filter((g) => /reconcile/.test(text(g.member, 'm'))).map((g) => g.role)).toEqual([
      'roles/bigquery.jobUser',
    ]);
    const rolesOf = (who: string) =>
      projectGrants.filter((g) => text(g.member, 'm').includes(`.${who}.`)).map((g) => g.role);
    expect(rolesOf('processor')).toEqual(['roles/datastore.user']);
    expect(rolesOf('build').sort()).toEqual(['roles/logging.logWriter', 'roles/storage.objectAdmin']);
    // Object admin only on Cloud Functions' own source bucket of this project and region, by an IAM condition.
    const [storage] = projectGrants.filter((g) => g.role === 'roles/storage.objectAdmin');
    const expression = text(block(storage!, 'condition').expression, 'expression');
    expect(expression).toBe(
      'resource.name == "projects/_/buckets/${local.functions_source_bucket}" || ' +
        'resource.name.startsWith("projects/_/buckets/${local.functions_source_bucket}/")',
    );
    expect(config.locals.functions_source_bucket).toBe(
      'gcf-v2-sources-${data.google_project.this.number}-${var.region}',
    );
    // Images: pushed to this deployment's repository only.
    const push = resource(config, 'google_artifact_registry_repository_iam_member', 'build_pushes_images');
    expect([push.repository, push.role, push.member]).toEqual([
      '${google_artifact_registry_repository.functions.name}',
      'roles/artifactregistry.writer',
      '${google_service_account.build.member}',
    ]);
  });

  it("makes cioReconcile invocable by the schedules' identity alone, with OIDC, within Cloud Scheduler's deadline", () => {
    // Counted resource (reconcile_enabled): referenced as google_cloudfunctions2_function.reconcile[0].
    const grants = invokerTypes.flatMap((type) =>
      Object.values(config.resources[type] ?? {}).filter((g) =>
        allStrings(g).some((v) => v.includes('google_cloudfunctions2_function.reconcile[0].')),
      ),
    );
    expect(grants.map((g) => [g.role, g.member])).toEqual([
      ['roles/run.invoker', '${google_service_account.scheduler.member}'],
    ]);
    for (const name of ['reconcile', 'stall_check']) {
      const job = resource(config, 'google_cloud_scheduler_job', name);
      const target = block(job, 'http_target');
      expect(target.uri).toBe('${google_cloudfunctions2_function.reconcile[0].service_config[0].uri}');
      expect(block(target, 'oidc_token')).toEqual({
        service_account_email: '${google_service_account.scheduler.email}',
        audience: target.uri,
      });
    }
    expect(resource(config, 'google_cloud_scheduler_job', 'reconcile').attempt_deadline).toBe(
      '${var.reconcile_timeout_seconds}s',
    );
    const service = block(resource(config, 'google_cloudfunctions2_function', 'reconcile'), 'service_config');
    expect(service.timeout_seconds).toBe('${var.reconcile_timeout_seconds}');
    expect(blocks(service, 'secret_environment_variables').map((b) => b.key)).toEqual(['CIO_APP_API_KEY']);
    // Cloud Scheduler waits at most 30 minutes for an HTTP target.
    expect(variableDefault(config, 'reconcile_timeout_seconds')).toBeLessThanOrEqual(1800);
  });

  it('pushes to the processor with OIDC, retries with backoff and dead-letters into a kept subscription', () => {
    const sub = resource(config, 'google_pubsub_subscription', 'processor');
    const push = block(sub, 'push_config');
    expect(push.push_endpoint).toBe('${google_cloudfunctions2_function.processor.service_config[0].uri}');
    const oidc = block(push, 'oidc_token');
    expect(oidc.service_account_email).toBe('${google_service_account.push.email}');
    expect(oidc.audience).toBe(push.push_endpoint);

    const retry = block(sub, 'retry_policy');
    expect(retry).toEqual({
      minimum_backoff: '${var.retry_minimum_backoff}',
      maximum_backoff: '${var.retry_maximum_backoff}',
    });
    const dlq = block(sub, 'dead_letter_policy');
    expect(dlq.dead_letter_topic).toBe('${google_pubsub_topic.dead_letter.id}');
    expect(dlq.max_delivery_attempts).toBe('${var.max_delivery_attempts}');
    expect(variableDefault(config, 'max_delivery_attempts')).toBe(10);

    const dlqSub = resource(config, 'google_pubsub_subscription', 'dead_letter');
    expect(dlqSub.topic).toBe('${google_pubsub_topic.dead_letter.id}');
    expect(dlqSub.push_config).toBeUndefined(); // pull: dead letters wait for a person
    for (const s of [sub, dlqSub]) expect(block(s, 'expiration_policy')).toEqual({ ttl: '' });

    // Dead-lettering is performed by the Pub/Sub service agent: publisher on the DLQ, subscriber on the source.
    const agent = '${google_project_service_identity.pubsub.member}';
    const topicGrants = Object.values(config.resources.google_pubsub_topic_iam_member ?? {});
    expect(topicGrants.filter((g) => g.member === agent).map((g) => [g.topic, g.role])).toEqual([
      ['${google_pubsub_topic.dead_letter.name}', 'roles/pubsub.publisher'],
    ]);
    const subGrants = Object.values(config.resources.google_pubsub_subscription_iam_member ?? {});
    expect(subGrants.filter((g) => g.member === agent).map((g) => [g.subscription, g.role])).toEqual([
      ['${google_pubsub_subscription.processor.name}', 'roles/pubsub.subscriber'],
    ]);
  });

  it('keeps messages for Customer.io-scale outages and times the ack deadline and lease to the processor', () => {
    const seconds = (v: Json): number => Number(text(v, 'duration').replace(/s$/, ''));
    const sub = resource(config, 'google_pubsub_subscription', 'processor');
    expect(sub.message_retention_duration).toBe('${var.events_retention}');
    expect(seconds(variableDefault(config, 'events_retention'))).toBeGreaterThanOrEqual(7 * 86400);
    expect(seconds(variableDefault(config, 'dead_letter_retention'))).toBeGreaterThan(
      seconds(variableDefault(config, 'events_retention')),
    );

    expect(sub.ack_deadline_seconds).toBe('${var.processor_timeout_seconds}');
    const processor = block(
      resource(config, 'google_cloudfunctions2_function', 'processor'),
      'service_config',
    );
    expect(processor.timeout_seconds).toBe('${var.processor_timeout_seconds}');
    expect(config.locals.processor_env).toMatchObject({
      DEDUPE_LEASE_SECONDS: '${tostring(var.dedupe_lease_seconds)}',
    });
    expect(variableDefault(config, 'dedupe_lease_seconds')).toBeGreaterThan(
      variableDefault(config, 'processor_timeout_seconds') as number,
    );
  });

  it('sizes the processor fleet within the Track API budget and the webhook for concurrency', () => {
    const budget = variableDefault(config, 'track_api_rps_budget') as number;
    const perInstance = variableDefault(config, 'track_max_rps') as number;
    const instances = variableDefault(config, 'processor_max_instances') as number;
    expect(budget).toBeLessThanOrEqual(100);
    expect(instances * perInstance).toBeLessThanOrEqual(budget);
    const processor = block(
      resource(config, 'google_cloudfunctions2_function', 'processor'),
      'service_config',
    );
    expect(processor.max_instance_count).toBe('${var.processor_max_instances}');
    expect(config.locals.processor_env).toMatchObject({
      CIO_TRACK_MAX_RPS: '${tostring(var.track_max_rps)}',
    });

    const webhook = block(resource(config, 'google_cloudfunctions2_function', 'webhook'), 'service_config');
    expect(variableDefault(config, 'webhook_min_instances')).toBeGreaterThanOrEqual(1);
    // Cloud Run functions accept concurrency above 1 only with at least one whole vCPU.
    expect(variableDefault(config, 'webhook_concurrency')).toBeGreaterThan(1);
    expect(Number(variableDefault(config, 'webhook_cpu'))).toBeGreaterThanOrEqual(1);
    expect([webhook.max_instance_request_concurrency, webhook.available_cpu]).toEqual([
      '${var.webhook_concurrency}',
      '${var.webhook_cpu}',
    ]);
  });

  it('puts the zipped source under a content-hash name, so code changes redeploy', () => {
    const object = resource(config, 'google_storage_bucket_object', 'function_source');
    expect(object.name).toMatch(/\$\{data\.archive_file\.function_source\.output_(md5|sha256)\}/);
    for (const fn of ['webhook', 'processor']) {
      const source = block(
        block(block(resource(config, 'google_cloudfunctions2_function', fn), 'build_config'), 'source'),
        'storage_source',
      );
      expect(source.object).toBe('${google_storage_bucket_object.function_source.name}');
    }
  });
});

describe('the completeness metrics read what the code logs', () => {
  it('event_lag from the processor, reconcile outcomes and drift from cioReconcile', () => {
    const source = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
    const lag = resource(config, 'google_logging_metric', 'event_lag');
    expect(lag.value_extractor).toBe('EXTRACT(jsonPayload.event_lag_seconds)');
    expect(source('shared/processor/process-push.ts')).toMatch(/event_lag_seconds: /);
    const scheduled = source('shared/reconcile/scheduled.ts');
    const outcomes = resource(config, 'google_logging_metric', 'reconcile_outcomes');
    const logged = [...text(outcomes.filter, 'filter').matchAll(/\\?"(\w+)\\?"/g)].map((m) => m[1]!);
    for (const outcome of ['reconcile_ok', 'reconcile_drift', 'reconcile_failed', 'stall', 'quiet']) {
      expect(logged).toContain(outcome);
      expect(scheduled).toContain(`'${outcome}'`);
    }
    expect(Object.keys(asObj(config.locals.reconcile_alerts, 'local.reconcile_alerts'))).toEqual([
      'reconcile_drift',
      'reconcile_failed',
      'stall',
    ]);
    expect(resource(config, 'google_logging_metric', 'reconcile_drift').value_extractor).toBe(
      'EXTRACT(jsonPayload.drift)',
    );
    expect(scheduled).toMatch(/drift: result\.tally\.drift/);
  });
});

describe('the signature-failure metric matches what the webhook logs', () => {
  const KEY = 'whsec-terraform-test';
  let server: ReturnType<typeof getTestServer>;
  let url: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    process.env.GOOGLE_CLOUD_PROJECT = 'terraform-test';
    process.env.CIO_WEBHOOK_SIGNING_KEYS = KEY;
    await import('../functions/index');
    server = getTestServer('cioWebhook');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    process.env = saved;
  });

  /** The log line cioWebhook writes for one request. */
  async function logFor(headers: Record<string, string>): Promise<Record<string, unknown>> {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(chunk.toString());
      return true;
    });
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{"event_id":"x"}',
      });
      expect(res.status).toBe(401);
    } finally {
      spy.mockRestore();
    }
    const entries = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const entry = entries.find((e) => e.status === 401);
    if (entry === undefined) throw new Error(`no log line for the 401: ${lines.join('')}`);
    return entry;
  }

  /** Evaluates the metric filter's severity and jsonPayload clauses (the resource and logName clauses need Cloud Run). */
  function matches(filter: string, entry: Record<string, unknown>): boolean {
    const clauses = [...filter.matchAll(/(severity|jsonPayload\.(\w+))(!?=)\\?"?([\w-]+)\\?"?/g)];
    expect(clauses.length).toBeGreaterThanOrEqual(3);
    return clauses.every(([, field, payloadField, op, value]) => {
      const actual = field === 'severity' ? entry.severity : entry[payloadField!];
      return op === '=' ? actual === value : actual !== value;
    });
  }

  it('counts a request signed with the wrong key, with its reason as the label, and ignores unsigned requests', async () => {
    const metric = resource(config, 'google_logging_metric', 'signature_failures');
    const filter = text(metric.filter, 'filter');
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = '{"event_id":"x"}';
    const signature = createHmac('sha256', 'not-the-configured-key')
      .update(`v0:${timestamp}:${body}`)
      .digest('hex');

    const wrongKey = await logFor({ 'x-cio-timestamp': timestamp, 'x-cio-signature': signature });
    expect(matches(filter, wrongKey)).toBe(true);
    expect(asObj(metric.label_extractors, 'label_extractors').reason).toBe('EXTRACT(jsonPayload.reason)');
    expect(typeof wrongKey.reason).toBe('string');

    const unsigned = await logFor({});
    expect(matches(filter, unsigned)).toBe(false);
  });
});

withTerraform(
  'terraform creates views in dependency order with fully qualified names (terraform console)',
  () => {
    const dir = tempDir('views');
    try {
      const views = path.join(dir, 'views');
      mkdirSync(views);
      // a reads the events table; b reads a; c reads b and a; d reads a: three levels.
      writeFileSync(path.join(views, 'a.sql'), 'SELECT event_id FROM ${events}\n');
      writeFileSync(path.join(views, 'b.sql'), 'SELECT * FROM ${a}\n');
      writeFileSync(path.join(views, 'c.sql'), 'SELECT * FROM ${b} JOIN ${a} USING (event_id)\n');
      writeFileSync(path.join(views, 'd.sql'), 'SELECT * FROM ${a}\n');
      copyFileSync(path.join(TF_DIR, 'views_order.tf'), path.join(dir, 'views_order.tf'));
      writeFileSync(
        path.join(dir, 'stub.tf'),
        `locals {\n  views_dir = "${views}"\n  view_table_prefix = "proj.ds"\n  view_events_table = "events_tbl"\n}\n`,
      );
      const evaluate = (expr: string): Json => {
        const result = run('terraform', ['console'], { cwd: dir, input: `jsonencode(${expr})\n` });
        if (result.status !== 0) throw new Error(`terraform console: ${result.stderr}`);
        return JSON.parse(JSON.parse(result.stdout.trim()) as string) as Json;
      };
      expect(
        evaluate('[local.view_level_0, local.view_level_1, local.view_level_2, local.views_unplaced]'),
      ).toEqual([['a'], ['b', 'd'], ['c'], []]);
      expect(evaluate('local.view_sql')).toEqual({
        a: 'SELECT event_id FROM `proj.ds.events_tbl`\n',
        b: 'SELECT * FROM `proj.ds.a`\n',
        c: 'SELECT * FROM `proj.ds.b` JOIN `proj.ds.a` USING (event_id)\n',
        d: 'SELECT * FROM `proj.ds.a`\n',
      });

      // The real shared/warehouse/views all fit the three levels.
      const real = path.join(ROOT, 'shared', 'warehouse', 'views');
      writeFileSync(
        path.join(dir, 'stub.tf'),
        `locals {\n  views_dir = "${real}"\n  view_table_prefix = "proj.ds"\n  view_events_table = "events"\n}\n`,
      );
      expect(evaluate('local.views_unplaced')).toEqual([]);
      const sql = evaluate('local.view_sql') as Record<string, string>;
      expect(Object.keys(sql).sort()).toEqual(
        readdirSync(real)
          .filter((f) => f.endsWith('.sql'))
          .map((f) => f.slice(0, -4))
          .sort(),
      );
      for (const query of Object.values(sql)) expect(query).not.toContain('${');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

describe('the deployable package (npm run package)', () => {
  let work: string;
  let pkg: string;
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    main: string;
    dependencies: Record<string, string>;
  };

  beforeAll(async () => {
    work = tempDir('package');
    const dist = path.join(work, 'dist');
    // Compile fresh (not the shared dist/), so the package reflects the current sources.
    run(process.execPath, [
      require.resolve('typescript/bin/tsc'),
      '-p',
      path.join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      dist,
    ]);
    if (!existsSync(path.join(dist, 'functions', 'index.js')))
      throw new Error('tsc produced no dist/functions/index.js');
    pkg = (await packageFunction({ root: ROOT, distDir: dist, outDir: path.join(work, 'source') })).outDir;
  }, 240_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const readPkgJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(pkg, file), 'utf8')) as T;

  it('has a production package.json: main is the compiled entry, no scripts or devDependencies, Node 24', () => {
    const deployed = readPkgJson<Record<string, unknown>>('package.json');
    expect(deployed.main).toBe(manifest.main);
    expect(existsSync(path.join(pkg, manifest.main))).toBe(true);
    expect(deployed.dependencies).toEqual(manifest.dependencies);
    // The buildpack would run a build script (after installing devDependencies): the code is already compiled.
    expect(deployed.scripts).toBeUndefined();
    expect(deployed.devDependencies).toBeUndefined();
    expect(deployed.engines).toEqual({ node: '>=24 <25' });
    expect(readdirSync(path.join(pkg, 'dist')).sort()).toEqual(['functions', 'shared']);
  });

  it('ships a lockfile npm accepts for this package.json (the buildpack runs npm ci) with no dev-only packages', () => {
    const result = run('npm', ['ls', '--package-lock-only', '--all', '--json'], { cwd: pkg });
    expect(result.status).toBe(0);
    const lock = readPkgJson<{ packages: Record<string, { dev?: boolean }> }>('package-lock.json');
    const root = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as typeof lock;
    const production = Object.keys(root.packages).filter((k) => root.packages[k]!.dev !== true);
    expect(Object.keys(lock.packages).sort()).toEqual(production.sort());
    for (const dep of Object.keys(manifest.dependencies))
      expect(lock.packages[`node_modules/${dep}`]).toBeDefined();
  });

  it('loads, from the entry point, only its own files, Node built-ins and production dependencies', () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      // Comment lines are skipped: the webhook bundle carries the clients' doc comments (`require('...')` examples).
      const code = readFileSync(file, 'utf8').replace(/^\s*(?:\*|\/\/|\/\*).*$/gm, '');
      for (const [, spec] of code.matchAll(/\brequire\((?:"|')([^"']+)(?:"|')\)/g)) {
        if (spec!.startsWith('.')) {
          const base = path.resolve(path.dirname(file), spec!);
          const target = [base, `${base}.js`, path.join(base, 'index.js')].find(
            (c) => existsSync(c) && statSync(c).isFile(),
          );
          if (target === undefined || !target.startsWith(pkg))
            problems.push(`${path.relative(pkg, file)}: ${spec} not in the package`);
          else visit(target);
        } else {
          const name = spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!;
          const builtin = spec!.startsWith('node:') || builtinModules.includes(name);
          if (!builtin && !(name in manifest.dependencies))
            problems.push(`${path.relative(pkg, file)}: ${spec} is not a production dependency`);
        }
      }
    };
    visit(path.join(pkg, manifest.main));
    expect(problems).toEqual([]);
    expect([...seen].map((f) => path.relative(pkg, f))).toEqual(
      expect.arrayContaining([
        'dist/functions/index.js',
        'dist/functions/webhook.js',
        'dist/functions/processor.js',
      ]),
    );
  });

  it('registers every Terraform entry point when its entry module is loaded', () => {
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
    try {
      const entries = Object.values(config.resources.google_cloudfunctions2_function ?? {}).map((fn) =>
        text(block(fn, 'build_config').entry_point, 'entry_point'),
      );
      const script =
        `require(${JSON.stringify(path.join(pkg, manifest.main))});` +
        `const t = require('@google-cloud/functions-framework/testing');` +
        `console.log(JSON.stringify(${JSON.stringify(entries)}.map((n) => typeof t.getFunction(n))));`;
      const { FUNCTION_TARGET: _ignored, ...env } = process.env;
      const result = spawnSync(process.execPath, ['-e', script], {
        cwd: pkg,
        encoding: 'utf8',
        env,
        timeout: 60_000,
      });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout.trim())).toEqual(entries.map(() => 'function'));
    } finally {
      rmSync(path.join(pkg, 'node_modules'));
    }
  });

  it('is reproducible: packaging the same build twice gives identical files', async () => {
    const { outDir: again } = await packageFunction({
      root: ROOT,
      distDir: path.join(work, 'dist'),
      outDir: path.join(work, 'again'),
    });
    const tree = (dir: string): Record<string, string> => {
      const out: Record<string, string> = {};
      const walk = (d: string): void => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else out[path.relative(dir, p)] = readFileSync(p, 'utf8');
        }
      };
      walk(dir);
      return out;
    };
    expect(tree(again)).toEqual(tree(pkg));
  });
});
