// Registers the entry points with functions-framework. Each deployed function serves one target, so a target's
// module (and the Google clients it pulls in) is loaded only by instances that serve it: the webhook's instances
// never load Firestore, BigQuery or the Customer.io client. The serving target is loaded at startup, so a bad
// configuration stops the instance before it takes traffic, and the first request pays no import cost.

import * as functions from '@google-cloud/functions-framework';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { leaveRequestBodiesUnread } from './raw-bodies';

type Loader = () => HttpFunction;

// Targets are loaded with require() on purpose: a static import would load every target's clients everywhere.
const targets: Record<string, Loader> = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cioWebhook: () => (require('./webhook') as typeof import('./webhook')).cioWebhook,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cioProcessor: () => (require('./processor') as typeof import('./processor')).cioProcessor,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cioReconcile: () => (require('./reconcile') as typeof import('./reconcile')).cioReconcile,
};

// Before functions-framework builds its server: each function reads its own request bytes.
leaveRequestBodiesUnread();

function lazy(load: Loader): HttpFunction {
  let handler: HttpFunction | undefined;
  return (req, res) => {
    handler ??= load();
    return handler(req, res);
  };
}

for (const [name, load] of Object.entries(targets)) {
  functions.http(name, lazy(load));
}

// Cloud Functions and our local stack set FUNCTION_TARGET; load (and validate) that target now.
const serving = process.env.FUNCTION_TARGET;
if (serving !== undefined && serving in targets) targets[serving]();
