// cioWebhook: placeholder until the receiver lands (issue 2).
import type { HttpFunction } from '@google-cloud/functions-framework';

export const cioWebhook: HttpFunction = (_req, res) => {
  res.status(503).send('not implemented');
};
