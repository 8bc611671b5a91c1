// The webhook's outcomes: one row each in shared/webhook/outcome.ts, and the README's table says the same.
import fs from 'node:fs';
import path from 'node:path';
import { BODY_FAILURES, OUTCOMES, UNAUTHORIZED } from '../../shared/webhook/outcome';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

/** Rows of the README's webhook outcome table: `outcome` | status | severity | when. */
function readmeOutcomes(): Array<{ outcome: string; status: string; severity: string }> {
  const start = README.indexOf('| outcome | status | severity | when |');
  expect(start).toBeGreaterThan(-1);
  const rows = README.slice(start).split('\n').slice(2);
  const table = rows.slice(
    0,
    rows.findIndex((line) => !line.startsWith('|')),
  );
  return table.map((line) => {
    const [outcome, status, severity] = line
      .split('|')
      .slice(1, 4)
      .map((cell) => cell.trim());
    return { outcome: outcome.replace(/`/g, ''), status, severity };
  });
}

const SEVERITY = { info: 'INFO', warn: 'WARNING', error: 'ERROR' } as const;

it('the README lists every outcome, with its status and severity, and no other', () => {
  const expected = Object.entries(OUTCOMES).map(([outcome, spec]) => ({
    outcome,
    status: spec.status === undefined ? 'none' : String(spec.status),
    severity: SEVERITY[spec.level],
  }));
  expect(readmeOutcomes()).toEqual(expected);
});

it('every reply is short plain text that names no value from the request', () => {
  const replies = [...Object.values(OUTCOMES).flatMap((o) => (o.reply === undefined ? [] : [o.reply]))];
  replies.push(...Object.values(UNAUTHORIZED));
  for (const reply of replies) {
    expect(reply.length).toBeLessThanOrEqual(200);
    expect(reply).toMatch(/^[a-z][a-z ,:;.-]*$/);
  }
  // Only a 401 takes its text from elsewhere (the reason), and only an aborted request has no reply at all.
  const without = Object.entries(OUTCOMES).filter(([, o]) => o.reply === undefined);
  expect(without.map(([name]) => name).sort()).toEqual(['client_aborted', 'rejected_signature']);
});

it('a body that cannot be read ends as an outcome of its own', () => {
  expect(new Set(Object.values(BODY_FAILURES)).size).toBe(Object.keys(BODY_FAILURES).length);
});
