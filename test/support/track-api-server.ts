// A local stand-in for the Customer.io Track API (/api/v1), for the real customerio-node TrackClient to call
// (CIO_TRACK_API_URL / the client's `url` option). It records every request as received (method, path, body,
// Authorization, X-Retry-Count) and can inject faults: an HTTP status (500, 429, 400, ...) or a hang longer
// than the client's timeout. It implements the two endpoints the processor uses (identify, suppress).

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface TrackCall {
  method: string;
  /** As sent, URL-encoded, e.g. `/api/v1/customers/cio_a1b2/suppress`. */
  path: string;
  /** The person id from the path, decoded. */
  person: string | undefined;
  body: unknown;
  auth: string | undefined;
  /** customerio-node's retry counter header (absent on a first attempt). */
  retryCount: string | undefined;
  /** The status the fake answered (undefined for a hang the client gave up on). */
  status: number | undefined;
}

export type TrackFault =
  | { kind: 'status'; status: number; times: number; retryAfter?: string; path?: RegExp }
  | { kind: 'hang'; ms: number; times: number; path?: RegExp };

export interface TrackApiServer {
  /** Base URL including /api/v1. */
  url: string;
  calls: TrackCall[];
  /** Calls that reached an endpoint and were answered 2xx: the effects Customer.io would have applied. */
  effects(): TrackCall[];
  faults: { add(fault: TrackFault): void; clear(): void };
  close(): Promise<void>;
}

const ROUTES: Array<{ method: string; pattern: RegExp }> = [
  { method: 'PUT', pattern: /^\/api\/v1\/customers\/([^/]+)$/ },
  { method: 'POST', pattern: /^\/api\/v1\/customers\/([^/]+)\/suppress$/ },
];

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startTrackApiServer(): Promise<TrackApiServer> {
  const calls: TrackCall[] = [];
  const pending: Array<TrackFault & { left: number }> = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const route = ROUTES.find((r) => r.method === req.method && r.pattern.test(path));
      const match = route?.pattern.exec(path);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // keep the text
      }
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const call: TrackCall = {
        method: req.method ?? '',
        path,
        person: match ? decodeURIComponent(match[1]) : undefined,
        body,
        auth: header('authorization'),
        retryCount: header('x-retry-count'),
        status: undefined,
      };
      calls.push(call);
      const answer = (status: number, payload: unknown, headers?: http.OutgoingHttpHeaders) => {
        call.status = status;
        send(res, status, payload, headers);
      };

      const fault = pending.find((f) => f.left > 0 && (f.path === undefined || f.path.test(path)));
      if (fault) {
        fault.left -= 1;
        if (fault.kind === 'hang') {
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (!res.destroyed) answer(200, {});
          }, fault.ms);
          timers.add(timer);
          return;
        }
        answer(
          fault.status,
          { meta: { error: `injected ${fault.status}` } },
          fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
        );
        return;
      }
      if (!call.auth?.startsWith('Basic ')) return answer(401, { meta: { error: 'unauthorized' } });
      if (!route) return answer(404, { meta: { error: 'not found' } });
      answer(200, {});
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    calls,
    effects: () => calls.filter((c) => c.status !== undefined && c.status >= 200 && c.status < 300),
    faults: {
      add: (fault) => pending.push({ ...fault, left: fault.times }),
      clear: () => {
        pending.length = 0;
      },
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
