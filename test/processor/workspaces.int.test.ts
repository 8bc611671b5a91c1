// Several Customer.io workspaces through one processor: each event acts with its own workspace's Track credentials,
// is identified by (workspace, event_id), and one workspace's Track faults never touch another's events.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startTrackApiServer, type TrackApiServer } from '../support/track-api-server';
import { startHarness, webhookAttributes, type Harness } from '../support/processor-harness';

jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const spam = fs.readFileSync(path.join(FIXTURES, 'email-spammed.json'), 'utf8');
const SPAM_ID = (JSON.parse(spam) as { event_id: string }).event_id;

let h: Harness | undefined;
let eu: TrackApiServer | undefined;
afterEach(async () => {
  await h?.close();
  await eu?.close();
  h = undefined;
  eu = undefined;
});

async function twoWorkspaces(extra: Record<string, string> = {}): Promise<Harness> {
  eu = await startTrackApiServer();
  h = await startHarness({
    env: {
      CIO_WORKSPACES: 'eu,staging',
      CIO_WORKSPACE_TRACK_CREDENTIALS: JSON.stringify({
        eu: { site_id: 'site-eu', api_key: 'key-eu', region: 'eu', api_url: eu.url },
      }),
      ...extra,
    },
  });
  return h;
}

const inWorkspace = (workspace: string | undefined, text = spam) => ({
  data: text,
  attributes: { ...webhookAttributes(text), ...(workspace !== undefined && { workspace }) },
});

it('acts with each workspace’s own credentials; a workspace without credentials runs dry', async () => {
  const harness = await twoWorkspaces();
  expect(await harness.deliver(inWorkspace(undefined))).toEqual({ status: 200, outcome: 'processed' });
  expect(await harness.deliver(inWorkspace('eu'))).toEqual({ status: 200, outcome: 'processed' });
  expect(await harness.deliver(inWorkspace('staging'))).toEqual({ status: 200, outcome: 'processed' });
  const basic = (site: string, key: string) => `Basic ${Buffer.from(`${site}:${key}`).toString('base64')}`;
  expect(harness.track.effects().map((c) => c.auth)).toEqual([basic('site-1', 'key-1')]);
  expect(eu!.effects().map((c) => c.auth)).toEqual([basic('site-eu', 'key-eu')]);
  const rows = await harness.eventRows();
  expect(rows.map((r) => [r.workspace, r.event_id, r.actions]).sort()).toEqual([
    ['default', SPAM_ID, ['identify:email_complained']],
    ['eu', SPAM_ID, ['identify:email_complained']],
    ['staging', SPAM_ID, ['dry_run:identify:email_complained']],
  ]);
  // Said once at start, naming the workspace that runs dry.
  expect(harness.logs.filter((l) => /dry-run/.test(String(l.message)))).toMatchObject([
    { workspaces: ['staging'] },
  ]);
});

it('one event_id in two workspaces is two events; a redelivery in either is a duplicate', async () => {
  const harness = await twoWorkspaces();
  await harness.deliver(inWorkspace('eu'));
  await harness.deliver(inWorkspace(undefined));
  expect(await harness.deliver(inWorkspace('eu'))).toEqual({ status: 200, outcome: 'duplicate' });
  expect(await harness.deliver(inWorkspace('default'))).toEqual({ status: 200, outcome: 'duplicate' });
  expect(await harness.eventRows()).toHaveLength(2);
  // The default workspace's ledger document is still sha256(event_id): an upgraded deployment keeps its ledger.
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const collection = harness.firestore.collection(harness.config.dedupeCollection);
  expect((await collection.doc(sha(SPAM_ID)).get()).data()).toMatchObject({
    workspace: 'default',
    state: 'done',
  });
  expect((await collection.doc(sha(`eu\n${SPAM_ID}`)).get()).data()).toMatchObject({
    workspace: 'eu',
    state: 'done',
  });
});

it('an event stored before the upgrade (no workspace attribute) is a duplicate after it', async () => {
  // Before: a single-workspace processor, messages without the attribute.
  h = await startHarness();
  expect(await h.deliver(inWorkspace(undefined))).toEqual({ status: 200, outcome: 'processed' });
  const { config } = h;
  await h.processor.close();
  // After: the same ledger and table, read by a processor that knows workspaces; the webhook now labels `default`.
  const { buildProcessor } = await import('../../functions/build-processor');
  const { createLogger } = await import('../../shared/log');
  const { loadProcessorConfig } = await import('../../shared/config');
  process.env.BIGQUERY_EMULATOR_HOST = h.warehouse.url;
  const upgraded = buildProcessor(
    loadProcessorConfig({
      GOOGLE_CLOUD_PROJECT: config.projectId,
      DEDUPE_COLLECTION: config.dedupeCollection,
      BQ_DATASET: config.bqDataset,
      CIO_WORKSPACES: 'eu',
    }),
    createLogger('error'),
  );
  delete process.env.BIGQUERY_EMULATOR_HOST;
  try {
    const { envelope } = await import('../support/processor-harness');
    const { body, raw } = envelope(inWorkspace('default'), 'after-upgrade');
    expect(await upgraded.handle(body, raw)).toEqual({ status: 200, outcome: 'duplicate' });
  } finally {
    await upgraded.close();
  }
  expect(await h.eventRows()).toHaveLength(1);
});

it('one workspace’s Track outage and revoked key never hold back another’s events', async () => {
  const harness = await twoWorkspaces();
  eu!.faults.add({ kind: 'status', status: 401, times: 1000 });
  const bounce = fs.readFileSync(path.join(FIXTURES, 'email-bounced-newsletter.json'), 'utf8');
  const euResult = await harness.deliver(inWorkspace('eu', bounce));
  expect(euResult).toEqual({ status: 503, outcome: 'retryable_failure' });
  expect(harness.logs.at(-1)).toMatchObject({ workspace: 'eu', classification: 'track:credentials:401' });
  expect(await harness.deliver(inWorkspace(undefined, bounce))).toEqual({
    status: 200,
    outcome: 'processed',
  });
  expect(harness.track.effects()).toHaveLength(1);
});

it('parks a message whose workspace attribute is not a label (only cioWebhook publishes, and it never does that)', async () => {
  const harness = await twoWorkspaces();
  expect(await harness.deliver(inWorkspace('EU/../x'))).toEqual({ status: 200, outcome: 'rejected' });
  expect((await harness.rejectRows())[0]).toMatchObject({ reason: 'envelope_invalid' });
  expect(harness.track.calls).toEqual([]);
});
