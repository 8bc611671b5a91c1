// functions-framework parses `application/json` bodies before our handler runs and answers 400 itself when the
// JSON is invalid (or, in body-parser's strict mode, not an object or array). For Customer.io a 400 means a one-hour
// stall of the whole stream, and a signed body must reach the verifier whatever it contains. This wraps the JSON
// parser the framework builds its server with, so a parse failure continues to the handler with `req.body`
// undefined and `req.rawBody` holding the exact bytes. It must run before the framework creates its server, which
// it does after loading this package. test/json-passthrough.test.ts pins the behaviour against the installed
// framework, so an upgrade that breaks it fails CI instead of production.

import path from 'node:path';

type Next = (err?: unknown) => void;
type Middleware = (req: { body?: unknown; rawBody?: Buffer }, res: unknown, next: Next) => void;
type JsonFactory = ((options?: object) => Middleware) & { cioPassThrough?: true };

export function passThroughUnparseableJson(): void {
  const frameworkDir = path.dirname(require.resolve('@google-cloud/functions-framework'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bodyParser = require(require.resolve('body-parser', { paths: [frameworkDir] })) as { json: JsonFactory };
  const original = bodyParser.json;
  if (original.cioPassThrough) return;
  const wrapped: JsonFactory = (options) => {
    const parse = original(options);
    return (req, res, next) =>
      parse(req, res, (err) => {
        const type = (err as { type?: unknown } | undefined)?.type;
        if (type === 'entity.parse.failed' && Buffer.isBuffer(req.rawBody)) {
          req.body = undefined;
          next();
          return;
        }
        next(err);
      });
  };
  wrapped.cioPassThrough = true;
  bodyParser.json = wrapped;
}
