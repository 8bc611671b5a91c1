// The one place this package changes how functions-framework works: its body parsers read no request body, so
// each function reads the exact bytes itself (shared/request-body.ts).
//
// Why: the framework puts body-parser's json, text, urlencoded and raw parsers in front of every function, with no
// option to leave them out, and they decide by the request's headers before any code of ours runs. For a webhook
// that must verify a signature over the bytes as sent, whatever the headers say, that goes wrong: invalid JSON → 400;
// a JSON charset other than UTF-* → 415 with an HTML page; no Content-Type → no bytes kept at all (the signature
// then fails on an empty body); form bodies over qs's limits → 413 or 400; any Content-Encoding → inflated, up to
// 1 GB, before a signature can be checked. Customer.io waits an hour after most 4xx replies, with every later event
// held back. Taking body reading away from the framework removes all of these at once, where patching each failure
// would mean a patch per parser and per error.
//
// How: the framework builds its server after it has loaded this package, calling the factories of the body-parser
// module it depends on; each factory is replaced by one whose middleware only passes the request on, unread. Every
// function this package registers is an HTTP function reading its own body (an event or CloudEvent function would
// need the parsed `req.body`). test/webhook/raw-bodies.int.test.ts pins both what the installed framework does
// without this and that no parser reads a body with it, so a framework update that changes either fails the tests.

import path from 'node:path';

type Middleware = (req: unknown, res: unknown, next: () => void) => void;
type ParserFactory = (options?: object) => Middleware;
type BodyParser = Record<(typeof PARSERS)[number], ParserFactory>;

/** Every parser factory body-parser exports; the framework uses all four. */
const PARSERS = ['json', 'text', 'urlencoded', 'raw'] as const;

/** The body-parser instance functions-framework builds its server with. */
function frameworkBodyParser(): BodyParser {
  const frameworkDir = path.dirname(require.resolve('@google-cloud/functions-framework'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve('body-parser', { paths: [frameworkDir] })) as BodyParser;
}

const passOn: Middleware = (_req, _res, next) => next();
const unread: ParserFactory = () => passOn;

/** Call before functions-framework creates its server (loading this package's main module is early enough). */
export function leaveRequestBodiesUnread(): void {
  const bodyParser = frameworkBodyParser();
  for (const name of PARSERS) {
    if (typeof bodyParser[name] !== 'function') {
      throw new Error(`body-parser no longer exports ${name}(): functions/raw-bodies.ts needs a look`);
    }
    bodyParser[name] = unread;
  }
}
