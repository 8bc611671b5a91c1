// Jest cannot run `import()` from CommonJS without --experimental-vm-modules, and teeny-request (the HTTP transport
// of @google-cloud/bigquery) loads node-fetch v3 (ESM) that way, so every BigQuery call fails under Jest. Under Jest
// only, teeny-request uses its own built-in node:http fetch (the one it ships for Bun) instead: the real client,
// real HTTP to a local server, no Node flag needed.
import crypto from 'node:crypto';
import fs from 'node:fs';

const FROM = "import('node-fetch').then(({ default: fetch }) => fetch(...args))";
const TO = 'bunFetch(args[0], args[1])';
const SELF = fs.readFileSync(new URL(import.meta.url));

export default {
  process(source) {
    if (!source.includes(FROM))
      throw new Error('teeny-request changed: update test/support/teeny-request-transform.mjs');
    return { code: source.replace(FROM, TO) };
  },
  getCacheKey(source) {
    return crypto.createHash('sha256').update(source).update(SELF).digest('hex');
  },
};
