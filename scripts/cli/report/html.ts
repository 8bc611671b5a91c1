// The report page: one self-contained HTML document (inline CSS and SVG, system fonts, no scripts, no network).
// Every number a reader sees carries a data-k attribute naming it, so tests can read the page like a reader.
import {
  complaintFlag,
  type ComplaintFlag,
  type DailyCounts,
  type DailyEngagement,
  type FunnelCounts,
  type ReportData,
} from './data';
import { completenessSection } from './completeness-html';
import { esc, funnelBars, lineChart, type FunnelStage } from './svg';

const COLORS = {
  sent: '#1e3a8a',
  delivered: '#1d4ed8',
  opened: '#3b82f6',
  clicked: '#60a5fa',
  humanOpened: '#1d4ed8',
  humanClicked: '#0e7490',
  converted: '#059669',
  complaint: '#7c3aed',
  bounce: '#dc2626',
  hardBounce: '#9f1239',
  unsubscribe: '#0891b2',
  warn: '#d97706',
  limit: '#dc2626',
};

const int = (n: number): string => n.toLocaleString('en-US');
const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
/** A share as a percentage; '–' when undefined (nothing to divide by). */
export const pct = (r: number | null, digits = 1): string =>
  r === null ? '–' : `${(r * 100).toFixed(digits)}%`;

const FLAG_TEXT: Record<ComplaintFlag, string> = {
  ok: 'Below 0.1%',
  warn: '≥ 0.1% · warn',
  limit: '≥ 0.3% · limit',
};

function flagPill(flag: ComplaintFlag | undefined, key: string): string {
  const cls = flag ?? 'none';
  const label = flag === undefined ? 'No deliveries' : FLAG_TEXT[flag];
  return `<span class="pill ${cls}" data-k="${esc(key)}">${esc(label)}</span>`;
}

const span = (key: string, text: string): string => `<span data-k="${esc(key)}">${esc(text)}</span>`;

function kpi(label: string, key: string, value: string, note: string): string {
  return (
    `<div class="kpi"><div class="label">${esc(label)}</div>` +
    `<div class="value">${span(`kpi.${key}`, value)}</div><div class="note">${note}</div></div>`
  );
}

function totals(daily: DailyCounts[]): Omit<DailyCounts, 'day'> {
  const t = { sent: 0, delivered: 0, bounced: 0, hardBounced: 0, complaints: 0, unsubscribed: 0 };
  for (const d of daily) {
    t.sent += d.sent;
    t.delivered += d.delivered;
    t.bounced += d.bounced;
    t.hardBounced += d.hardBounced;
    t.complaints += d.complaints;
    t.unsubscribed += d.unsubscribed;
  }
  return t;
}

function kpis(data: ReportData): string {
  const f = data.emailFunnel;
  const t = totals(data.daily);
  const flag = complaintFlag(t.complaints, t.delivered);
  return `<div class="kpis">${[
    kpi('Emails sent', 'sent', int(f.sent), `${span('kpi.delivered', int(f.delivered))} delivered`),
    kpi('Delivery rate', 'delivery_rate', pct(ratio(f.delivered, f.sent)), 'of sent'),
    kpi(
      'Open rate',
      'open_rate',
      pct(ratio(f.opened, f.delivered)),
      `of delivered · ${span('kpi.human_open_rate', pct(ratio(f.humanOpened, f.delivered)))} by people`,
    ),
    kpi(
      'Click rate',
      'click_rate',
      pct(ratio(f.clicked, f.delivered)),
      `of delivered · ${span('kpi.human_click_rate', pct(ratio(f.humanClicked, f.delivered)))} by people`,
    ),
    kpi(
      'Bounce rate',
      'bounce_rate',
      pct(ratio(t.bounced, t.sent), 2),
      `${span('kpi.hard_bounce_rate', pct(ratio(t.hardBounced, t.sent), 2))} hard · of sent that day`,
    ),
    kpi(
      'Complaint rate',
      'complaint_rate',
      pct(ratio(t.complaints, t.delivered), 3),
      `${span('kpi.complaints', int(t.complaints))} complaints · ${flagPill(flag, 'kpi.complaint_flag')}`,
    ),
    kpi(
      'Unsubscribe rate',
      'unsubscribe_rate',
      pct(ratio(t.unsubscribed, t.delivered), 2),
      `${span('kpi.unsubscribed', int(t.unsubscribed))} unsubscribes · of delivered`,
    ),
    kpi(
      'Conversion rate',
      'conversion_rate',
      pct(ratio(f.converted, f.delivered), 2),
      `${span('kpi.converted', int(f.converted))} conversions · of delivered`,
    ),
  ].join('')}</div>`;
}

const ORIGIN_NAMES: Record<string, string> = {
  campaign: 'Campaign',
  broadcast: 'Broadcast',
  newsletter: 'Newsletter',
  transactional: 'Transactional message',
};

function funnelCard(
  o: FunnelCounts & { originType: string; originId: number | null; channel: string },
): string {
  const id = `${o.originType}:${o.originId ?? 'none'}:${o.channel}`;
  const name = `${ORIGIN_NAMES[o.originType] ?? 'Unknown origin'}${o.originId === null ? '' : ` ${o.originId}`}`;
  const stage = (label: string, key: keyof FunnelCounts, color: string): FunnelStage => ({
    label,
    value: o[key],
    text: key === 'sent' ? int(o[key]) : `${int(o[key])} · ${pct(ratio(o[key], o.sent))}`,
    color,
    key: `funnel.${id}.${key}`,
  });
  const extras = [
    ['Bounced', 'bounced'],
    ['Complaints', 'spammed'],
    ['Unsubscribed', 'unsubscribed'],
  ] as const;
  // Opens and clicks by people, beside the raw stages above (prefetched opens and scanner clicks left out).
  const human = (label: string, key: 'humanOpened' | 'humanClicked') =>
    `<span>${esc(label)} ${span(`funnel.${id}.${key}`, `${int(o[key])} · ${pct(ratio(o[key], o.sent))}`)}</span>`;
  return (
    `<div class="card funnel"><div class="card-head"><h3>${esc(name)}</h3>` +
    `<span class="chip">${esc(o.channel)}</span></div>` +
    funnelBars(
      [
        stage('Sent', 'sent', COLORS.sent),
        stage('Delivered', 'delivered', COLORS.delivered),
        stage('Opened', 'opened', COLORS.opened),
        stage('Clicked', 'clicked', COLORS.clicked),
        stage('Converted', 'converted', COLORS.converted),
      ],
      `Funnel of ${name} (${o.channel})`,
    ) +
    `<div class="extras">${human('Human opens', 'humanOpened')}${human('Human clicks', 'humanClicked')}${extras
      .map(([label, key]) => `<span>${esc(label)} ${span(`funnel.${id}.${key}`, int(o[key]))}</span>`)
      .join('')}</div></div>`
  );
}

const shortDay = (day: string): string =>
  new Date(`${day}T00:00:00Z`).toLocaleDateString('en-US', {
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });

function rateCharts(daily: DailyCounts[]): string {
  const xLabels = daily.map((d) => shortDay(d.day));
  const series = (
    name: string,
    color: string,
    num: (d: DailyCounts) => number,
    den: (d: DailyCounts) => number,
    denName: string,
    digits: number,
  ): {
    name: string;
    color: string;
    values: (number | null)[];
    titles: string[];
  } => ({
    name,
    color,
    values: daily.map((d) => ratio(num(d), den(d))),
    titles: daily.map(
      (d) =>
        `${d.day} · ${name}: ${pct(ratio(num(d), den(d)), digits)} (${int(num(d))} of ${int(den(d))} ${denName})`,
    ),
  });
  const complaints = lineChart({
    title: 'Complaint rate by day, with the 0.1% and 0.3% bulk-sender thresholds',
    xLabels,
    series: [
      series(
        'Complaint rate',
        COLORS.complaint,
        (d) => d.complaints,
        (d) => d.delivered,
        'delivered',
        3,
      ),
    ],
    thresholds: [
      { value: 0.001, label: '0.1% keep below', color: COLORS.warn },
      { value: 0.003, label: '0.3% limit', color: COLORS.limit },
    ],
    formatY: pct,
    minYMax: 0.0035,
  });
  const bounces = lineChart({
    title: 'Bounce, hard bounce and unsubscribe rates by day',
    xLabels,
    series: [
      series(
        'Bounce rate',
        COLORS.bounce,
        (d) => d.bounced,
        (d) => d.sent,
        'sent',
        2,
      ),
      series(
        'Hard bounce rate',
        COLORS.hardBounce,
        (d) => d.hardBounced,
        (d) => d.sent,
        'sent',
        2,
      ),
      series(
        'Unsubscribe rate',
        COLORS.unsubscribe,
        (d) => d.unsubscribed,
        (d) => d.delivered,
        'delivered',
        2,
      ),
    ],
    thresholds: [],
    formatY: pct,
    minYMax: 0.01,
  });
  const legend = (items: [string, string, boolean][]): string =>
    `<div class="legend">${items
      .map(
        ([label, color, dashed]) =>
          `<span><i class="${dashed ? 'dash' : 'dot'}" style="--c:${color}"></i>${esc(label)}</span>`,
      )
      .join('')}</div>`;
  return (
    `<div class="card chart"><h3>Complaint rate</h3>` +
    legend([
      ['Complaints ÷ delivered', COLORS.complaint, false],
      ['0.1%: keep below', COLORS.warn, true],
      ['0.3%: never reach', COLORS.limit, true],
    ]) +
    complaints +
    `</div><div class="card chart"><h3>Bounces and unsubscribes</h3>` +
    legend([
      ['Bounced ÷ sent', COLORS.bounce, false],
      ['Hard bounced ÷ sent', COLORS.hardBounce, false],
      ['Unsubscribed ÷ delivered', COLORS.unsubscribe, false],
    ]) +
    bounces +
    `</div>`
  );
}

/** Open and click rates per day of sending, raw beside human: the gap is prefetching and link scanners. */
function engagementChart(days: DailyEngagement[]): string {
  const series = (name: string, color: string, count: (d: DailyEngagement) => number) => ({
    name,
    color,
    values: days.map((d) => ratio(count(d), d.delivered)),
    titles: days.map(
      (d) =>
        `${d.day} · ${name}: ${pct(ratio(count(d), d.delivered))} (${int(count(d))} of ${int(d.delivered)} delivered)`,
    ),
  });
  const chart = lineChart({
    title: 'Open and click rates by day of sending, all and by people',
    xLabels: days.map((d) => shortDay(d.day)),
    series: [
      series('Open rate', COLORS.opened, (d) => d.opened),
      series('Human open rate', COLORS.humanOpened, (d) => d.humanOpened),
      series('Click rate', COLORS.clicked, (d) => d.clicked),
      series('Human click rate', COLORS.humanClicked, (d) => d.humanClicked),
    ],
    thresholds: [],
    formatY: pct,
    minYMax: 0.1,
  });
  const legend = [
    ['Opened ÷ delivered', COLORS.opened],
    ['Opened by a person ÷ delivered', COLORS.humanOpened],
    ['Clicked ÷ delivered', COLORS.clicked],
    ['Clicked by a person ÷ delivered', COLORS.humanClicked],
  ]
    .map(([label, color]) => `<span><i class="dot" style="--c:${color}"></i>${esc(label)}</span>`)
    .join('');
  return `<div class="card chart"><h3>Opens and clicks</h3><div class="legend">${legend}</div>${chart}</div>`;
}

function bounceTable(data: ReportData): string {
  if (data.bounceReasons.length === 0) return `<p class="empty">No email bounces in this period.</p>`;
  const max = Math.max(...data.bounceReasons.map((r) => r.bounces));
  const total = totals(data.daily).bounced;
  const rows = data.bounceReasons.map(
    (r, i) =>
      `<tr><td class="reason">${esc(r.reason)}</td>` +
      `<td><span class="pill ${r.bounceType === 'hard' ? 'limit' : 'warn'}">${r.bounceType}</span></td>` +
      `<td class="num">${span(`bounce.${i}.count`, int(r.bounces))}</td>` +
      `<td class="num">${span(`bounce.${i}.share`, pct(ratio(r.bounces, total)))}</td>` +
      `<td class="barcell"><div class="bar"><span style="width:${((r.bounces / max) * 100).toFixed(1)}%"></span></div></td></tr>`,
  );
  return (
    `<table><thead><tr><th>Failure message</th><th>Type</th><th class="num">Bounces</th>` +
    `<th class="num">Share</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

const GMAIL = new Set(['gmail.com', 'googlemail.com']);

function domainTable(data: ReportData): string {
  if (data.complaintDomains.length === 0) return `<p class="empty">No complaints in this period.</p>`;
  const rows = data.complaintDomains.map((d, i) => {
    const domain = d.domain ?? '(unknown)';
    const note = d.domain !== null && GMAIL.has(d.domain) ? '<sup>*</sup>' : '';
    return (
      `<tr><td>${span(`domain.${i}.name`, domain)}${note}</td>` +
      `<td class="num">${span(`domain.${i}.complaints`, int(d.complaints))}</td>` +
      `<td class="num">${span(`domain.${i}.delivered`, int(d.delivered))}</td>` +
      `<td class="num">${span(`domain.${i}.complaint_rate`, pct(ratio(d.complaints, d.delivered), 3))}</td>` +
      `<td>${flagPill(complaintFlag(d.complaints, d.delivered), `domain.${i}.flag`)}</td>` +
      `<td class="num">${span(`domain.${i}.bounce_rate`, pct(ratio(d.bounced, d.sent), 2))}</td>` +
      `<td class="num">${span(`domain.${i}.unsubscribed`, int(d.unsubscribed))}</td></tr>`
    );
  });
  const gmail = data.complaintDomains.some((d) => d.domain !== null && GMAIL.has(d.domain))
    ? `<p class="foot"><sup>*</sup> Gmail reports complaints to senders only in aggregate: the full Gmail complaint rate is in Google Postmaster Tools, and the counts here undercount it.</p>`
    : '';
  return (
    `<table><thead><tr><th>Recipient domain</th><th class="num">Complaints</th><th class="num">Delivered</th>` +
    `<th class="num">Complaint rate</th><th>Status</th><th class="num">Bounce rate</th>` +
    `<th class="num">Unsubscribes</th></tr></thead><tbody>${rows.join('')}</tbody></table>${gmail}`
  );
}

const CSS = `
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f6f8fb;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-font-smoothing:antialiased}
main{max-width:1120px;margin:0 auto;padding:44px 32px 64px}
header .eyebrow{font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:#2563eb}
header h1{font-size:30px;line-height:1.2;margin:6px 0 6px;letter-spacing:-.015em}
header .sub{color:var(--muted)}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin:28px 0 0}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:16px 18px}
.kpi .label{font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.kpi .value{font-size:30px;font-weight:650;letter-spacing:-.01em;font-variant-numeric:tabular-nums;margin:2px 0}
.kpi .note{font-size:13px;color:var(--muted)}
section{margin-top:44px}
section h2{font-size:20px;margin:0 0 2px;letter-spacing:-.01em}
section p.lead{margin:0 0 16px;color:var(--muted);max-width:800px}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:18px 20px}
.card h3{font-size:15px;margin:0}
.card-head{display:flex;align-items:center;justify-content:space-between;margin-bottom:10px}
.chip{font-size:12px;color:#334155;background:#eef2f7;border-radius:999px;padding:1px 10px}
.funnels{display:grid;grid-template-columns:repeat(2,1fr);gap:14px}
.extras{display:flex;flex-wrap:wrap;gap:4px 16px;margin-top:10px;font-size:13px;color:var(--muted)}
.extras span span{color:var(--ink);font-weight:600;font-variant-numeric:tabular-nums}
.chart{margin-bottom:14px}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;color:var(--muted);margin:6px 0 4px}
.legend i{display:inline-block;width:14px;height:0;border-top:3px solid var(--c);margin-right:6px;vertical-align:middle}
.legend i.dash{border-top:2px dashed var(--c)}
svg .axis-label{font-size:13px;fill:#334155}
svg .value{font-size:13px;fill:#0f172a;font-weight:600}
svg .tick{font-size:12px;fill:#64748b}
svg .threshold{font-size:12px;font-weight:600}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums;background:var(--card);border:1px solid var(--line);border-radius:14px;overflow:hidden}
th{text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:10px 12px;background:#fbfcfe}
td{border-bottom:1px solid var(--line);padding:10px 12px;vertical-align:middle}
tr:last-child td{border-bottom:0}
.num{text-align:right;white-space:nowrap}
td.reason{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;word-break:break-word}
td.barcell{width:18%}
.bar{height:8px;background:#eef2f7;border-radius:4px;overflow:hidden}
.bar span{display:block;height:100%;background:#dc2626;border-radius:4px}
.pill{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.pill.ok{background:#ecfdf5;color:#047857}.pill.warn{background:#fffbeb;color:#b45309}
.pill.limit{background:#fef2f2;color:#b91c1c}.pill.none{background:#f1f5f9;color:#64748b}
.empty{color:var(--muted);background:var(--card);border:1px dashed var(--line);border-radius:14px;padding:18px 20px}
.foot{font-size:13px;color:var(--muted)}
footer{margin-top:48px;color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding-top:16px}
footer li{margin:4px 0}
@media (max-width:800px){.kpis{grid-template-columns:repeat(2,1fr)}.funnels{grid-template-columns:1fr}}
@media print{body{background:#fff}.card,.kpi,table{break-inside:avoid}}
`;

export function renderHtml(data: ReportData): string {
  const { period } = data;
  const generated = data.generatedAt.toISOString().slice(0, 16).replace('T', ' ');
  const funnels =
    data.funnels.length === 0
      ? `<p class="empty">No deliveries in this period.</p>`
      : `<div class="funnels">${data.funnels.map(funnelCard).join('')}</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Deliverability report · ${esc(period.from)} to ${esc(period.to)}</title>
<style>${CSS}</style></head>
<body><main>
<header><div class="eyebrow">Customer.io reporting webhooks</div>
<h1>Deliverability report</h1>
<div class="sub">${span('period', `${period.from} to ${period.to}`)} (${period.days.length} UTC ${period.days.length === 1 ? 'day' : 'days'}) · ${span('workspace', data.workspace === undefined ? 'every workspace' : `workspace ${data.workspace}`)} · ${esc(data.sourceLabel)} · generated ${esc(generated)} UTC</div>
</header>
${kpis(data)}
<section><h2>Funnel by message</h2>
<p class="lead">Deliveries of the largest messages by volume, each counted once per stage, on the day it was sent. A click counts as an open and a delivery. The bars count every open and click, as Customer.io does; below them, the opens and clicks of people: prefetched opens (Apple Mail Privacy Protection, image prefetching) and clicks by link scanners left out, opens through a privacy proxy kept (a proxy hides a person, it does not invent one).</p>
${funnels}</section>
<section><h2>Engagement by people</h2>
<p class="lead">Email opens and clicks per delivered message, by the day it was sent: all of them, and those of people.</p>
${engagementChart(data.engagement)}</section>
<section><h2>Daily rates</h2>
<p class="lead">Email events by the day they happened. Gmail and Yahoo require bulk senders to keep the complaint rate below 0.1% and never let it reach 0.3%.</p>
${rateCharts(data.daily)}</section>
<section><h2>Top bounce reasons</h2>
<p class="lead">Soft: a temporary failure (SMTP 4xx); hard: a permanent one (5xx, or no code). Addresses in the messages are masked.</p>
${bounceTable(data)}</section>
<section><h2>Domains with complaints</h2>
<p class="lead">Recipient domains ranked by spam complaints over the period.</p>
${domainTable(data)}</section>
${completenessSection(data.completeness)}
<footer><ul>
<li>Numbers come from the warehouse views delivery_funnel, deliverability_daily and events_unique; each event counts once, however often Customer.io sent it.</li>
<li>Funnel rates are shares of sent; open and click rates in the summary are shares of delivered. Complaint and unsubscribe rates divide by delivered, bounce rates by sent, per day of the event.</li>
<li>Gmail complaints are only fully visible in Google Postmaster Tools.</li>
</ul></footer>
</main></body></html>
`;
}
