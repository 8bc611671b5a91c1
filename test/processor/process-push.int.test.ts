// cioProcessor end to end, one delivery at a time: real Firestore emulator, the real BigQuery client against the
// local warehouse server, the real customerio-node TrackClient against the Track API fake.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { processingBudget } from '../../shared/processor/process-push';
import { startHarness, webhookAttributes, type Harness } from '../support/processor-harness';
import { plainRow } from '../support/rows';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const fixtureText = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const RECEIVED = '2024-11-25T16:30:00.000Z';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function deliverEvent(harness: Harness, text: string) {
  return harness.deliver({ data: text, attributes: webhookAttributes(text, RECEIVED) });
}

const eventLines = (harness: Harness) => harness.logs.filter((l) => typeof l.outcome === 'string');

describe('every fixture', () => {
  // Suppression and engagement on, so that every branch of the policy that a fixture reaches is exercised.
  const ALL = { CIO_SUPPRESS_ON: 'bounced,spammed', CIO_ENGAGEMENT_ATTRIBUTES: 'true' };

  const expectedCalls: Record<string, Array<{ method: string; path: string; body: unknown }>> = {
    'email-bounced-newsletter.json': [
      {
        method: 'PUT',
        path: '/api/v1/customers/u-1003',
        body: {
          email_bounced: true,
          email_bounced_at: 1732551100,
          email_bounce_reason: '550 5.1.1 The email account that you tried to reach does not exist',
          email_bounced_address: 'cy@example.com',
        },
      },
      { method: 'POST', path: '/api/v1/customers/u-1003/suppress', body: {} },
    ],
    'email-spammed.json': [
      {
        method: 'PUT',
        path: '/api/v1/customers/cio_a1b2c3000004',
        body: {
          email_complained: true,
          email_complained_at: 1732551200,
          email_complained_address: 'di@example.com',
        },
      },
      { method: 'POST', path: '/api/v1/customers/cio_a1b2c3000004/suppress', body: {} },
    ],
    'email-clicked.json': [
      {
        method: 'PUT',
        path: '/api/v1/customers/cio_a1b2c3000001',
        body: { last_email_engaged_at: 1732551000 },
      },
    ],
  };
  const expectedActions: Record<string, string[]> = {
    'email-bounced-newsletter.json': ['identify:email_bounced', 'suppress'],
    'email-spammed.json': ['identify:email_complained', 'suppress'],
    'email-clicked.json': ['identify:email_engaged'],
  };

  it('lands as one row each, with the right key columns, actions and Track calls', async () => {
    h = await startHarness({ env: ALL });
    const files = fs.readdirSync(FIXTURES).sort();
    expect(files).toHaveLength(14);
    for (const file of files) {
      const before = h.track.calls.length;
      const result = await deliverEvent(h, fixtureText(file));
      expect({ file, result }).toEqual({ file, result: { status: 200, outcome: 'processed' } });
      const calls = h.track.calls
        .slice(before)
        .map(({ method, path: p, body }) => ({ method, path: p, body }));
      expect({ file, calls }).toEqual({ file, calls: expectedCalls[file] ?? [] });
    }
    const rows = (await h.eventRows()).map(plainRow);
    expect(rows).toHaveLength(files.length);
    for (const file of files) {
      const body = JSON.parse(fixtureText(file)) as {
        event_id: string;
        object_type: string;
        metric: string;
        timestamp: number;
        data: { identifiers?: { id?: string | null }; delivery_id?: string; customer_id?: string | null };
      };
      const row = rows.find((r) => r.event_id === body.event_id);
      expect({ file, row }).toMatchObject({
        file,
        row: {
          object_type: body.object_type,
          metric: body.metric,
          event_timestamp: new Date(body.timestamp * 1000).toISOString(),
          received_at: RECEIVED,
          person_id: body.data.identifiers?.id ?? null,
          delivery_id: body.data.delivery_id ?? null,
          customer_id: body.data.customer_id ?? null,
          actions: expectedActions[file] ?? [],
        },
      });
      expect(JSON.parse(row!.data as string)).toEqual(body.data);
    }
    // Every call authenticated with the configured site id and key.
    const basic = `Basic ${Buffer.from('site-1:key-1').toString('base64')}`;
    expect(new Set(h.track.calls.map((c) => c.auth))).toEqual(new Set([basic]));
  });

  it('stores a spam complaint with every column as Customer.io sent it', async () => {
    h = await startHarness();
    const text = fixtureText('email-spammed.json');
    expect(await deliverEvent(h, text)).toEqual({ status: 200, outcome: 'processed' });
    const [row] = (await h.eventRows()).map(plainRow);
    expect(row).toEqual({
      event_id: '01JD2KC28G9H0J1K2M3N4P5Q6R',
      object_type: 'email',
      metric: 'spammed',
      event_timestamp: '2024-11-25T16:13:20.000Z',
      received_at: RECEIVED,
      person_id: null,
      person_email: 'di@example.com',
      cio_id: 'a1b2c3000004',
      customer_id: null,
      delivery_id: 'dlv-Td4DDDJWs6a2',
      action_id: 311,
      campaign_id: 27,
      broadcast_id: null,
      newsletter_id: null,
      journey_id: null,
      transactional_message_id: null,
      recipient: 'di@example.com',
      subject: 'Your November summary',
      href: null,
      link_id: null,
      failure_message: null,
      data: JSON.stringify((JSON.parse(text) as { data: unknown }).data),
      actions: ['identify:email_complained'],
      object_type_type: null,
      body: JSON.stringify({
        event_id: '01JD2KC28G9H0J1K2M3N4P5Q6R',
        object_type: 'email',
        metric: 'spammed',
        timestamp: 1732551200,
      }),
      truncated: null,
      workspace: 'default',
      source: null,
    });
  });

  it('stores a transactional failure and a customer event with every column', async () => {
    h = await startHarness();
    await deliverEvent(h, fixtureText('email-failed-transactional.json'));
    await deliverEvent(h, fixtureText('customer-preferences-changed.json'));
    const rows = (await h.eventRows()).map(plainRow);
    const failed = rows.find((r) => r.metric === 'failed');
    expect(failed).toEqual({
      event_id: '01JD2KE4AJ1K2M3N4P5Q6R7S8T',
      object_type: 'email',
      metric: 'failed',
      event_timestamp: '2024-11-25T16:16:40.000Z',
      received_at: RECEIVED,
      person_id: 'u-1006',
      person_email: null,
      cio_id: null,
      customer_id: 'u-1006',
      delivery_id: 'dlv-Vf6FFFLYu8c4',
      action_id: null,
      campaign_id: null,
      broadcast_id: null,
      newsletter_id: null,
      journey_id: null,
      transactional_message_id: 3,
      recipient: 'fi@example.com',
      subject: 'Reset your password',
      href: null,
      link_id: null,
      failure_message: "Liquid error: undefined variable 'customer.first_name'",
      data: expect.any(String) as string,
      actions: [],
      object_type_type: null,
      body: JSON.stringify({
        event_id: '01JD2KE4AJ1K2M3N4P5Q6R7S8T',
        object_type: 'email',
        metric: 'failed',
        timestamp: 1732551400,
      }),
      truncated: null,
      workspace: 'default',
      source: null,
    });
    const prefs = rows.find((r) => r.object_type === 'customer');
    expect(prefs).toMatchObject({
      metric: 'cio_subscription_preferences_changed',
      object_type_type: 'email',
      person_id: 'u-1010',
      person_email: 'jo@example.com',
      delivery_id: null,
      actions: [],
    });
    expect(h.track.calls).toEqual([]);
  });
});

describe('policy through the processor', () => {
  it('by default marks a bounce with identify only, and sends no engagement', async () => {
    h = await startHarness();
    await deliverEvent(h, fixtureText('email-bounced-newsletter.json'));
    await deliverEvent(h, fixtureText('email-clicked.json'));
    expect(h.track.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['PUT /api/v1/customers/u-1003']);
  });

  it('in dry-run decides, records and logs the actions but sends nothing', async () => {
    h = await startHarness({ live: false, env: { CIO_SUPPRESS_ON: 'bounced' } });
    expect(await deliverEvent(h, fixtureText('email-bounced-newsletter.json'))).toMatchObject({
      status: 200,
    });
    expect(h.track.calls).toEqual([]);
    const [row] = await h.eventRows();
    expect(row.actions).toEqual(['dry_run:identify:email_bounced', 'dry_run:suppress']);
    expect(eventLines(h).at(-1)).toMatchObject({
      outcome: 'processed',
      actions: ['dry_run:identify:email_bounced', 'dry_run:suppress'],
    });
    expect(h.logs.some((l) => l.severity === 'WARNING' && /dry-run/.test(String(l.message)))).toBe(true);
  });

  it('records skipped:no_person when a bounce names nobody', async () => {
    h = await startHarness();
    const text = JSON.stringify({
      event_id: 'nobody-1',
      object_type: 'email',
      metric: 'bounced',
      timestamp: 1,
      data: {},
    });
    await deliverEvent(h, text);
    expect(h.track.calls).toEqual([]);
    expect((await h.eventRows())[0].actions).toEqual(['skipped:no_person']);
  });

  it('sends one engagement identify per person per day of event time, recording the rest as throttled', async () => {
    h = await startHarness({ env: { CIO_ENGAGEMENT_ATTRIBUTES: 'true' } });
    const click = (id: string, timestamp: number) =>
      JSON.stringify({
        event_id: id,
        object_type: 'email',
        metric: 'clicked',
        timestamp,
        data: { identifiers: { id: 'u-7' } },
      });
    await deliverEvent(h, click('c1', 1_700_000_000));
    await deliverEvent(h, click('c2', 1_700_000_000 + 3600));
    await deliverEvent(h, click('c3', 1_700_000_000 + 86_400));
    expect(h.track.calls.map((c) => c.body)).toEqual([
      { last_email_engaged_at: 1_700_000_000 },
      { last_email_engaged_at: 1_700_086_400 },
    ]);
    const actions = Object.fromEntries((await h.eventRows()).map((r) => [r.event_id, r.actions]));
    expect(actions).toEqual({
      c1: ['identify:email_engaged'],
      c2: ['throttled:identify:email_engaged'],
      c3: ['identify:email_engaged'],
    });
  });

  it('accepts and stores unknown object types and metrics, with integer ids coerced', async () => {
    h = await startHarness({ env: { CIO_SUPPRESS_ON: 'bounced' } });
    const text = JSON.stringify({
      event_id: 'novel-1',
      object_type: 'carrier_pigeon',
      metric: 'bounced',
      timestamp: 1732551100,
      data: {
        identifiers: { id: 'u-9' },
        campaign_id: '27',
        action_id: 'x1',
        journey_id: 9001,
        extra: { a: [1] },
      },
    });
    expect(await deliverEvent(h, text)).toEqual({ status: 200, outcome: 'processed' });
    expect(h.track.calls).toEqual([]);
    const [row] = (await h.eventRows()).map(plainRow);
    expect(row).toMatchObject({
      object_type: 'carrier_pigeon',
      metric: 'bounced',
      campaign_id: 27,
      action_id: null,
      journey_id: '9001',
      actions: [],
    });
    expect(JSON.parse(row.data as string)).toMatchObject({ action_id: 'x1', extra: { a: [1] } });
  });
});

describe('duplicates and Firestore cost', () => {
  it('costs 1 read + 2 writes for a fresh event and 1 read + 0 writes for a duplicate, which has no effect', async () => {
    h = await startHarness();
    const text = fixtureText('email-bounced-newsletter.json');
    expect(await deliverEvent(h, text)).toEqual({ status: 200, outcome: 'processed' });
    expect(eventLines(h).at(-1)).toMatchObject({
      outcome: 'processed',
      firestore_ops: { reads: 1, writes: 2 },
    });
    const ref = h.firestore
      .collection(h.config.dedupeCollection)
      .doc(createHash('sha256').update('01JD2KB17F8G9H0J1K2M3N4P5Q').digest('hex'));
    const doneSnap = await ref.get();
    expect(doneSnap.data()).toMatchObject({
      event_id: '01JD2KB17F8G9H0J1K2M3N4P5Q',
      state: 'done',
      attempts: 1,
      actions: ['identify:email_bounced'],
      warehouse_done: true,
    });

    expect(await deliverEvent(h, text)).toEqual({ status: 200, outcome: 'duplicate' });
    expect(eventLines(h).at(-1)).toMatchObject({
      outcome: 'duplicate',
      firestore_ops: { reads: 1, writes: 0 },
    });
    expect((await ref.get()).updateTime!.isEqual(doneSnap.updateTime!)).toBe(true);
    expect(h.track.calls).toHaveLength(1);
    expect(await h.eventRows()).toHaveLength(1);
    expect(h.warehouse.stats.receivedByInsertId(h.config.bqTable, '01JD2KB17F8G9H0J1K2M3N4P5Q')).toBe(1);
  });

  it('writes one log line per delivery, with the fields operators search by and no full email address', async () => {
    h = await startHarness();
    await deliverEvent(h, fixtureText('email-bounced-newsletter.json'));
    const lines = eventLines(h);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      severity: 'INFO',
      event_id: '01JD2KB17F8G9H0J1K2M3N4P5Q',
      metric: 'bounced',
      object_type: 'email',
      outcome: 'processed',
      actions: ['identify:email_bounced'],
      latency_ms: expect.any(Number) as number,
      event_lag_seconds: expect.any(Number) as number,
    });
    expect(JSON.stringify(h.logs)).not.toContain('cy@example.com');
  });
});

describe('parking', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('parks a body cioWebhook flagged with parse_error, with its bytes, reason and times', async () => {
    h = await startHarness();
    const raw = Buffer.from('{"event_id": "trunc');
    const result = await h.deliver({
      data: raw,
      attributes: { parse_error: 'not_json', received_at: '2024-11-25T16:29:59.500Z', cio_timestamp: '1' },
      messageId: 'pm-1',
    });
    expect(result).toEqual({ status: 200, outcome: 'rejected' });
    const rows = (await h.rejectRows()).map(plainRow);
    expect(rows).toEqual([
      {
        reject_id: sha(raw),
        reason: 'parse_error',
        detail: 'not_json',
        event_id: null,
        message_id: 'pm-1',
        raw_body: raw.toString('base64'),
        attributes: expect.any(String) as string,
        received_at: '2024-11-25T16:29:59.500Z',
        rejected_at: expect.any(String) as string,
      },
    ]);
    expect(JSON.parse(rows[0].attributes as string)).toEqual({
      parse_error: 'not_json',
      received_at: '2024-11-25T16:29:59.500Z',
      cio_timestamp: '1',
    });
    expect(Math.abs(Date.parse(rows[0].rejected_at as string) - Date.now())).toBeLessThan(60_000);
    expect(await h.eventRows()).toEqual([]);
    expect(eventLines(h).at(-1)).toMatchObject({
      severity: 'WARNING',
      outcome: 'rejected',
      reason: 'parse_error',
    });
  });

  it('parks data that is not base64, using the publish time when received_at is missing', async () => {
    h = await startHarness();
    const body = {
      message: { data: '%%%not-base64%%%', messageId: 'pm-2', publishTime: '2024-11-25T16:00:00.5Z' },
    };
    const raw = Buffer.from(JSON.stringify(body));
    expect(await h.post(body, raw)).toEqual({ status: 200, outcome: 'rejected' });
    const [row] = (await h.rejectRows()).map(plainRow);
    expect(row).toMatchObject({
      reason: 'data_not_base64',
      reject_id: sha(Buffer.from('%%%not-base64%%%')),
      raw_body: Buffer.from('%%%not-base64%%%').toString('base64'),
      message_id: 'pm-2',
      received_at: '2024-11-25T16:00:00.500Z',
    });
    expect(eventLines(h).at(-1)).toMatchObject({ severity: 'ERROR', outcome: 'rejected' });
  });

  it('parks a request without a message, and one that is not JSON at all', async () => {
    h = await startHarness();
    const noMessage = { subscription: 'projects/p/subscriptions/s' };
    expect(await h.post(noMessage, Buffer.from(JSON.stringify(noMessage)))).toEqual({
      status: 200,
      outcome: 'rejected',
    });
    expect(await h.post(undefined, Buffer.from('<html>'))).toEqual({ status: 200, outcome: 'rejected' });
    const rows = (await h.rejectRows()).map(plainRow);
    expect(
      rows.map((r) => [r.reason, Buffer.from(r.raw_body as string, 'base64').toString()]).sort(),
    ).toEqual([
      ['envelope_invalid', '<html>'],
      ['envelope_invalid', JSON.stringify(noMessage)],
    ]);
  });

  it('parks an event that is not an object and one that fails validation, keeping its event_id', async () => {
    h = await startHarness();
    expect(await h.deliver({ data: '[1,2,3]' })).toEqual({ status: 200, outcome: 'rejected' });
    expect(await h.deliver({ data: '{"event_id":"bad-ts","timestamp":"soon"}' })).toEqual({
      status: 200,
      outcome: 'rejected',
    });
    const rows = (await h.rejectRows()).map(plainRow);
    expect(rows.map((r) => [r.reason, r.event_id]).sort()).toEqual([
      ['invalid_event', 'bad-ts'],
      ['not_an_object', null],
    ]);
    expect(await h.eventRows()).toEqual([]);
  });

  it('nacks when the rejects table cannot be written, and parks on the redelivery', async () => {
    h = await startHarness();
    h.warehouse.faults.add({ kind: 'status', status: 500, times: Infinity, table: h.config.bqRejectsTable });
    const delivery = { data: 'not json', attributes: { parse_error: 'not_json' } };
    expect(await h.deliver(delivery)).toEqual({ status: 503, outcome: 'reject_failed' });
    expect(eventLines(h).at(-1)).toMatchObject({ severity: 'ERROR', outcome: 'reject_failed' });
    h.warehouse.faults.clear();
    expect(await h.deliver(delivery)).toEqual({ status: 200, outcome: 'rejected' });
    expect(await h.rejectRows()).toHaveLength(1);
  });
});

describe('time budget', () => {
  it('keeps the per-event deadline at most half the lease and under the 60 s push ack deadline', () => {
    expect(processingBudget(120)).toEqual({
      deadlineMs: 40_000,
      trackRequestTimeoutMs: 5_000,
      bigQueryTimeoutMs: 10_000,
    });
    for (const lease of [5, 8, 30, 120, 600, 3600]) {
      const budget = processingBudget(lease);
      expect(budget.deadlineMs).toBeLessThanOrEqual((lease * 1000) / 2);
      expect(budget.deadlineMs).toBeLessThan(60_000);
      // A Track call with its client retries (3 requests + backoff ≤ one request timeout) fits in the deadline.
      expect(4 * budget.trackRequestTimeoutMs).toBeLessThanOrEqual(budget.deadlineMs);
    }
  });
});
