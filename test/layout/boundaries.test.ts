// The import boundaries eslint.config.mjs draws between the stages of shared/ fire where code crosses them.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

type Case = [file: string, code: string];

// ESLint loads its ESM config with a dynamic import, which jest's module sandbox cannot run: one child process lints
// every case (as if it were that file's contents) and prints the no-restricted-imports messages of each.
function restrictedImports(cases: Case[]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const cases = JSON.parse(process.argv[1]);
    (async () => {
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const [file, code] of cases) {
        const [result] = await eslint.lintText(code, { filePath: file });
        out.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const withUse = cases.map(([file, code]) => [
    file,
    `${code}\nexport const used = [${code.split(' ')[2]}];\n`,
  ]);
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script, JSON.stringify(withUse)], { cwd: ROOT, encoding: 'utf8' }),
  ) as string[][];
}

const crossing: Case[] = [
  ['functions/webhook.ts', "import { Ledger } from '../shared/processor/ledger';"],
  ['shared/webhook/handler.ts', "import { Firestore } from '@google-cloud/firestore';"],
  ['shared/webhook/handler.ts', "import { TrackClient } from 'customerio-node';"],
  ['shared/webhook/handler.ts', "import { toEventRow } from '../warehouse/row';"],
  ['shared/webhook/handler.ts', "import { parseEvent } from '../customerio/event';"],
  ['shared/customerio/event.ts', "import { ledgerDocId } from '../processor/ledger';"],
  ['shared/warehouse/row.ts', "import { decodePushEnvelope } from '../processor/push-envelope';"],
  ['shared/processor/ledger.ts', "import { createPublisher } from '../webhook/publisher';"],
  ['shared/config.ts', "import { toEventRow } from './warehouse/row';"],
  ['shared/log.ts', "import { startStack } from '../scripts/local/stack';"],
  ['shared/reconcile/run.ts', "import { processPush } from '../processor/process-push';"],
  ['shared/reconcile/run.ts', "import { Firestore } from '@google-cloud/firestore';"],
];
const allowed: Case[] = [
  ['shared/webhook/handler.ts', "import { createPublisher } from './publisher';"],
  ['shared/processor/process-push.ts', "import { toEventRow } from '../warehouse/row';"],
  ['shared/warehouse/row.ts', "import { parseEvent } from '../customerio/event';"],
  ['functions/build-processor.ts', "import { Firestore } from '@google-cloud/firestore';"],
  ['shared/reconcile/run.ts', "import { deliveryPages } from '../customerio/app-api/deliveries';"],
];

it('refuses every import that crosses a boundary, and only those', () => {
  const results = restrictedImports([...crossing, ...allowed]);
  const verdicts = [...crossing, ...allowed].map(
    ([file, code], i) => `${file}: ${code} → ${results[i].length}`,
  );
  expect(verdicts).toEqual([
    ...crossing.map(([file, code]) => `${file}: ${code} → 1`),
    ...allowed.map(([file, code]) => `${file}: ${code} → 0`),
  ]);
});
