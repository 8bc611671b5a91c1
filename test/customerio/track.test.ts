// The Track adapter (shared/customerio/track.ts) against an in-process stand-in of the Track API, through the real
// customerio-node client: what each answer becomes (a token on the row, or a retryable failure with its class).
import { EngagementLimiter, type Action } from '../../shared/customerio/action-policy';
import { RateLimiter, TrackActions } from '../../shared/customerio/track';
import { RetryableError, classOf } from '../../shared/errors';
import { startTrackApiServer, type TrackApiServer } from '../support/track-api-server';

let api: TrackApiServer;
beforeAll(async () => {
  api = await startTrackApiServer();
});
afterAll(() => api.close());
beforeEach(() => {
  api.calls.length = 0;
  api.faults.clear();
});

const bounce: Action = {
  key: 'identify:email_bounced',
  kind: 'identify',
  person: 'cio_a1b2',
  attributes: { email_bounced: true, email_bounced_at: 1732550000 },
};
const engaged = (at: number): Action => ({
  key: 'identify:email_engaged',
  kind: 'identify',
  person: 'cio_a1b2',
  attributes: { last_email_engaged_at: at },
});
const inAMinute = () => Date.now() + 60_000;

function live(requestTimeoutMs = 1_000): TrackActions {
  return new TrackActions(
    {
      track: { siteId: 'site', apiKey: 'key' },
      region: 'us',
      trackApiUrl: api.url,
      trackMaxRps: 100,
      requestTimeoutMs,
    },
    new EngagementLimiter(),
  );
}

it('sends an identify to the person and answers with the action key', async () => {
  await expect(live().run(bounce, inAMinute())).resolves.toEqual({ token: 'identify:email_bounced' });
  expect(api.effects()).toMatchObject([
    { method: 'PUT', person: 'cio_a1b2', body: { email_bounced: true, email_bounced_at: 1732550000 } },
  ]);
});

it('suppress() is a POST to the person’s suppress endpoint', async () => {
  await live().run({ key: 'suppress', kind: 'suppress', person: 'cio_a1b2' }, inAMinute());
  expect(api.effects()).toMatchObject([{ method: 'POST', path: '/api/v1/customers/cio_a1b2/suppress' }]);
});

it('without credentials decides but sends nothing (dry-run token)', async () => {
  const dry = new TrackActions(
    { track: undefined, region: 'us', trackApiUrl: api.url, trackMaxRps: 10, requestTimeoutMs: 1_000 },
    new EngagementLimiter(),
  );
  expect(dry.dryRun).toBe(true);
  await expect(dry.run(bounce, inAMinute())).resolves.toEqual({ token: 'dry_run:identify:email_bounced' });
  expect(api.calls).toEqual([]);
});

it('a 4xx other than 401/403/408/429 is permanent for this event: an error token, the event completes', async () => {
  api.faults.add({ kind: 'status', status: 400, times: 1 });
  await expect(live().run(bounce, inAMinute())).resolves.toMatchObject({
    token: 'error:identify:email_bounced:400',
    permanentError: { status: 400 },
  });
});

it.each([401, 403])('%s is retryable and pages (credentials are wrong for every event)', async (status) => {
  api.faults.add({ kind: 'status', status, times: 1 });
  const failure = await live()
    .run(bounce, inAMinute())
    .catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(RetryableError);
  expect(classOf(failure)).toEqual({ classification: `track:credentials:${status}`, severity: 'error' });
});

it('a 500 that outlasts the client’s own retries is retryable, at WARNING', async () => {
  api.faults.add({ kind: 'status', status: 500, times: 3 });
  const failure = await live()
    .run(bounce, inAMinute())
    .catch((err: unknown) => err);
  expect(classOf(failure)).toEqual({ classification: 'track:500', severity: 'warning' });
  expect(api.calls).toHaveLength(3); // the first attempt and the client's 2 retries
});

it('a 500 the client’s retry absorbs is a success', async () => {
  api.faults.add({ kind: 'status', status: 500, times: 1 });
  await expect(live().run(bounce, inAMinute())).resolves.toEqual({ token: 'identify:email_bounced' });
});

it('starts no call that could outlive the deadline', async () => {
  const track = live(1_000);
  const failure = await track.run(bounce, Date.now() + track.worstCallMs - 100).catch((err: unknown) => err);
  expect(classOf(failure)).toEqual({ classification: 'deadline', severity: 'warning' });
  expect(api.calls).toEqual([]);
});

it('engagement: one identify per person per 24 h of event time; a failed one may be sent again', async () => {
  const track = live();
  await expect(track.run(engaged(1_000_000), inAMinute())).resolves.toEqual({
    token: 'identify:email_engaged',
  });
  await expect(track.run(engaged(1_000_000 + 3600), inAMinute())).resolves.toEqual({
    token: 'throttled:identify:email_engaged',
  });
  api.faults.add({ kind: 'status', status: 503, times: 3 });
  await expect(track.run(engaged(1_000_000 + 86_400), inAMinute())).rejects.toBeInstanceOf(RetryableError);
  await expect(track.run(engaged(1_000_000 + 86_400), inAMinute())).resolves.toEqual({
    token: 'identify:email_engaged',
  });
});

it('the rate limiter spaces calls 1/rps apart and refuses a turn that comes after the latest start', async () => {
  const limiter = new RateLimiter(10);
  const started = Date.now();
  await limiter.acquire(started + 1_000);
  await limiter.acquire(started + 1_000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  await expect(limiter.acquire(Date.now())).rejects.toMatchObject({ classification: 'track:rate_limited' });
});
