// The webhook's request → reply logic (README "The webhook (`cioWebhook`)" has the table). Customer.io retries
// anything but a 2xx and holds back later events meanwhile, so: 2xx only once Pub/Sub holds the event; a signed body
// is accepted whatever it contains and whatever its headers call it; 401 only for requests Customer.io did not sign;
// 503 when we could not store it.

import type { Domain } from 'node:domain';
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { WebhookConfig } from '../config';
import type { Fields, Logger } from '../log';
import { BodyBudget, readBody, type BodyResult } from '../request-body';
import { DEFAULT_WORKSPACE } from '../workspace';
import { MAX_MESSAGE_BYTES, type Publisher } from './publisher';
import { verifySignature, type SignaturePolicy } from './signature';
import { messageAttributes, parseJson, readEnvelope } from './envelope';
import { fitOneMessage } from './oversize';
import { BODY_FAILURES, OUTCOMES, UNAUTHORIZED, type Outcome } from './outcome';

/** A body up to this size never waits on the budget below: real events are a few KB. */
export const SMALL_BODY_BYTES = 1024 * 1024;
/**
 * Bytes of larger bodies one instance holds at once. Reading, parsing and (over one Pub/Sub message) shrinking a
 * body takes about four times its size, so this keeps the worst case within the default 512 MiB instance; with
 * CIO_MAX_BODY_BYTES at 32 MiB, two such bodies fit at once, and a third waits for a retry (503).
 */
export const LARGE_BODIES_BUDGET_BYTES = 64 * 1024 * 1024;

export interface WebhookHandlerDeps {
  config: Pick<
    WebhookConfig,
    'signingKeys' | 'workspaceSigningKeys' | 'maxAgeSeconds' | 'maxFutureSeconds' | 'maxBodyBytes'
  >;
  publisher: Pick<Publisher, 'publish'>;
  logger: Logger;
  /** Milliseconds since the epoch; injectable so tests can sit exactly on the timestamp window's edges. */
  now?: () => number;
  /** Shared by every request this handler serves (default: SMALL_BODY_BYTES, LARGE_BODIES_BUDGET_BYTES). */
  budget?: BodyBudget;
}

interface Route {
  workspace: string;
  policy: SignaturePolicy;
}

/** The paths the webhook serves: `/` for the default workspace, `/<label>` (and `/<label>/`) for the others. */
function workspaceRoutes(config: WebhookHandlerDeps['config']): ReadonlyMap<string, Route> {
  const route = (workspace: string, keys: readonly string[]): Route => ({
    workspace,
    policy: { keys, maxAgeSeconds: config.maxAgeSeconds, maxFutureSeconds: config.maxFutureSeconds },
  });
  const routes = new Map<string, Route>([['/', route(DEFAULT_WORKSPACE, config.signingKeys)]]);
  for (const [label, keys] of Object.entries(config.workspaceSigningKeys)) {
    routes.set(`/${label}`, route(label, keys));
    routes.set(`/${label}/`, route(label, keys));
  }
  return routes;
}

// Node's own response API rather than Express's res.send(), which hashes every body for an ETag (no use on a POST
// reply) and re-parses the content type: a measurable share of this function's CPU time per request.
// A body left unread (refused before or while reading it) is read to its end and discarded by Node once the reply
// is sent, so the client gets the reply whole and no memory holds what it still sends.
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
  const budget = deps.budget ?? new BodyBudget(LARGE_BODIES_BUDGET_BYTES, SMALL_BODY_BYTES);
  const limits = { maxBytes: config.maxBodyBytes, budget };
  const routes = workspaceRoutes(config);

  // Not async: the body and the publish result come back through callbacks (see shared/webhook/publisher.ts on
  // domains and promises).
  return (req: Request, res: Response): void => {
    const started = performance.now();
    const receivedAt = now();
    /** Replies as the outcome says (unless the client is gone) and writes the request's one log line. */
    const finish = (outcome: Outcome, fields: Fields, text?: string) => {
      const { status, reply: fixed, level } = OUTCOMES[outcome];
      if (status !== undefined) reply(res, status, text ?? fixed ?? '');
      const latency_ms = Math.round((performance.now() - started) * 10) / 10;
      logger[level]('webhook request', { outcome, status, latency_ms, ...fields });
    };

    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      finish('method_not_allowed', { method: req.method });
      return;
    }
    // The URL names the workspace, and only its keys verify the request: a key of one workspace never lets an event
    // in as another's. Refused before the body is read.
    const route = routes.get(req.path);
    if (route === undefined) {
      finish('unknown_workspace', { path: req.path.slice(0, 80) });
      return;
    }
    const { workspace, policy } = route;

    const onBody = (result: BodyResult) => {
      if (!result.ok) {
        finish(BODY_FAILURES[result.failure], {
          body_bytes: result.bytes,
          ...(result.failure === 'too_large' && { max_body_bytes: config.maxBodyBytes }),
          ...(result.failure === 'compressed' && { content_encoding: req.headers['content-encoding'] }),
        });
        return;
      }
      // Only `release` is kept for the publish callback: a body too large to publish whole is not held meanwhile.
      const { body: raw, release } = result;
      const verdict = verifySignature(
        { signature: req.headers['x-cio-signature'], timestamp: req.headers['x-cio-timestamp'], body: raw },
        policy,
        receivedAt,
      );
      if (!verdict.ok) {
        release();
        const { reason, detail } = verdict;
        const fields = { workspace, reason, detail, body_bytes: raw.length };
        // Too large for one Pub/Sub message and not signed: too large (only a signed one is worth shrinking).
        if (raw.length > MAX_MESSAGE_BYTES)
          finish('body_too_large', { ...fields, max_message_bytes: MAX_MESSAGE_BYTES });
        else finish('rejected_signature', fields, UNAUTHORIZED[reason]);
        return;
      }

      const json = parseJson(raw);
      const envelope = readEnvelope(raw, json);
      const message = fitOneMessage(
        {
          data: raw,
          attributes: messageAttributes(envelope, verdict.timestamp, new Date(receivedAt), workspace),
        },
        json,
        envelope,
      );
      const { truncated } = message.attributes;
      const eventFields = {
        workspace,
        event_id: envelope.eventId,
        object_type: envelope.objectType,
        metric: envelope.metric,
        key_index: verdict.keyIndex,
        body_bytes: raw.length,
        ...(envelope.parseError !== undefined && { parse_error: envelope.parseError }),
        ...(truncated !== undefined && { truncated, published_bytes: message.data.length }),
      };
      publisher.publish(message, (err) => {
        release();
        if (err) {
          finish(err.timedOut ? 'publish_timeout' : 'publish_failed', {
            ...eventFields,
            error: err,
            ...(err.code !== undefined && { grpc_code: err.code }),
          });
          return;
        }
        if (envelope.parseError !== undefined) finish('published_unparseable', eventFields);
        else if (truncated !== undefined) finish('published_truncated', eventFields);
        else finish('published', eventFields);
      });
    };
    // The body arrives from the request's stream events, outside the request's domain: bound to it, an exception
    // still reaches functions-framework's handler for it (a 500 for this request) instead of ending the instance.
    const domain = (process as { domain?: Domain }).domain;
    readBody(req, limits, domain ? domain.bind(onBody) : onBody);
  };
}
