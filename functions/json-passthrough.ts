// functions-framework parses `application/json` bodies before our handler runs and answers 400 itself when the
// JSON is invalid (or, in body-parser's strict mode, not an object or array). For Customer.io a 400 means a one-hour
// stall of the whole stream, and a signed body must reach the verifier whatever it contains. This wraps the JSON
// parser the framework builds its server with, so a parse failure continues to the handler with `req.body`
// undefined and `req.rawBody` holding the exact bytes. It must run before the framework creates its server, which
// it does after loading this package. test/webhook/json-passthrough.int.test.ts pins the behaviour against the installed
// framework, so an upgrade that breaks it fails CI instead of production.
//
// refuseCompressedBodies() patches the same parsers: see there.

import path from 'node:path';

type Next = (err?: unknown) => void;
type Middleware = (req: { body?: unknown; rawBody?: Buffer }, res: unknown, next: Next) => void;
type ParserFactory = ((options?: object) => Middleware) & { cioPassThrough?: true; cioIdentityOnly?: true };
type BodyParser = Record<'json' | 'text' | 'urlencoded' | 'raw', ParserFactory>;

/** The body-parser instance functions-framework builds its server with. */
function frameworkBodyParser(): BodyParser {
  const frameworkDir = path.dirname(require.resolve('@google-cloud/functions-framework'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve('body-parser', { paths: [frameworkDir] })) as BodyParser;
}

export function passThroughUnparseableJson(): void {
  const bodyParser = frameworkBodyParser();
  const original = bodyParser.json;
  if (original.cioPassThrough) return;
  const wrapped: ParserFactory = (options) => {
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

/**
 * The framework inflates gzip/deflate/br/zstd bodies, up to 1 GB, before any handler can check a signature or a
 * size: 200 KB of gzip from anyone becomes 200 MB of memory on an instance serving 80 requests at once
 * (test/webhook/hostile-input.int.test.ts). Nothing that calls these functions compresses its requests (Customer.io and Pub/Sub
 * push send identity bodies), so every body parser refuses a Content-Encoding with 415 instead, unread.
 */
export function refuseCompressedBodies(): void {
  const bodyParser = frameworkBodyParser();
  for (const name of ['json', 'text', 'urlencoded', 'raw'] as const) {
    const original = bodyParser[name];
    if (original.cioIdentityOnly) continue;
    const wrapped: ParserFactory = (options) => original({ ...options, inflate: false });
    wrapped.cioIdentityOnly = true;
    bodyParser[name] = wrapped;
  }
}
