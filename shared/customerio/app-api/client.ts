// The one client of Customer.io's App API (read-only GETs, Bearer key of one workspace). customerio-node's APIClient
// has no call for the workspace-wide delivery list (GET /v1/messages) and retries 429 on its own schedule, so this
// is a small client on fetch: requests paced to the workspace's rate, 429 and 5xx retried with backoff (Retry-After
// honoured), and every failure turned into an AppApiError that says what to fix. The key never appears in an error
// or a log line.

import { RegionEU, RegionUS } from 'customerio-node';
import { ENV, type AppApiWorkspace } from '../../config';
import { realClock, RequestPacer, type Clock } from './pacer';

export type AppApiErrorKind =
  'unauthorized' | 'forbidden' | 'not_found' | 'bad_request' | 'throttled' | 'unavailable' | 'malformed';

/**
 * A failed App API call. `retryable`: trying again later may succeed (Customer.io throttled us or was unavailable
 * for longer than the retries waited); otherwise something must change first (the key, its region, the URL).
 */
export class AppApiError extends Error {
  override name = 'AppApiError';
  constructor(
    readonly kind: AppApiErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'unavailable';
  }
}

export interface AppApiClientOptions {
  workspace: AppApiWorkspace;
  /** Base URL including `/v1` (CIO_APP_API_URL); default: the workspace region's host. */
  baseUrl?: string;
  /** Default 10, Customer.io's limit for the App API. */
  requestsPerSecond?: number;
  /** Attempts per request before giving up on 429, 5xx and network failures (default 8). */
  maxAttempts?: number;
  /** First backoff after a 5xx or a 429 without Retry-After (default 1000 ms), doubling up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Longest Retry-After honoured; a longer one fails the call as throttled (default 15 minutes). */
  maxRetryAfterMs?: number;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  clock?: Clock;
  /** Told about every retry: progress displays and logs say why a run slowed down. */
  onRetry?: (retry: { path: string; status: number | 'network'; waitMs: number; attempt: number }) => void;
}

export interface AppApiStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Requests answered 429. */
  throttled: number;
  /** Requests retried after a 5xx, a network failure or an unreadable body. */
  failed: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

const BODY_PREVIEW = 200;

export class AppApiClient {
  readonly workspace: string;
  readonly baseUrl: string;
  readonly stats: AppApiStats = { requests: 0, throttled: 0, failed: 0 };
  private readonly key: string;
  private readonly pacer: RequestPacer;
  private readonly clock: Clock;
  private readonly options: Required<
    Pick<AppApiClientOptions, 'maxAttempts' | 'backoffMs' | 'maxBackoffMs' | 'maxRetryAfterMs' | 'timeoutMs'>
  >;
  private readonly keyVariable: string;

  constructor(private readonly config: AppApiClientOptions) {
    this.workspace = config.workspace.label;
    this.key = config.workspace.key;
    this.keyVariable =
      config.workspace.label === 'default'
        ? ENV.appApiKey
        : `${ENV.workspaceAppApiKeys}["${config.workspace.label}"]`;
    this.baseUrl = (
      config.baseUrl ?? (config.workspace.region === 'eu' ? RegionEU.apiUrl : RegionUS.apiUrl)
    ).replace(/\/$/, '');
    this.clock = config.clock ?? realClock;
    this.pacer = new RequestPacer(config.requestsPerSecond ?? 10, this.clock);
    this.options = {
      maxAttempts: config.maxAttempts ?? 8,
      backoffMs: config.backoffMs ?? 1000,
      maxBackoffMs: config.maxBackoffMs ?? 60_000,
      maxRetryAfterMs: config.maxRetryAfterMs ?? 15 * 60_000,
      timeoutMs: config.timeoutMs ?? 30_000,
    };
  }

  /** GET `path` (below /v1) and its JSON body. A 404 resolves to undefined when `allowNotFound`. */
  async get(path: string, query: Query = {}, allowNotFound = false): Promise<unknown> {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    for (let attempt = 1; ; attempt += 1) {
      await this.pacer.slot();
      this.stats.requests += 1;
      let response: Response;
      let body: string;
      try {
        response = await fetch(url, {
          headers: { authorization: `Bearer ${this.key}`, accept: 'application/json' },
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        body = await response.text();
      } catch (err) {
        this.stats.failed += 1;
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        await this.backoff(path, 'network', attempt, undefined, () =>
          this.unavailable(path, `the request failed (${reason})`),
        );
        continue;
      }
      const status = response.status;
      if (status === 429) {
        this.stats.throttled += 1;
        const retryAfter = retryAfterMs(response.headers.get('retry-after'), Date.now());
        if (retryAfter !== undefined && retryAfter > this.options.maxRetryAfterMs) {
          throw new AppApiError(
            'throttled',
            `Customer.io asked to wait ${Math.ceil(retryAfter / 1000)} s before the next App API request ` +
              `(429 on ${path}, workspace ${this.workspace}): run again later`,
            429,
          );
        }
        await this.backoff(
          path,
          429,
          attempt,
          retryAfter,
          () =>
            new AppApiError(
              'throttled',
              `Customer.io kept answering 429 (rate limit) on ${path} for workspace ${this.workspace} after ` +
                `${attempt} attempts: another client may be using this workspace's App API budget; run again later`,
              429,
            ),
        );
        continue;
      }
      if (status >= 500) {
        this.stats.failed += 1;
        await this.backoff(
          path,
          status,
          attempt,
          retryAfterMs(response.headers.get('retry-after'), Date.now()),
          () => this.unavailable(path, `Customer.io answered ${status}`),
        );
        continue;
      }
      if (status === 404 && allowNotFound) return undefined;
      if (status < 200 || status >= 300) throw this.refused(path, status, body);
      try {
        return JSON.parse(body) as unknown;
      } catch {
        // A body cut short on the way (a proxy, a dropped connection) reads like this too: retry it.
        this.stats.failed += 1;
        await this.backoff(
          path,
          status,
          attempt,
          undefined,
          () =>
            new AppApiError(
              'malformed',
              `Customer.io's answer to ${path} is not JSON (${attempt} attempts; it began ${JSON.stringify(body.slice(0, 80))}): ` +
                `if ${ENV.appApiUrl} is set, check that it points at the App API`,
              status,
            ),
        );
      }
    }
  }

  private async backoff(
    path: string,
    status: number | 'network',
    attempt: number,
    retryAfter: number | undefined,
    giveUp: () => AppApiError,
  ): Promise<void> {
    if (attempt >= this.options.maxAttempts) throw giveUp();
    const exponential = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (attempt - 1));
    // Jitter spreads clients that were throttled together; a Retry-After is a floor, never shortened.
    const waitMs = retryAfter ?? exponential * (0.5 + Math.random() / 2);
    this.config.onRetry?.({ path, status, waitMs, attempt });
    if (status === 429) {
      this.pacer.hold(waitMs);
      return; // the next slot() waits
    }
    await this.clock.sleep(waitMs);
  }

  private unavailable(path: string, what: string): AppApiError {
    return new AppApiError(
      'unavailable',
      `${what} on ${path} for workspace ${this.workspace} after ${this.options.maxAttempts} attempts ` +
        `(${this.baseUrl}): Customer.io or the network is unavailable; run again later`,
    );
  }

  private refused(path: string, status: number, body: string): AppApiError {
    const said = describeBody(body);
    if (status === 401) {
      return new AppApiError(
        'unauthorized',
        `Customer.io refused the App API key of workspace ${this.workspace} (401 on ${path}${said}): ` +
          `${this.keyVariable} must be an App API key (Settings → API Credentials → App API Keys), not the Track ` +
          `API key or the webhook signing key, and the workspace's region must match the host ` +
          `(${this.baseUrl}; ${ENV.region}=eu for EU workspaces)`,
        status,
      );
    }
    if (status === 403) {
      return new AppApiError(
        'forbidden',
        `Customer.io answered 403 on ${path} for workspace ${this.workspace}${said}: the App API key in ` +
          `${this.keyVariable} lacks access to it; give the key access to Messages (read)`,
        status,
      );
    }
    if (status === 404) {
      return new AppApiError(
        'not_found',
        `${this.baseUrl}${path} does not exist (404${said}): check ${ENV.appApiUrl} (it must end in /v1) or the region`,
        status,
      );
    }
    return new AppApiError('bad_request', `Customer.io refused ${path} (${status}${said})`, status);
  }
}

/** Retry-After: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function describeBody(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  if (text === '') return '';
  let message = text;
  try {
    const parsed = JSON.parse(text) as { meta?: { error?: unknown }; errors?: unknown; error?: unknown };
    const said = parsed.meta?.error ?? parsed.error ?? parsed.errors;
    if (said !== undefined) message = typeof said === 'string' ? said : JSON.stringify(said);
  } catch {
    // not JSON: show the start of it
  }
  return `: ${message.slice(0, BODY_PREVIEW)}`;
}
