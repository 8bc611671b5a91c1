// cioProcessor: placeholder until the processor lands (issue 3).
import type { HttpFunction } from '@google-cloud/functions-framework';

export const cioProcessor: HttpFunction = (_req, res) => {
  res.status(503).send('not implemented');
};
