// A local stand-in for the part of Customer.io's App API that reconciliation and backfill read: GET /v1/messages
// (cursor pages, start_ts/end_ts on creation time, capped at 6 months like the real one, type filter, at most 1000
// per page), GET /v1/messages/{id} and GET /v1/reporting_webhooks, behind a Bearer key and Customer.io's 10
// requests/s limit (429 with Retry-After beyond it). Its record is fed by `cio-webhooks send` (POST
// /_local/events, not part of Customer.io's API). Tests inject faults: 429 storms, 5xx, malformed pages, cut
// connections.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DeliveryRecord, type ApiDelivery } from './record';
import { WEBHOOK_EVENTS } from '../../../shared/reconcile/facts';

export type AppApiFault =
  /** Answer `status` (with Retry-After when given) `times` times. */
  | { kind: 'status'; status: number; times: number; retryAfter?: string; path?: RegExp; after?: number }
  /** A 200 whose body is not the documented shape (`messages` not an array, or a delivery without id). */
  | { kind: 'malformed'; times: number; body?: unknown; path?: RegExp; after?: number }
  /** Close the connection in the middle of the body. */
  | { kind: 'cut'; times: number; path?: RegExp; after?: number };

export interface ReportingWebhookConfig {
  id: number;
  name: string;
  endpoint: string;
  disabled: boolean;
  full_resolution: boolean;
  with_content: boolean;
  events: string[];
}

export interface AppApiServerOptions {
  /** The Bearer key it accepts. */
  key: string;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  record?: DeliveryRecord;
  /** Requests per second before 429 (default 10; 0 = no limit). */
  requestsPerSecond?: number;
  /** Requests allowed at once before the rate applies (default: requestsPerSecond). */
  burst?: number;
  reportingWebhooks?: ReportingWebhookConfig[];
}

export interface AppApiServerStats {
  /** Every request to /v1, answered or refused. */
  requests: number;
  /** Answered 429 by the rate limit (not by an injected fault). */
  throttled: number;
  /** Start times (ms, performance.now()) of the requests the rate limit let through. */
  admitted: number[];
}

export interface AppApiServer {
  /** Base URL including /v1: the value of CIO_APP_API_URL. */
  url: string;
  port: number;
  record: DeliveryRecord;
  stats: AppApiServerStats;
  faults: { add(fault: AppApiFault): void; clear(): void };
  close(): Promise<void>;
}

const SIX_MONTHS = 183 * 86400;
export function defaultReportingWebhook(endpoint = 'http://127.0.0.1:8080/'): ReportingWebhookConfig {
  return {
    id: 1,
    name: 'cio-webhooks (local)',
    endpoint,
    disabled: false,
    full_resolution: false,
    with_content: false,
    // Subscribed to everything a reporting webhook can send.
    events: ['customer_subscribed', 'customer_unsubscribed', ...WEBHOOK_EVENTS],
  };
}

const encodeCursor = (d: ApiDelivery): string =>
  Buffer.from(JSON.stringify([d.created, d.id])).toString('base64url');

function decodeCursor(cursor: string): [number, string] | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string')
      return [value[0], value[1]];
  } catch {
    // fall through
  }
  return undefined;
}

/** Index of the first delivery after the cursor's in the newest-first list (binary search). */
function after(list: readonly ApiDelivery[], [created, id]: [number, string]): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const d = list[mid]!;
    const before = d.created > created || (d.created === created && d.id <= id);
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first delivery created before `end` (newest first). */
function firstBefore(list: readonly ApiDelivery[], end: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.created >= end) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function startAppApiServer(options: AppApiServerOptions): Promise<AppApiServer> {
  const record = options.record ?? new DeliveryRecord();
  const rps = options.requestsPerSecond ?? 10;
  const burst = options.burst ?? rps;
  const webhooks = options.reportingWebhooks ?? [defaultReportingWebhook()];
  const stats: AppApiServerStats = { requests: 0, throttled: 0, admitted: [] };
  const faults: Array<AppApiFault & { left: number; skipped: number }> = [];
  const sockets = new Set<Socket>();
  let tokens = burst;
  let refilledAt = performance.now();

  const admit = (): boolean => {
    if (rps === 0) return true;
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * rps);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    stats.admitted.push(now);
    return true;
  };

  const takeFault = (path: string): AppApiFault | undefined => {
    const index = faults.findIndex((f) => f.path === undefined || f.path.test(path));
    if (index < 0) return undefined;
    const fault = faults[index]!;
    if (fault.skipped < (fault.after ?? 0)) {
      fault.skipped += 1;
      return undefined;
    }
    fault.left -= 1;
    if (fault.left <= 0) faults.splice(index, 1);
    return fault;
  };

  const json = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: http.OutgoingHttpHeaders = {},
  ) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  function listMessages(q: URLSearchParams): unknown {
    const limitRaw = Number(q.get('limit') ?? 50);
    const limit = Math.max(1, Math.min(1000, Number.isFinite(limitRaw) ? Math.floor(limitRaw) : 50));
    const now = Math.floor(Date.now() / 1000);
    // As documented: no end_ts = now; a span over 6 months keeps only the 6 months before end_ts.
    const end = q.has('end_ts') ? Number(q.get('end_ts')) : now;
    let start = q.has('start_ts') ? Number(q.get('start_ts')) : end - SIX_MONTHS;
    if (end - start > SIX_MONTHS) start = end - SIX_MONTHS;
    const type = q.get('type');
    const list = record.list();
    const cursor = q.get('start');
    let i = firstBefore(list, end + 1); // end_ts inclusive
    if (cursor !== null && cursor !== '') {
      const position = decodeCursor(cursor);
      if (position === undefined) return undefined;
      i = Math.max(i, after(list, position));
    }
    const messages: ApiDelivery[] = [];
    for (; i < list.length && messages.length < limit; i += 1) {
      const d = list[i]!;
      if (d.created < start) break;
      if (type !== null && d.type !== type) continue;
      messages.push(d);
    }
    const more = i < list.length && list[i]!.created >= start;
    return { messages, next: more && messages.length > 0 ? encodeCursor(messages.at(-1)!) : '' };
  }

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/_local/events' && req.method === 'POST') {
      const text = await readBody(req);
      const bodies = text.split('\n').flatMap((line) => {
        try {
          return [JSON.parse(line) as unknown];
        } catch {
          return []; // not an event: Customer.io would not have recorded it either
        }
      });
      json(res, 200, { recorded: record.recordBodies(bodies), deliveries: record.size });
      return;
    }
    if (!url.pathname.startsWith('/v1/')) {
      json(res, 404, { meta: { error: 'Not found' } });
      return;
    }
    stats.requests += 1;
    if (req.headers.authorization !== `Bearer ${options.key}`) {
      json(res, 401, { meta: { error: 'Unauthorized request' } });
      return;
    }
    if (!admit()) {
      stats.throttled += 1;
      json(res, 429, { meta: { error: 'Too many requests' } }, { 'retry-after': '1' });
      return;
    }
    const path = url.pathname.slice('/v1'.length);
    const fault = takeFault(path);
    if (fault?.kind === 'status') {
      json(
        res,
        fault.status,
        { meta: { error: 'Injected fault' } },
        fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter },
      );
      return;
    }
    let body: unknown;
    let status = 200;
    const single = /^\/messages\/([^/]+)$/.exec(path);
    if (req.method !== 'GET') {
      status = 405;
      body = { meta: { error: 'Method not allowed' } };
    } else if (path === '/messages') {
      body = listMessages(url.searchParams);
      if (body === undefined) {
        status = 400;
        body = { meta: { error: 'invalid start cursor' } };
      }
    } else if (single) {
      const d = record.get(decodeURIComponent(single[1]!));
      status = d === undefined ? 404 : 200;
      body = d === undefined ? { meta: { error: 'Not found' } } : { message: d };
    } else if (path === '/reporting_webhooks') {
      body = { reporting_webhooks: webhooks };
    } else {
      status = 404;
      body = { meta: { error: 'Not found' } };
    }
    if (fault?.kind === 'malformed') {
      json(res, 200, fault.body ?? { messages: 'not a list', next: '' });
      return;
    }
    if (fault?.kind === 'cut') {
      const text = JSON.stringify(body);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(text)),
      });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      res.socket?.destroy();
      return;
    }
    json(res, status, body);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        json(res, 500, { meta: { error: err instanceof Error ? err.message : String(err) } });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    record,
    stats,
    faults: {
      add: (fault) => faults.push({ ...fault, left: fault.times, skipped: 0 }),
      clear: () => faults.splice(0),
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
