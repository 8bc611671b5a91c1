// cioProcessor: the Pub/Sub push subscriber. Configuration is read and the clients are built once per instance, at
// load (a bad configuration stops the instance before it takes traffic); each request is one push delivery.
// 2xx acks the message, 503 nacks it (Pub/Sub redelivers with backoff). See shared/processor/process-push.ts.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { loadProcessorConfig } from '../shared/config';
import { createLogger } from '../shared/log';
import { buildProcessor } from './build-processor';

const config = loadProcessorConfig();
const processor = buildProcessor(config, createLogger(config.logLevel, { function: 'cioProcessor' }));

export const cioProcessor: HttpFunction = async (req, res) => {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').send('POST a Pub/Sub push envelope');
    return;
  }
  const result = await processor.handle(req.body, req.rawBody);
  res.status(result.status).send(result.outcome);
};
