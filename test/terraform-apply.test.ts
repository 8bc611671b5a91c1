// What a real project's `terraform apply` meets on day one and day two, proven offline. Applies and plans run on
// terraform/ with every resource replaced by a terraform_data stand-in (test/support/terraform-plan.ts): the
// variables, locals, counts, for_each, imports and references are the real ones, so a plan shows what an apply with
// given variables would create, replace, import or destroy. The rest are checks on the parsed configuration
// against the code and the provider's documented behaviour.
import { copyFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import {
  ROOT,
  TF_DIR,
  allStrings,
  block,
  blocks,
  dependencyClosure,
  hasTerraform,
  isObj,
  loadTerraform,
  resource,
  run,
  tempDir,
  text,
  variableDefault,
  type Obj,
  type TerraformConfig,
} from './support/terraform-config';
import { createPlanStub, standIn, type Plan, type PlanStub } from './support/terraform-plan';

const describeWithTerraform = hasTerraform ? describe : describe.skip;
jest.setTimeout(240_000);

const VARS = { project_id: 'my-project-1', region: 'europe-west1' };
const KEYS = { TF_VAR_webhook_signing_keys: 'whsec-first' };
const TRACK = { TF_VAR_track_site_id: 'site-1', TF_VAR_track_api_key: 'key-1' };

const addresses = (plan: Plan): string[] => plan.changes.map((c) => c.address).sort();
const actionsOf = (plan: Plan, address: string): string[] | undefined =>
  plan.changes.find((c) => c.address === address)?.actions;

let config: TerraformConfig;
beforeAll(async () => {
  config = await loadTerraform(TF_DIR);
});

describeWithTerraform('applies after the first (planned offline)', () => {
  let stub: PlanStub;
  /** The variables of the last apply: each test plans a change from there. */
  let applied: Record<string, string> = VARS;
  beforeAll(async () => {
    stub = await createPlanStub();
    stub.apply(VARS, KEYS);
  });
  afterAll(() => stub?.close());

  it('1. a second apply without the secret values changes nothing, dry-run or live', () => {
    expect(stub.plan(VARS)).toEqual({ changes: [], imports: [], outputs: [] });

    // Going live: the apply that enables the Track API writes both credentials and rolls out the processor.
    const live = { ...VARS, track_api_enabled: 'true' };
    const goLive = stub.plan(live, TRACK);
    expect(addresses(goLive)).toEqual(
      expect.arrayContaining([
        standIn('google_secret_manager_secret_version.track_site_id') + '[0]',
        standIn('google_secret_manager_secret_version.track_api_key') + '[0]',
        standIn('google_cloudfunctions2_function.processor'),
      ]),
    );
    expect(addresses(goLive)).not.toContain(standIn('google_cloudfunctions2_function.webhook'));
    expect(addresses(goLive).filter((a) => a.includes('webhook_signing_keys'))).toEqual([]);
    stub.apply(live, TRACK);
    applied = live;
    // The README's next step, "apply" with no secret in the environment, plans nothing at all.
    expect(stub.plan(live)).toEqual({ changes: [], imports: [], outputs: [] });
  });

  it('5. raising webhook_signing_keys_version writes a new version and rolls out a new webhook revision', () => {
    const rotate = { ...applied, webhook_signing_keys_version: '2' };
    const plan = stub.plan(rotate, { TF_VAR_webhook_signing_keys: 'whsec-first,whsec-second' });
    const version = standIn('google_secret_manager_secret_version.webhook_signing_keys');
    const webhook = standIn('google_cloudfunctions2_function.webhook');
    expect(actionsOf(plan, version)).toEqual(expect.arrayContaining(['create', 'delete']));
    // The webhook's secret variable names the version: a new revision, so every instance restarts with the keys.
    expect(actionsOf(plan, webhook)).toBeDefined();
    expect(actionsOf(plan, standIn('google_cloudfunctions2_function.processor'))).toBeUndefined();
    expect(plan.outputs).toContain('signing_keys_secret_version');

    stub.apply(rotate, { TF_VAR_webhook_signing_keys: 'whsec-first,whsec-second' });
    applied = rotate;
    expect(stub.plan(rotate)).toEqual({ changes: [], imports: [], outputs: [] });

    // Track credentials rotate the same way and roll out the processor only.
    const track = stub.plan({ ...rotate, track_credentials_version: '2' }, TRACK);
    expect(actionsOf(track, standIn('google_cloudfunctions2_function.processor'))).toBeDefined();
    expect(actionsOf(track, webhook)).toBeUndefined();
  });

  it('a second workspace: its secrets, readable by one function each, both functions rolled out; nothing after', () => {
    const workspaces = {
      ...applied,
      workspaces: '{eu = {region = "eu", track_api_enabled = true}, staging = {}}',
    };
    const secrets = {
      TF_VAR_workspace_signing_keys: '{"eu": ["whsec-eu"], "staging": ["whsec-staging"]}',
      TF_VAR_workspace_track_credentials: '{"eu": {"site_id": "site-eu", "api_key": "key-eu"}}',
    };
    const plan = stub.plan(workspaces, secrets);
    expect(addresses(plan)).toEqual(
      expect.arrayContaining([
        standIn('google_secret_manager_secret.workspace_signing_keys') + '[0]',
        standIn('google_secret_manager_secret_version.workspace_signing_keys') + '[0]',
        standIn('google_secret_manager_secret_iam_member.webhook_reads_workspace_signing_keys') + '[0]',
        standIn('google_secret_manager_secret.workspace_track_credentials') + '[0]',
        standIn('google_secret_manager_secret_version.workspace_track_credentials') + '[0]',
        standIn('google_secret_manager_secret_iam_member.processor_reads_workspace_track_credentials') +
          '[0]',
        standIn('google_cloudfunctions2_function.webhook'),
        standIn('google_cloudfunctions2_function.processor'),
      ]),
    );
    expect(plan.outputs).toContain('webhook_urls');
    stub.apply(workspaces, secrets);
    // The next apply, without the secrets in the environment, changes nothing.
    expect(stub.plan(workspaces)).toEqual({ changes: [], imports: [], outputs: [] });
    // A workspace that only runs dry needs no Track credentials secret.
    const dryOnly = stub.plan({ ...applied, workspaces: '{staging = {}}' }, secrets);
    expect(addresses(dryOnly)).toEqual(
      expect.arrayContaining([standIn('google_secret_manager_secret.workspace_track_credentials') + '[0]']),
    );
    expect(
      actionsOf(dryOnly, standIn('google_secret_manager_secret.workspace_track_credentials') + '[0]'),
    ).toEqual(['delete']);
    // Back to one workspace: the workspace secrets go, the functions return to single-workspace configuration.
    stub.apply(applied, {});
    expect(stub.plan(applied)).toEqual({ changes: [], imports: [], outputs: [] });
  });

  it('refuses a workspace label that cannot be a URL path, or "default"', () => {
    for (const bad of ['{EU = {}}', '{default = {}}', '{"eu/x" = {}}', '{eu = {region = "asia"}}']) {
      expect(() => stub.plan({ ...applied, workspaces: bad })).toThrow(/workspaces:/);
    }
  });

  it('2. webhook_public_invoker = false grants nothing to allUsers and prints the command that opens the webhook', () => {
    const plan = stub.plan({ ...applied, webhook_public_invoker: 'false' });
    expect(plan.changes).toEqual([
      { address: standIn('google_cloud_run_service_iam_member.webhook_public') + '[0]', actions: ['delete'] },
    ]);
    expect(plan.outputs).toEqual(['webhook_public_access_command']);
    const output = text(config.outputs.webhook_public_access_command!.value, 'output');
    expect(output).toContain('--no-invoker-iam-check');
    expect(output).toMatch(/^\$\{var\.webhook_public_invoker \? null : "gcloud run services update /);
  });

  it('keeps Cloud Run request logs only when asked, and secrets in the region when a location policy needs it', () => {
    expect(addresses(stub.plan({ ...applied, keep_request_logs: 'true' }))).toEqual([
      standIn('google_logging_project_exclusion.request_logs') + '[0]',
    ]);
    const inRegion = addresses(stub.plan({ ...applied, secrets_in_region: 'true' }));
    for (const secret of ['webhook_signing_keys', 'track_site_id', 'track_api_key']) {
      expect(inRegion).toContain(standIn(`google_secret_manager_secret.${secret}`));
    }
  });
});

describeWithTerraform('terraform destroy, then apply (planned offline)', () => {
  let stub: PlanStub;
  beforeAll(async () => {
    stub = await createPlanStub();
  });
  afterAll(() => stub?.close());

  it('8. adopt_firestore_database imports the (default) database that destroy abandoned, instead of a 409', () => {
    const database = standIn('google_firestore_database.ledger') + '[0]';
    stub.apply(VARS, KEYS);
    stub.destroy(VARS);
    // Without the variable the plan creates the database: Firestore answers 409, it still exists (ABANDON).
    const again = stub.plan(VARS, KEYS);
    expect(actionsOf(again, database)).toEqual(['create']);
    expect(again.imports).toEqual([]);

    const adopt = { ...VARS, adopt_firestore_database: 'true' };
    const adopted = stub.plan(adopt, KEYS);
    expect(adopted.imports).toEqual([
      { address: database, id: `projects/${VARS.project_id}/databases/(default)` },
    ]);
    stub.apply(adopt, KEYS);
    // Once it is in the state, the import block is inert: leaving the variable set is harmless.
    expect(stub.plan(adopt).imports).toEqual([]);
  });

  it('refuses adopt_firestore_database when the database is managed elsewhere', () => {
    const dir = tempDir('adopt');
    try {
      const vars = path.join(dir, 'variables.tf');
      copyFileSync(path.join(TF_DIR, 'variables.tf'), vars);
      const result = run(
        'terraform',
        [
          'plan',
          '-input=false',
          '-no-color',
          ...Object.entries({
            ...VARS,
            create_firestore_database: 'false',
            adopt_firestore_database: 'true',
          }).map(([k, v]) => `-var=${k}=${v}`),
        ],
        { cwd: dir },
      );
      expect(result.status).not.toBe(0);
      expect((result.stdout + result.stderr).replace(/\s+/g, ' ')).toMatch(
        /adopt_firestore_database needs create_firestore_database = true/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a new project, first apply', () => {
  it('3. creates nothing that calls a Google API before the APIs have had time to propagate', () => {
    const closure = dependencyClosure(config);
    const wait = 'time_sleep.apis_enabled';
    expect(resource(config, 'time_sleep', 'apis_enabled').depends_on).toEqual([
      '${google_project_service.apis}',
    ]);
    // Local work only: reading the source folder (data.archive_file) calls no API.
    const exempt = new Set(['google_project_service.apis', wait, 'data.archive_file.function_source']);
    const early = [...closure.entries()]
      .filter(([address, deps]) => !exempt.has(address) && !deps.has(wait))
      .map(([address]) => address);
    expect(early).toEqual([]);
  });

  it('4. creates the Pub/Sub service agent before granting it anything, and grants only to its member', () => {
    const identity = resource(config, 'google_project_service_identity', 'pubsub');
    expect([identity.provider, identity.service]).toEqual(['${google-beta}', 'pubsub.googleapis.com']);
    expect(config.providers.flatMap((p) => (isObj(p) ? Object.keys(p) : []))).toContain('google-beta');
    const member = '${google_project_service_identity.pubsub.member}';
    const grants = [
      resource(config, 'google_pubsub_topic_iam_member', 'pubsub_agent_publishes_dead_letters'),
      resource(
        config,
        'google_pubsub_subscription_iam_member',
        'pubsub_agent_forwards_from_processor_subscription',
      ),
      resource(config, 'google_service_account_iam_member', 'pubsub_agent_mints_push_tokens'),
    ];
    expect(grants.map((g) => g.member)).toEqual([member, member, member]);
    // No hand-built agent address anywhere (it would not exist yet in a new project).
    const everything = allStrings([
      config.resources as unknown as Obj,
      config.locals,
      config.outputs as unknown as Obj,
    ]);
    expect(everything.filter((s) => s.includes('gcp-sa-pubsub'))).toEqual([]);
  });

  it('6. asks for no more instances than a new project may run (10 of 1 vCPU per service and region)', () => {
    for (const fn of ['webhook', 'processor']) {
      const service = block(resource(config, 'google_cloudfunctions2_function', fn), 'service_config');
      expect([service.max_instance_count, service.available_cpu]).toEqual([
        `\${var.${fn}_max_instances}`,
        `\${var.${fn}_cpu}`,
      ]);
      const instances = variableDefault(config, `${fn}_max_instances`) as number;
      const cpu = Number(variableDefault(config, `${fn}_cpu`));
      expect([fn, instances * cpu]).toEqual([fn, expect.any(Number)]);
      expect(instances * cpu).toBeLessThanOrEqual(10);
    }
    expect(variableDefault(config, 'webhook_min_instances')).toBeGreaterThanOrEqual(1);
  });

  it('keeps the warehouse in the region unless told otherwise', () => {
    const dataset = resource(config, 'google_bigquery_dataset', 'warehouse');
    expect(dataset.location).toBe('${coalesce(var.bq_location, var.region)}');
    expect(variableDefault(config, 'bq_location')).toBeNull();
  });
});

describe('the ledger needs no Firestore index (7)', () => {
  const ledgerFile = path.join(ROOT, 'shared', 'processor', 'ledger.ts');
  const source = (file: string): ts.SourceFile =>
    ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2023, true);
  const walk = (node: ts.Node, visit: (n: ts.Node) => void): void => {
    visit(node);
    node.forEachChild((child) => walk(child, visit));
  };

  /** The fields of the LedgerDoc interface: what the ledger writes. */
  function ledgerDocFields(): string[] {
    const fields: string[] = [];
    walk(source(ledgerFile), (n) => {
      if (ts.isInterfaceDeclaration(n) && n.name.text === 'LedgerDoc') {
        for (const m of n.members)
          if (m.name !== undefined && ts.isIdentifier(m.name)) fields.push(m.name.text);
      }
    });
    return fields;
  }

  it('exempts every field the ledger writes from indexing, with the TTL on expire_at', () => {
    const fields = ledgerDocFields();
    expect(fields.length).toBeGreaterThan(5);
    const exempt = text(config.locals.ledger_fields, 'ledger_fields');
    const listed = [...exempt.matchAll(/"(\w+)"/g)].map((m) => m[1]!);
    expect(listed.sort()).toEqual([...fields].sort());

    const field = resource(config, 'google_firestore_field', 'ledger');
    expect([field.for_each, field.field, field.collection]).toEqual([
      '${local.ledger_fields}',
      '${each.value}',
      '${var.dedupe_collection}',
    ]);
    // An empty index_config removes the field's single-field indexes.
    expect(blocks(field, 'index_config')).toEqual([{}]);
    const [ttl] = blocks(field.dynamic as Obj, 'ttl_config');
    expect(ttl!.for_each).toBe('${each.value == "expire_at" ? [1] : []}');
  });

  it('reads the ledger only by document id: no query anywhere in the deployed code', () => {
    const QUERY = new Set([
      'where',
      'orderBy',
      'limit',
      'limitToLast',
      'offset',
      'startAt',
      'startAfter',
      'endAt',
      'endBefore',
      'select',
      'findNearest',
      'count',
      'aggregate',
      'collectionGroup',
      'listDocuments',
      'getAll',
      'stream',
    ]);
    const deployed = (dir: string): string[] =>
      readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(ROOT, dir, f));
    const usesFirestore = [...deployed('functions'), ...deployed('shared')].filter((f) =>
      readFileSync(f, 'utf8').includes("'@google-cloud/firestore'"),
    );
    expect(usesFirestore).toContain(ledgerFile);

    const problems: string[] = [];
    for (const file of usesFirestore) {
      const name = path.relative(ROOT, file);
      const clients = new Set<string>();
      walk(source(file), (n) => {
        // Where the client is built, it is handed to the Ledger and closed, nothing else.
        if (
          ts.isVariableDeclaration(n) &&
          ts.isIdentifier(n.name) &&
          n.initializer !== undefined &&
          ts.isNewExpression(n.initializer) &&
          n.initializer.expression.getText() === 'Firestore'
        ) {
          clients.add(n.name.text);
        }
        if (file !== ledgerFile || !ts.isCallExpression(n) || !ts.isPropertyAccessExpression(n.expression))
          return;
        const method = n.expression.name.text;
        if (QUERY.has(method)) problems.push(`${name}: .${method}()`);
        // A collection is only ever a step to one document: collection(c).doc(id).
        if (method === 'collection') {
          const parent = n.parent;
          if (!ts.isPropertyAccessExpression(parent) || parent.name.text !== 'doc') {
            problems.push(`${name}: .collection() not followed by .doc()`);
          }
        }
      });
      walk(source(file), (n) => {
        if (!ts.isIdentifier(n) || !clients.has(n.text) || ts.isVariableDeclaration(n.parent)) return;
        const parent = n.parent;
        const intoLedger = ts.isNewExpression(parent) && parent.expression.getText() === 'Ledger';
        const closed = ts.isPropertyAccessExpression(parent) && parent.name.text === 'terminate';
        if (!intoLedger && !closed) problems.push(`${name}: the Firestore client is used outside the Ledger`);
      });
    }
    expect(problems).toEqual([]);
  });
});

describe('alerts, logs and build images', () => {
  const policies = (): Record<string, Obj> => config.resources.google_monitoring_alert_policy ?? {};
  const filters = (policy: Obj): string[] =>
    blocks(policy, 'conditions').flatMap((c) =>
      blocks(c, 'condition_threshold').map((t) => text(t.filter, 'filter')),
    );

  it('pages the same day: refusals (401/403), webhook 5xx, processor backlog and 5xx rate, dead letters, errors', () => {
    // Quotes appear escaped (inside join()) or not: compare without backslashes.
    const all = Object.values(policies()).flatMap(filters).join('\n').replaceAll('\\', '');
    expect(all).toContain('logging.googleapis.com/user/${google_logging_metric.signature_failures.name}');
    expect(all).toContain('metric.labels.response_code="403"');
    expect(all).toContain('pubsub.googleapis.com/subscription/oldest_unacked_message_age');
    expect(all).toContain('resource.labels.subscription_id="${local.processor_subscription}"');
    expect(all).toContain('pubsub.googleapis.com/subscription/num_undelivered_messages');
    expect(all).toContain('logging.googleapis.com/user/${google_logging_metric.processor_errors.name}');

    // The processor's 5xx alert is a rate (a share of its requests), not a count: some 503s are deliberate nacks.
    const rate = block(
      block(resource(config, 'google_monitoring_alert_policy', 'processor_5xx'), 'conditions'),
      'condition_threshold',
    );
    expect(rate.filter).toBe('${local.processor_requests} AND metric.labels.response_code_class="5xx"');
    expect(rate.denominator_filter).toBe('${local.processor_requests}');
    expect(config.locals.processor_requests).toContain('service_name="${local.processor_function}"');
    expect(config.locals.webhook_requests).toContain('service_name="${local.webhook_function}"');
  });

  it("says in every alert's documentation what to check first", () => {
    // A for_each policy takes its documentation from each entry of the map it iterates.
    const contents = (policy: Obj): string[] => {
      const content = text(block(policy, 'documentation').content, 'content');
      if (content !== '${each.value.content}') return [content];
      const map = /local\.(\w+)/.exec(text(policy.for_each, 'for_each'))![1]!;
      return Object.values(config.locals[map] as Record<string, Obj>).map((e) => text(e.content, 'content'));
    };
    const missing = Object.entries(policies())
      .filter(([, p]) => contents(p).some((c) => !c.includes('**Check first:**')))
      .map(([name]) => name);
    expect(missing).toEqual([]);
    expect(Object.keys(policies()).length).toBeGreaterThanOrEqual(6);
  });

  it("excludes Cloud Run's request logs of both functions, and nothing the metrics or operators read", () => {
    const exclusion = resource(config, 'google_logging_project_exclusion', 'request_logs');
    expect(exclusion.count).toBe('${var.keep_request_logs ? 0 : 1}');
    expect(variableDefault(config, 'keep_request_logs')).toBe(false);
    const filter = text(exclusion.filter, 'filter');
    expect(filter).toContain('run.googleapis.com%2Frequests');
    expect(filter).toContain('${local.webhook_function}');
    expect(filter).toContain('${local.processor_function}');
    expect(filter).not.toMatch(/stdout|stderr/);
    // The log-based metrics read the functions' own lines, which the exclusion leaves alone.
    expect(text(config.locals.reconcile_log, 'reconcile_log')).toContain('${local.app_log_names}');
    for (const metric of Object.values(config.resources.google_logging_metric ?? {})) {
      expect(text(metric.filter, 'filter')).toMatch(/\$\{local\.app_log_names\}|\blocal\.reconcile_log\b/);
    }
  });

  it('builds both functions into a repository of their own that cleans itself up', () => {
    const repo = resource(config, 'google_artifact_registry_repository', 'functions');
    expect([repo.format, repo.cleanup_policy_dry_run]).toEqual(['DOCKER', false]);
    const policies = blocks(repo, 'cleanup_policies');
    const keep = policies.find((p) => p.action === 'KEEP')!;
    const remove = policies.find((p) => p.action === 'DELETE')!;
    expect(block(keep, 'most_recent_versions').keep_count).toBeGreaterThanOrEqual(1);
    expect(block(remove, 'condition')).toEqual({
      tag_state: 'ANY',
      older_than: '${var.build_image_retention_days * 86400}s',
    });
    for (const fn of ['webhook', 'processor']) {
      const build = block(resource(config, 'google_cloudfunctions2_function', fn), 'build_config');
      expect(build.docker_repository).toBe('${google_artifact_registry_repository.functions.id}');
    }
  });

  it('prints the smoke command for the deployed webhook', () => {
    const command = text(config.outputs.smoke_command!.value, 'smoke_command');
    for (const part of [
      'npx cio-webhooks smoke',
      '--url ${google_cloudfunctions2_function.webhook.service_config[0].uri}',
      '--key-file',
      '--project ${var.project_id}',
      '--dataset ${var.bq_dataset}',
      '--table ${var.bq_events_table}',
      '--processor ${local.processor_function}',
    ]) {
      expect(command).toContain(part);
    }
  });
});

describe('the README matches the Terraform', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('names only outputs and variables that exist (terraform output, TF_VAR_, terraform.tfvars lines)', () => {
    const outputs = [...readme.matchAll(/terraform output (?:-raw )?(\w+)/g)].map((m) => m[1]!);
    const envVars = [...readme.matchAll(/TF_VAR_(\w+)/g)].map((m) => m[1]!);
    const tfvars = [...readme.matchAll(/# terraform\.tfvars: (\w+) =/g)].map((m) => m[1]!);
    expect(outputs.length).toBeGreaterThan(3);
    expect(tfvars.length).toBeGreaterThan(3);
    expect(outputs.filter((o) => !(o in config.outputs))).toEqual([]);
    expect([...envVars, ...tfvars].filter((v) => !(v in config.variables))).toEqual([]);
  });
});
