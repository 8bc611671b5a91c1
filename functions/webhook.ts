// cioWebhook: Customer.io posts reporting webhooks here. Built once per instance from the environment; a missing
// signing key throws ConfigError at load, so the instance refuses to start rather than serve unverified traffic.
// Loads only the Pub/Sub client (README "How it works": small receiver).
import type { HttpFunction } from '@google-cloud/functions-framework';
import { loadWebhookConfig } from '../shared/config';
import { createLogger } from '../shared/log';
import { createPublisher } from '../shared/webhook/publisher';
import { createWebhookHandler } from '../shared/webhook/handler';

const config = loadWebhookConfig();

export const cioWebhook: HttpFunction = createWebhookHandler({
  config,
  publisher: createPublisher({ projectId: config.projectId, topic: config.eventsTopic }),
  logger: createLogger(config.logLevel, { function: 'cioWebhook' }),
});
