// The reconciliation as a person reads it in a terminal: what was compared and how, drift per day, the groups
// that differ with delivery ids to look up, what could not be judged and why.

import type { RunResult } from '../../../shared/reconcile/run';
import { isoMinute } from './window';
import type { WebhookSettings } from '../../../shared/reconcile/webhook-settings';

const int = (n: number): string => n.toLocaleString('en-US');
export const percent = (share: number | undefined): string =>
  share === undefined ? '–' : `${(share * 100).toFixed(share !== 0 && share < 0.0001 ? 4 : 2)}%`;

/** Columns padded to their widest cell; numeric columns right-aligned. */
export function table(header: string[], rows: string[][], numeric: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export interface PrintOptions {
  result: RunResult;
  threshold?: number;
  settings: WebhookSettings;
  /** `reconcile`, `reconcile --repair`, `backfill`, `backfill --dry-run`. */
  mode: 'compare' | 'repair' | 'dry-run';
  /** Groups without drift are listed too. */
  all?: boolean;
}

export function renderResult({ result, threshold, settings, mode, all = false }: PrintOptions): string {
  const out: string[] = [];
  const t = result.tally.totals;
  const groups = result.tally.sortedGroups();

  const days = new Map<
    string,
    { customerio: number; matched: number; missing: number; onlyHere: number; repaired: number }
  >();
  for (const g of groups) {
    const d = days.get(g.day) ?? { customerio: 0, matched: 0, missing: 0, onlyHere: 0, repaired: 0 };
    d.customerio += g.customerio;
    d.matched += g.matched;
    d.missing += g.missingHere;
    d.onlyHere += g.onlyHere;
    d.repaired += g.repaired;
    days.set(g.day, d);
  }
  const repairedHeader = mode === 'dry-run' ? 'would write' : 'repaired';
  const showRepair = mode !== 'compare';
  out.push('', 'By the day Customer.io created the deliveries:');
  out.push(
    ...table(
      ['day', 'Customer.io', 'matched', 'missing here', 'only here', ...(showRepair ? [repairedHeader] : [])],
      [...days.entries()].map(([day, d]) => [
        day,
        int(d.customerio),
        int(d.matched),
        int(d.missing),
        int(d.onlyHere),
        ...(showRepair ? [int(d.repaired)] : []),
      ]),
      [false, true, true, true, true, true],
    ).map((l) => `  ${l}`),
  );

  const shown = all ? groups : groups.filter((g) => g.missingHere > 0 || g.onlyHere > 0);
  if (shown.length > 0) {
    out.push(
      '',
      all ? 'By channel, metric and parent:' : 'Where they differ, by channel, metric and parent:',
    );
    out.push(
      ...table(
        [
          'day',
          'channel',
          'metric',
          'parent',
          'Customer.io',
          'missing here',
          'only here',
          ...(showRepair ? [repairedHeader] : []),
          'sample deliveries',
        ],
        shown.map((g) => [
          g.day,
          g.channel,
          g.metric,
          g.parentType,
          int(g.customerio),
          int(g.missingHere),
          int(g.onlyHere),
          ...(showRepair ? [int(g.repaired)] : []),
          [...g.sampleMissing, ...g.sampleOnlyHere.map((id) => `${id} (only here)`)].slice(0, 3).join(', '),
        ]),
        [false, false, false, false, true, true, true, ...(showRepair ? [true] : []), false],
      ).map((l) => `  ${l}`),
    );
    if (!all && groups.length > shown.length)
      out.push(`  (${groups.length - shown.length} groups without drift not shown; --all lists them)`);
  }

  if (result.tally.notJudged.size > 0) {
    out.push('', 'Not judged:');
    const reasons = [...result.tally.notJudged.entries()].sort((a, b) => b[1] - a[1]);
    for (const [reason, n] of reasons) out.push(`  ${int(n).padStart(8)}  ${reason}`);
  }
  const notes = [
    `Compared: whether each first occurrence Customer.io records (a delivery's metrics) is in the warehouse, not when; ` +
      `deliveries by their creation time, their events whenever they happened.`,
    ...(settings.fullResolution === true
      ? [
          'Your reporting webhook sends every open and click (full_resolution): repeats are in the warehouse, Customer.io keeps the first; compared is whether the first is here.',
        ]
      : []),
    ...settings.notes,
  ];
  out.push('', ...notes.map((n) => `Note: ${n}`));

  out.push('');
  const drift = result.tally.drift;
  const over = threshold !== undefined && drift !== undefined && drift > threshold;
  out.push(
    `Drift ${percent(drift)}: ${int(t.missingHere)} missing here + ${int(t.onlyHere)} only here, of ${int(t.judged)} ` +
      `first occurrences judged in ${int(t.deliveries)} deliveries (created ${isoMinute(result.window.start)} .. ` +
      `${isoMinute(result.window.end)}; judged up to ${isoMinute(result.settledBefore)})` +
      (threshold === undefined ? '' : ` · threshold ${percent(threshold)} · ${over ? 'OVER' : 'ok'}`),
  );
  if (mode === 'repair') out.push(`Repaired: wrote ${int(t.repaired)} rows (source = 'app_api').`);
  if (mode === 'dry-run')
    out.push(`Dry run: would write ${int(t.repaired)} rows (source = 'app_api'); nothing was written.`);
  if (result.invalidRows.length > 0) {
    out.push(
      `${result.invalidRows.length} rows were refused by the warehouse as invalid, e.g. ${result.invalidRows[0]}`,
    );
  }
  return out.join('\n') + '\n';
}
