// Executes policy actions through customerio-node's TrackClient, or only records them in dry-run (no credentials).
//
// Time: a call may take (retries + 1) × request timeout + the client's total backoff. A call is only started when
// that worst case fits before the per-event deadline, so no Track request outlives it (and so none outlives the
// ledger lease, which is at least twice the deadline). The client's own retry (408/429/5xx, network, timeout) is
// kept but bounded: 2 retries, backoff (Retry-After included) ≤ min(2 s, one request timeout) in total. With the
// default lease (120 s): deadline 40 s, request timeout 5 s, worst call 17 s.
//
// Rate: Customer.io's fair use is about 100 Track requests/s per workspace, across every instance. Each instance
// spaces its calls to CIO_TRACK_MAX_RPS (default 10; a token bucket of depth 1, so no bursts). Terraform caps the
// processor's max instances so that max_instances × CIO_TRACK_MAX_RPS ≤ 100, e.g. 10 instances × 10/s = 100/s;
// lower either when other systems also use the workspace's Track API. The client's retries of 429/5xx come on
// top of that, at most 2 per call, and only while the API is already refusing.
//
// Errors: 408, 429, 5xx, network failures and timeouts are retryable (thrown as RetryableError: the message is
// nacked and redelivered). 401 and 403 are retryable too, and logged at ERROR: they mean the workspace's credentials
// are wrong or revoked, which is true of every event, not one bad profile; completing events would drop every action
// until someone noticed, while nacking keeps them (in the dead-letter topic at worst, for replay-dead-letters once
// the secret is fixed). Any other 4xx is permanent for this event: returned as an `error:<key>:<status>` token
// and logged at ERROR by the caller, and the event completes. Unrecognised errors (e.g. a non-JSON error page
// from a proxy) are treated as retryable: the dead-letter topic ends a loop, nothing is dropped silently.

import { CustomerIORequestError, RegionEU, RegionUS, TrackClient } from 'customerio-node';
import { token, type Action, type EngagementLimiter } from './action-policy';
import type { ProcessorConfig } from '../config';
import { RetryableError, errorMessage } from '../errors';

export interface ActionResult {
  token: string;
  /** Set when the call failed permanently (the token is then `error:<key>:<status>`). */
  permanentError?: { status: number; message: string };
}

const CLIENT_RETRIES = 2;

export interface TrackSettings extends Pick<
  ProcessorConfig,
  'track' | 'region' | 'trackApiUrl' | 'trackMaxRps'
> {
  /** Per HTTP request; derived from the per-event deadline by the caller. */
  requestTimeoutMs: number;
}

/** Spaces calls 1/rps apart; a caller whose turn would come after `latestStart` is refused without waiting. */
export class RateLimiter {
  private next = 0;
  private readonly intervalMs: number;

  constructor(rps: number) {
    this.intervalMs = 1000 / rps;
  }

  async acquire(latestStart: number): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.next);
    if (slot > latestStart)
      throw new RetryableError(
        'track:rate_limited',
        undefined,
        'Track rate limit: no slot before the deadline',
      );
    this.next = slot + this.intervalMs;
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  }
}

export class TrackActions {
  private readonly client: TrackClient | undefined;
  private readonly limiter: RateLimiter;
  /** Worst-case duration of one call including the client's retries and backoff. */
  readonly worstCallMs: number;

  constructor(
    settings: TrackSettings,
    private readonly engagement: EngagementLimiter,
  ) {
    this.limiter = new RateLimiter(settings.trackMaxRps);
    // Backoff between the client's retries: at most one request timeout in total, and never over 2 s.
    const maxTotalBackoffMs = Math.min(2_000, settings.requestTimeoutMs);
    this.worstCallMs = (CLIENT_RETRIES + 1) * settings.requestTimeoutMs + maxTotalBackoffMs;
    if (settings.track) {
      this.client = new TrackClient(settings.track.siteId, settings.track.apiKey, {
        region: settings.region === 'eu' ? RegionEU : RegionUS,
        ...(settings.trackApiUrl !== undefined && { url: settings.trackApiUrl }),
        timeout: settings.requestTimeoutMs,
        retry: {
          maxRetries: CLIENT_RETRIES,
          minTimeoutMs: 200,
          maxTimeoutMs: maxTotalBackoffMs / 2,
          respectRetryAfter: true,
          retryAfterMaxSeconds: maxTotalBackoffMs / 2000,
          maxTotalBackoffMs,
        },
      });
    }
  }

  get dryRun(): boolean {
    return this.client === undefined;
  }

  /** Runs one action; throws RetryableError when it should be retried later. */
  async run(action: Action, deadlineAt: number): Promise<ActionResult> {
    const { person, key } = action;
    const engagedAt =
      action.key === 'identify:email_engaged' ? action.attributes.last_email_engaged_at : undefined;
    if (typeof engagedAt === 'number' && !this.engagement.acquire(person, engagedAt)) {
      return { token: token.throttled(key) };
    }
    if (this.client === undefined) return { token: token.dryRun(key) };
    try {
      const latestStart = deadlineAt - this.worstCallMs;
      if (Date.now() > latestStart)
        throw new RetryableError('deadline', undefined, 'too little time left to call the Track API');
      await this.limiter.acquire(latestStart);
      if (action.kind === 'identify') await this.client.identify(person, { ...action.attributes });
      else await this.client.suppress(person);
      return { token: token.done(key) };
    } catch (err) {
      if (typeof engagedAt === 'number') this.engagement.release(person, engagedAt);
      if (err instanceof RetryableError) throw err;
      const status = err instanceof CustomerIORequestError ? err.statusCode : undefined;
      if (status === 401 || status === 403) {
        throw new RetryableError(
          'track:credentials',
          status,
          `Track API refused the credentials (${status}): check CIO_SITE_ID / CIO_TRACK_API_KEY`,
          { cause: err },
        );
      }
      if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        return { token: token.error(key, status), permanentError: { status, message: errorMessage(err) } };
      }
      throw new RetryableError(
        'track',
        classify(err, status),
        `Track ${action.kind} failed: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
  }
}

function classify(err: unknown, status: number | undefined): string {
  if (status !== undefined) return String(status);
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'timeout';
  if (err instanceof TypeError) return 'network';
  return 'unexpected';
}
