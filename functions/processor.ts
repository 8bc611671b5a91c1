// cioProcessor: the Pub/Sub push subscriber. Configuration is read and the clients are built once per instance, at
// load (a bad configuration stops the instance before it takes traffic); each request is one push delivery.
// 2xx acks the message, 503 nacks it (Pub/Sub redelivers with backoff). See shared/processor/process-push.ts.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { MAX_BODY_BYTES, loadProcessorConfig } from '../shared/config';
import { createLogger } from '../shared/log';
import { readBody, type BodyFailure, type BodyResult } from '../shared/request-body';
import { buildProcessor } from './build-processor';

const config = loadProcessorConfig();
const logger = createLogger(config.logLevel, { function: 'cioProcessor' });
const processor = buildProcessor(config, logger);

/** A push envelope carries one message of at most 10 MB, base64 (4/3 of it): Cloud Run's request limit covers it. */
const limits = { maxBytes: MAX_BODY_BYTES };
const REFUSED: Record<Exclude<BodyFailure, 'aborted'>, number> = {
  compressed: 415,
  too_large: 413,
  over_budget: 503,
};

export const cioProcessor: HttpFunction = async (req, res) => {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').send('POST a Pub/Sub push envelope');
    return;
  }
  const body = await new Promise<BodyResult>((resolve) => readBody(req, limits, resolve));
  if (!body.ok) {
    // Pub/Sub pushes neither compressed nor oversized bodies: whoever sent this is not the push subscription.
    logger.warn('push request body refused', { reason: body.failure, body_bytes: body.bytes });
    if (body.failure !== 'aborted') res.status(REFUSED[body.failure]).send(body.failure);
    return;
  }
  // The processor parses the exact bytes itself (shared/processor/push-envelope.ts).
  const result = await processor.handle(undefined, body.body);
  res.status(result.status).send(result.outcome);
};
