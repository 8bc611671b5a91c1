// The webhook's request → response logic (status codes: DESIGN.md "Webhook status codes"). Customer.io retries
// anything but a 2xx and holds back later events meanwhile, so: 2xx only once Pub/Sub holds the exact bytes, a signed
// body is accepted whatever it contains, 401 only for requests Customer.io did not sign, 503 when we could not store.

import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { WebhookConfig } from '../config';
import type { Fields, Logger } from '../log';
import type { Publisher } from './publisher';
import { verifySignature, type SignatureFailure } from './signature';
import { messageAttributes, readEnvelope } from './envelope';

export interface WebhookHandlerDeps {
  config: Pick<WebhookConfig, 'signingKeys' | 'maxAgeSeconds' | 'maxFutureSeconds' | 'maxBodyBytes'>;
  publisher: Pick<Publisher, 'publish'>;
  logger: Logger;
  /** Milliseconds since the epoch; injectable so tests can sit exactly on the timestamp window's edges. */
  now?: () => number;
}

/** Short and fixed: the reason an operator needs, nothing about keys or the expected signature. */
const UNAUTHORIZED: Record<SignatureFailure, string> = {
  unsigned: 'missing signature',
  malformed: 'malformed signature',
  mismatch: 'invalid signature',
  stale: 'timestamp too old',
  future: 'timestamp in the future',
};

const EMPTY = Buffer.alloc(0);

// Node's own response API rather than Express's res.send(), which hashes every body for an ETag (no use on a POST
// reply) and re-parses the content type: a measurable share of this function's CPU time per request.
function reply(res: Response, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function createWebhookHandler(deps: WebhookHandlerDeps): HttpFunction {
  const { config, publisher, logger } = deps;
  const now = deps.now ?? Date.now;
  const policy = {
    keys: config.signingKeys,
    maxAgeSeconds: config.maxAgeSeconds,
    maxFutureSeconds: config.maxFutureSeconds,
  };

  // Not async: the publish result comes back through a callback (see shared/webhook/publisher.ts on domains and promises).
  return (req: Request, res: Response): void => {
    const started = performance.now();
    const receivedAt = now();
    const done = (level: 'info' | 'warn' | 'error', status: number, outcome: string, fields: Fields = {}) => {
      const latency_ms = Math.round((performance.now() - started) * 10) / 10;
      logger[level]('webhook request', { outcome, status, latency_ms, ...fields });
    };

    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      reply(res, 405, 'method not allowed');
      done('info', 405, 'method_not_allowed', { method: req.method });
      return;
    }
    // The framework keeps the exact bytes it read; without a body (or a content type it reads) there are none.
    const raw = Buffer.isBuffer(req.rawBody) ? req.rawBody : EMPTY;
    if (raw.length > config.maxBodyBytes) {
      reply(res, 413, 'body too large');
      done('warn', 413, 'body_too_large', { body_bytes: raw.length, max_body_bytes: config.maxBodyBytes });
      return;
    }

    const verdict = verifySignature(
      { signature: req.headers['x-cio-signature'], timestamp: req.headers['x-cio-timestamp'], body: raw },
      policy,
      receivedAt,
    );
    if (!verdict.ok) {
      reply(res, 401, UNAUTHORIZED[verdict.reason]);
      done('warn', 401, 'rejected_signature', { reason: verdict.reason, detail: verdict.detail });
      return;
    }

    const envelope = readEnvelope(raw, req.is('application/json') ? (req.body as unknown) : undefined);
    const eventFields = {
      event_id: envelope.eventId,
      object_type: envelope.objectType,
      metric: envelope.metric,
      key_index: verdict.keyIndex,
      body_bytes: raw.length,
      ...(envelope.parseError !== undefined && { parse_error: envelope.parseError }),
    };
    const message = {
      data: raw,
      attributes: messageAttributes(envelope, verdict.timestamp, new Date(receivedAt)),
    };
    publisher.publish(message, (err) => {
      if (err) {
        reply(res, 503, 'temporarily unavailable');
        done('error', 503, err.timedOut ? 'publish_timeout' : 'publish_failed', {
          ...eventFields,
          error: err,
          ...(err.code !== undefined && { grpc_code: err.code }),
        });
        return;
      }
      reply(res, 200, 'ok');
      // A signed body that is not an event is parked downstream; WARNING so it is noticed.
      if (envelope.parseError !== undefined) done('warn', 200, 'published_unparseable', eventFields);
      else done('info', 200, 'published', eventFields);
    });
  };
}
