// The App API client against the local stand-in (scripts/local/app-api/), the real client over real HTTP: paging,
// the 6-month split, the rate limit, backoff on 429 and 5xx, and the errors a user must be able to act on.
import { AppApiClient, AppApiError, retryAfterMs } from '../../shared/customerio/app-api/client';
import {
  deliveryPages,
  getDelivery,
  splitWindow,
  MAX_WINDOW_SECONDS,
  type DeliveryPage,
  type DeliveryWindow,
} from '../../shared/customerio/app-api/deliveries';
import { listReportingWebhooks } from '../../shared/customerio/app-api/reporting-webhooks';
import { DeliveryRecord, type ApiDelivery } from '../../scripts/local/app-api/record';
import { startAppApiServer, type AppApiServer } from '../../scripts/local/app-api/server';

const KEY = 'test-app-api-key-0123456789';
const DAY = 86400;
const T0 = Date.UTC(2025, 0, 1) / 1000;

function delivery(id: string, created: number, extra: Partial<ApiDelivery> = {}): ApiDelivery {
  return {
    id,
    deduplicate_id: `${id}:${created}`,
    created,
    type: 'email',
    campaign_id: 7,
    broadcast_id: null,
    newsletter_id: null,
    transactional_message_id: null,
    action_id: 3,
    parent_action_id: null,
    content_id: null,
    trigger_event_id: null,
    customer_id: null,
    customer_identifiers: { id: 'u-1', email: 'ana@example.com', cio_id: 'c1' },
    recipient: 'ana@example.com',
    subject: 'Hello',
    failure_message: null,
    forgotten: false,
    metrics: { created, sent: created + 1 },
    ...extra,
  };
}

let server: AppApiServer;
const client = (options: Partial<ConstructorParameters<typeof AppApiClient>[0]> = {}): AppApiClient =>
  new AppApiClient({
    workspace: { label: 'default', key: KEY, region: 'us' },
    baseUrl: server.url,
    backoffMs: 5,
    maxBackoffMs: 20,
    ...options,
  });

async function all(c: AppApiClient, window: DeliveryWindow, limit = 1000): Promise<string[]> {
  const ids: string[] = [];
  for (const w of splitWindow(window)) {
    for await (const page of deliveryPages(c, w, { limit })) ids.push(...page.deliveries.map((d) => d.id));
  }
  return ids;
}

afterEach(async () => {
  await server?.close();
});

describe('paging and windows', () => {
  beforeEach(async () => {
    const record = new DeliveryRecord();
    // 250 deliveries, one every 2 hours (d120 is created exactly at the 10-day mark), and one more at that time.
    record.add(
      Array.from({ length: 250 }, (_, i) => delivery(`d${String(i).padStart(3, '0')}`, T0 + i * 7200)),
    );
    record.add([delivery('at-end', T0 + 10 * DAY)]);
    server = await startAppApiServer({ key: KEY, record, requestsPerSecond: 0 });
  });

  test('every delivery created in the window once, through the cursor, none outside it', async () => {
    const ids = await all(client(), { start: T0, end: T0 + 10 * DAY }, 7);
    const expected = Array.from({ length: 120 }, (_, i) => `d${String(i).padStart(3, '0')}`);
    expect(ids.sort()).toEqual(expected);
    // Customer.io's end_ts may be inclusive: the delivery created at the end belongs to the next window only.
    expect((await all(client(), { start: T0 + 10 * DAY, end: T0 + 10 * DAY + 1 })).sort()).toEqual([
      'at-end',
      'd120',
    ]);
  });

  test('a page carries its cursor and the next one, so a run can resume mid-window', async () => {
    const c = client();
    const window = { start: T0, end: T0 + 10 * DAY };
    const pages = deliveryPages(c, window, { limit: 50 });
    const first = (await pages.next()).value as DeliveryPage;
    expect(first.cursor).toBeUndefined();
    expect(first.next).toEqual(expect.any(String));
    await pages.return(undefined);
    const rest: string[] = [];
    for await (const page of deliveryPages(c, window, { limit: 50, cursor: first.next })) {
      rest.push(...page.deliveries.map((d) => d.id));
    }
    expect(new Set([...first.deliveries.map((d) => d.id), ...rest]).size).toBe(120);
    expect(first.deliveries.length + rest.length).toBe(120);
  });

  test('one delivery by id; undefined when Customer.io has none', async () => {
    expect((await getDelivery(client(), 'd001'))?.metrics).toEqual({ created: T0 + 7200, sent: T0 + 7201 });
    expect(await getDelivery(client(), 'nope')).toBeUndefined();
  });
});

describe('a window over the 6-month limit', () => {
  test('is split into windows of at most 180 days, back to back', () => {
    const window = { start: T0, end: T0 + 400 * DAY };
    const parts = splitWindow(window);
    expect(parts).toEqual([
      { start: T0, end: T0 + 180 * DAY },
      { start: T0 + 180 * DAY, end: T0 + 360 * DAY },
      { start: T0 + 360 * DAY, end: T0 + 400 * DAY },
    ]);
    expect(parts.every((p) => p.end - p.start <= MAX_WINDOW_SECONDS)).toBe(true);
  });

  test('split, it finds what one request over the whole span would miss', async () => {
    const record = new DeliveryRecord();
    record.add(Array.from({ length: 40 }, (_, i) => delivery(`m${i}`, T0 + i * 10 * DAY)));
    server = await startAppApiServer({ key: KEY, record, requestsPerSecond: 0 });
    expect(await all(client(), { start: T0, end: T0 + 400 * DAY })).toHaveLength(40);
    // What Customer.io does with an unsplit 400-day request: only the last 6 months come back.
    const c = client();
    const raw = (await c.get('/messages', { start_ts: T0, end_ts: T0 + 400 * DAY, limit: 1000 })) as {
      messages: unknown[];
    };
    expect(raw.messages.length).toBeLessThan(20);
    await expect(deliveryPages(c, { start: T0, end: T0 + 400 * DAY }).next()).rejects.toThrow(/split it/);
  });
});

describe('the rate limit', () => {
  test('requests start at most 10 per second, so Customer.io never has to refuse one', async () => {
    // A bucket of 2: requests spaced 100 ms apart may arrive a little closer (timers, the loopback).
    server = await startAppApiServer({ key: KEY, requestsPerSecond: 10, burst: 2 });
    const c = client();
    await Promise.all(Array.from({ length: 12 }, () => c.get('/reporting_webhooks')));
    expect(server.stats.throttled).toBe(0);
    expect(c.stats.requests).toBe(12);
    // 12 starts 100 ms apart span 1.1 s; a loaded machine can only stretch that (arrivals jitter either way).
    expect(server.stats.admitted.at(-1)! - server.stats.admitted[0]!).toBeGreaterThanOrEqual(1000);
  });

  test('a 429 storm is waited out: every request waits, nothing spins, the call succeeds', async () => {
    server = await startAppApiServer({ key: KEY, requestsPerSecond: 0 });
    server.faults.add({ kind: 'status', status: 429, times: 6, retryAfter: '0' });
    const c = client();
    const retries: number[] = [];
    const c2 = client({ onRetry: (r) => retries.push(r.status === 429 ? 429 : 0) });
    await expect(c.get('/reporting_webhooks')).resolves.toBeDefined();
    expect(c.stats).toEqual({ requests: 7, throttled: 6, failed: 0 });
    server.faults.add({ kind: 'status', status: 429, times: 3 });
    await c2.get('/reporting_webhooks');
    expect(retries).toEqual([429, 429, 429]);
  });

  test('Retry-After is honoured: no request before the time Customer.io asked for', async () => {
    server = await startAppApiServer({ key: KEY, requestsPerSecond: 0 });
    server.faults.add({ kind: 'status', status: 429, times: 1, retryAfter: '1' });
    const c = client();
    const started = performance.now();
    await Promise.all([c.get('/reporting_webhooks'), c.get('/reporting_webhooks')]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(c.stats.requests).toBe(3);
  });

  test('a 429 that never ends fails as throttled, naming the workspace, after the attempts', async () => {
    server = await startAppApiServer({ key: KEY, requestsPerSecond: 0 });
    server.faults.add({ kind: 'status', status: 429, times: 100, retryAfter: '0' });
    const err = await client({ maxAttempts: 4 })
      .get('/messages')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppApiError);
    expect((err as AppApiError).kind).toBe('throttled');
    expect((err as AppApiError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/429 .* workspace default after 4 attempts/);
  });

  test('Retry-After in seconds or as a date', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
  });
});

describe('failures a user must be able to act on', () => {
  test('a wrong key: 401 names the variable and what the key must be, never the key', async () => {
    server = await startAppApiServer({ key: 'the-right-key' });
    const err = (await client()
      .get('/messages')
      .catch((e: unknown) => e)) as AppApiError;
    expect(err.kind).toBe('unauthorized');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/CIO_APP_API_KEY must be an App API key .* not the Track API key/);
    expect(err.message).not.toContain(KEY);
    const labelled = new AppApiClient({
      workspace: { label: 'brand-b', key: KEY, region: 'eu' },
      baseUrl: server.url,
    });
    expect(((await labelled.get('/messages').catch((e: unknown) => e)) as Error).message).toMatch(
      /CIO_WORKSPACE_APP_API_KEYS\["brand-b"\]/,
    );
  });

  test('5xx is retried with backoff; one that persists fails as unavailable', async () => {
    server = await startAppApiServer({ key: KEY, requestsPerSecond: 0 });
    server.faults.add({ kind: 'status', status: 503, times: 2 });
    const c = client();
    await expect(c.get('/reporting_webhooks')).resolves.toBeDefined();
    expect(c.stats.failed).toBe(2);
    server.faults.add({ kind: 'status', status: 500, times: 10 });
    const err = (await client({ maxAttempts: 3 })
      .get('/messages')
      .catch((e: unknown) => e)) as AppApiError;
    expect([err.kind, err.retryable]).toEqual(['unavailable', true]);
  });

  test('a connection cut in the middle of a page is retried; a malformed page fails naming the field', async () => {
    const record = new DeliveryRecord();
    record.add([delivery('a', T0), delivery('b', T0 + 1)]);
    server = await startAppApiServer({ key: KEY, record, requestsPerSecond: 0 });
    server.faults.add({ kind: 'cut', times: 1, path: /^\/messages$/ });
    expect(await all(client(), { start: T0, end: T0 + DAY })).toEqual(['b', 'a']);

    server.faults.add({ kind: 'malformed', times: 1 });
    await expect(all(client(), { start: T0, end: T0 + DAY })).rejects.toThrow(/"messages" is not an array/);
    server.faults.add({
      kind: 'malformed',
      times: 1,
      body: { messages: [{ id: 'x', created: T0, type: 'email', metrics: { opened: 'yesterday' } }] },
    });
    const err = (await all(client(), { start: T0, end: T0 + DAY }).catch((e: unknown) => e)) as AppApiError;
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(/messages\[0\] \(delivery x\)\.metrics\.opened is not a unix time/);
    expect(err.message).toMatch(/nothing from this page was written/);
  });

  test('a URL that is not the App API: 404 names CIO_APP_API_URL', async () => {
    server = await startAppApiServer({ key: KEY });
    const c = new AppApiClient({
      workspace: { label: 'default', key: KEY, region: 'us' },
      baseUrl: server.url.replace('/v1', '/v2'),
    });
    await expect(c.get('/messages')).rejects.toThrow(/CIO_APP_API_URL \(it must end in \/v1\)/);
  });
});

test('the reporting webhooks: events and full_resolution', async () => {
  server = await startAppApiServer({
    key: KEY,
    reportingWebhooks: [
      {
        id: 4,
        name: 'warehouse',
        endpoint: 'https://x',
        disabled: false,
        full_resolution: true,
        with_content: false,
        events: ['email_sent', 'email_opened'],
      },
    ],
  });
  expect(await listReportingWebhooks(client())).toEqual([
    {
      id: 4,
      name: 'warehouse',
      endpoint: 'https://x',
      disabled: false,
      fullResolution: true,
      events: ['email_sent', 'email_opened'],
    },
  ]);
});
