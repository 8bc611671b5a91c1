// The report's "Completeness" section: the last reconciliation with Customer.io's own record (its drift, the days it
// compared), the drift of each run over the period against its threshold, and how late events reached the webhook.
import type { Completeness, LastReconcile } from './completeness';
import { esc, funnelBars, lineChart } from './svg';

const int = (n: number): string => n.toLocaleString('en-US');
const pct = (r: number | null, digits = 2): string => (r === null ? '–' : `${(r * 100).toFixed(digits)}%`);
const span = (key: string, text: string): string => `<span data-k="${esc(key)}">${esc(text)}</span>`;
const minute = (iso: string): string => iso.slice(0, 16).replace('T', ' ');

const COLORS = {
  drift: '#7c3aed',
  threshold: '#dc2626',
  lag: '#1d4ed8',
  lagLate: '#d97706',
  lagVeryLate: '#dc2626',
};

function kpi(label: string, key: string, value: string, note: string): string {
  return (
    `<div class="kpi"><div class="label">${esc(label)}</div>` +
    `<div class="value">${span(`completeness.${key}`, value)}</div><div class="note">${note}</div></div>`
  );
}

function statusPill(last: LastReconcile): string {
  const [cls, text] =
    last.status === 'drift'
      ? ['limit', `over ${pct(last.threshold)}`]
      : ['ok', `within ${pct(last.threshold)}`];
  return `<span class="pill ${cls}" data-k="completeness.status">${esc(text)}</span>`;
}

function lastRun(c: Completeness): string {
  if (!c.reconcileTables) {
    return `<p class="empty">No reconciliation tables in this dataset: set up reconciliation (README, "Completeness") and run <code>npx cio-webhooks reconcile</code>.</p>`;
  }
  const last = c.last;
  const failed =
    c.failure === undefined
      ? ''
      : `<p class="foot" data-k="completeness.failure">The latest run (${esc(minute(c.failure.startedAt))} UTC) failed: ` +
        `${esc(c.failure.error ?? 'no detail')}.${last === undefined ? '' : ' The numbers are those of the last run that finished.'}</p>`;
  if (last === undefined) {
    return (
      failed +
      `<p class="empty">No reconciliation has finished yet: <code>npx cio-webhooks reconcile --since 7d</code> compares the warehouse with Customer.io's record.</p>`
    );
  }
  return (
    `<div class="kpis">${[
      kpi(
        'Drift, last reconcile',
        'drift',
        pct(last.drift, 3),
        `${statusPill(last)} · ${esc(minute(last.startedAt))} UTC · workspace ${esc(last.workspace)}`,
      ),
      kpi(
        'Missing here',
        'missing_here',
        int(last.missingHere),
        `of ${span('completeness.judged', int(last.judged))} first occurrences Customer.io records`,
      ),
      kpi('Only here', 'only_here', int(last.onlyHere), 'in the warehouse, not in Customer.io’s record'),
      kpi(
        'Repaired',
        'repaired',
        int(last.repaired),
        `rows written from the App API · ${int(last.deliveries)} deliveries compared`,
      ),
    ].join('')}</div>` + failed
  );
}

function daysTable(c: Completeness): string {
  if (c.days.length === 0) return '';
  const rows = c.days.map(
    (d, i) =>
      `<tr><td>${span(`completeness.day.${i}.day`, d.day)}</td>` +
      `<td class="num">${span(`completeness.day.${i}.customerio`, int(d.customerio))}</td>` +
      `<td class="num">${span(`completeness.day.${i}.matched`, int(d.matched))}</td>` +
      `<td class="num">${span(`completeness.day.${i}.missing_here`, int(d.missingHere))}</td>` +
      `<td class="num">${span(`completeness.day.${i}.only_here`, int(d.onlyHere))}</td>` +
      `<td class="num">${pct(d.customerio === 0 ? null : (d.missingHere + d.onlyHere) / d.customerio, 3)}</td></tr>`,
  );
  return (
    `<table><thead><tr><th>Created (UTC day)</th><th class="num">Customer.io</th><th class="num">Matched</th>` +
    `<th class="num">Missing here</th><th class="num">Only here</th><th class="num">Drift</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function driftChart(c: Completeness): string {
  if (c.runs.length < 2) return '';
  const threshold = c.runs.at(-1)!.threshold;
  const chart = lineChart({
    title: 'Drift of each reconcile run',
    xLabels: c.runs.map((r) => minute(r.startedAt).slice(5, 10)),
    series: [
      {
        name: 'Drift',
        color: COLORS.drift,
        values: c.runs.map((r) => r.drift),
        titles: c.runs.map((r) => `${minute(r.startedAt)} UTC · drift ${pct(r.drift, 3)}`),
      },
    ],
    thresholds:
      threshold === null
        ? []
        : [{ value: threshold, label: `${pct(threshold)} threshold`, color: COLORS.threshold }],
    formatY: (v, d) => `${(v * 100).toFixed(d)}%`,
    minYMax: Math.max(threshold ?? 0, 0.001) * 1.2,
  });
  return `<div class="card chart"><h3>Drift by run</h3>${chart}</div>`;
}

function lagBars(c: Completeness): string {
  const total = c.lag.reduce((n, b) => n + b.events, 0);
  if (total === 0) return `<p class="empty">No webhook events in this period.</p>`;
  const within5 = (c.lag[0]!.events + c.lag[1]!.events) / total;
  const bars = funnelBars(
    c.lag.map((b, i) => ({
      label: b.label,
      value: b.events,
      text: `${int(b.events)} · ${pct(b.events / total, 1)}`,
      color: i < 2 ? COLORS.lag : i < 4 ? COLORS.lagLate : COLORS.lagVeryLate,
      key: `completeness.lag.${i}`,
    })),
    'Webhook events by how long after happening they arrived',
  );
  return (
    `<div class="card chart"><h3>Event time to receipt</h3>` +
    `<p class="foot">${span('completeness.lag_within_5m', pct(within5, 1))} of ${int(total)} webhook events arrived within 5 minutes of happening. Later ones were retried by Customer.io, or held back behind a failing request.</p>` +
    `${bars}</div>`
  );
}

export function completenessSection(c: Completeness): string {
  return (
    `<section><h2>Completeness</h2>` +
    `<p class="lead">The warehouse compared with Customer.io’s own record of every delivery (App API): each first occurrence of a metric Customer.io records should be here. Drift is (missing here + only here) over what Customer.io records; deliveries are counted on the day Customer.io created them.</p>` +
    lastRun(c) +
    daysTable(c) +
    driftChart(c) +
    lagBars(c) +
    `</section>`
  );
}
