// The HTML report: the numbers a reader sees, read back from the page, for a warehouse whose contents we know;
// once from an embedded DuckDB and once end to end through the real BigQuery client and the local warehouse.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { renderReport, runReport } from '../../scripts/cli/report';
import { UsageError, type Io } from '../../scripts/cli/args';
import { complaintFlag, parsePeriod } from '../../scripts/cli/report/data';
import type { EventRow } from '../../shared/warehouse/row';
import { renderViews } from '../../shared/warehouse/views';
import { EVENTS_TABLE } from '../../shared/warehouse/schema';
import { startWarehouseServer } from '../../scripts/local/warehouse/server';
import { writeStackState } from '../../scripts/local/stack-state';
import { openDuckWarehouse, rowFromBody } from '../support/duckdb-warehouse';

const DAY = 86400;
let seq = 0;

/**
 * Three days of email (and a little push) ending on `today` (unix seconds of that day's midnight, UTC):
 * campaign 27 on today-2, broadcast 4 on today-1, push campaign 31 today, and one send before the 7-day period.
 */
function scenario(today: number): EventRow[] {
  const rows: EventRow[] = [];
  const ev = (metric: string, at: number, data: Record<string, unknown>, objectType = 'email'): void => {
    rows.push(
      rowFromBody({ event_id: `rpt-${++seq}`, object_type: objectType, metric, timestamp: at, data }),
    );
  };
  const dayA = today - 2 * DAY + 9 * 3600;
  for (let i = 0; i < 40; i++) {
    const recipient = i < 30 ? `a${i}@example.com` : `g${i}@gmail.com`;
    const d = { delivery_id: `c27-${i}`, campaign_id: 27, action_id: 311, recipient };
    ev('sent', dayA, d);
    if (i < 2) {
      // Two hard bounces whose messages differ only by the address: one reason once addresses are masked.
      ev('bounced', dayA + 60, {
        ...d,
        failure_message: `550 5.1.1 <${recipient}>: Recipient address rejected`,
      });
      continue;
    }
    ev('delivered', dayA + 60, d);
    if (i < 22) ev('opened', dayA + 600, d);
    if (i === 2) ev('opened', dayA + 700, d); // a repeat open
    if (i < 10) ev('clicked', dayA + 900, { ...d, machine: false });
    if (i >= 22 && i < 27) ev('opened', dayA + 120, { ...d, prefetched: true });
    if (i === 27 || i === 28) ev('clicked', dayA + 100, { ...d, machine: true });
    if (i === 3) ev('converted', dayA + 3600, d);
    if (i === 30) ev('spammed', dayA + 7200, d);
    if (i === 31 || i === 32) ev('unsubscribed', dayA + 7200, d);
  }
  const dayB = today - DAY + 10 * 3600;
  for (let j = 0; j < 10; j++) {
    const d = { delivery_id: `b4-${j}`, broadcast_id: 4, action_id: 88, recipient: `b${j}@example.net` };
    ev('sent', dayB, d);
    if (j === 0) ev('bounced', dayB + 60, { ...d, failure_message: '421 4.7.0 Try again later' });
    else ev('delivered', dayB + 60, d);
    if (j >= 1 && j <= 3) ev('opened', dayB + 600, d);
  }
  for (let k = 0; k < 5; k++) {
    ev('sent', today + 3600, { delivery_id: `p31-${k}`, campaign_id: 31, action_id: 90 }, 'push');
  }
  // Before the period: must not count.
  ev('sent', today - 20 * DAY, {
    delivery_id: 'old',
    campaign_id: 27,
    action_id: 311,
    recipient: 'o@example.com',
  });
  return rows;
}

/** The text of the element carrying data-k="key", as a reader sees it. */
function shown(html: string, key: string): string {
  const m = new RegExp(`data-k="${key.replace(/[.:]/g, '\\$&')}"[^>]*>([^<]*)<`).exec(html);
  if (!m) throw new Error(`no element with data-k="${key}" in the report`);
  return m[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

function expectReportNumbers(html: string): void {
  // Summary: email of the period (campaign 27 + broadcast 4).
  expect(shown(html, 'kpi.sent')).toBe('50');
  expect(shown(html, 'kpi.delivered')).toBe('47');
  expect(shown(html, 'kpi.delivery_rate')).toBe('94.0%');
  // Every open and click, as Customer.io counts them: 27 + 3 deliveries opened (5 only prefetched, 2 only clicked by
  // a scanner), 10 clicked (2 by a scanner). By people: 20 + 3 opened, 8 clicked.
  expect(shown(html, 'kpi.open_rate')).toBe('63.8%'); // 30 of 47
  expect(shown(html, 'kpi.human_open_rate')).toBe('48.9%'); // 23 of 47
  expect(shown(html, 'kpi.click_rate')).toBe('21.3%'); // 10 of 47
  expect(shown(html, 'kpi.human_click_rate')).toBe('17.0%'); // 8 of 47
  expect(shown(html, 'kpi.conversion_rate')).toBe('2.13%');
  expect(shown(html, 'kpi.bounce_rate')).toBe('6.00%'); // 3 of 50
  expect(shown(html, 'kpi.hard_bounce_rate')).toBe('4.00%');
  expect(shown(html, 'kpi.complaint_rate')).toBe('2.128%'); // 1 of 47
  expect(shown(html, 'kpi.complaints')).toBe('1');
  expect(shown(html, 'kpi.complaint_flag')).toBe('≥ 0.3% · limit');
  expect(shown(html, 'kpi.unsubscribe_rate')).toBe('4.26%');

  // Funnels, largest first.
  const order = [...html.matchAll(/data-k="funnel\.([^."]+)\.sent"/g)].map((m) => m[1]);
  expect(order).toEqual(['campaign:27:email', 'broadcast:4:email', 'campaign:31:push']);
  const c27 = (stage: string): string => shown(html, `funnel.campaign:27:email.${stage}`);
  expect(['sent', 'delivered', 'opened', 'clicked', 'converted'].map(c27)).toEqual([
    '40',
    '38 · 95.0%',
    '27 · 67.5%',
    '10 · 25.0%',
    '1 · 2.5%',
  ]);
  expect(['humanOpened', 'humanClicked', 'bounced', 'spammed', 'unsubscribed'].map(c27)).toEqual([
    '20 · 50.0%',
    '8 · 20.0%',
    '2',
    '1',
    '2',
  ]);
  // The engagement chart, per day of sending: campaign 27's day, 38 delivered.
  expect(html).toContain('Open rate: 71.1% (27 of 38 delivered)');
  expect(html).toContain('Human open rate: 52.6% (20 of 38 delivered)');
  expect(html).toContain('Human click rate: 21.1% (8 of 38 delivered)');
  expect(shown(html, 'funnel.broadcast:4:email.opened')).toBe('3 · 30.0%');
  expect(shown(html, 'funnel.campaign:31:push.delivered')).toBe('0 · 0.0%');

  // Thresholds drawn on the complaint chart.
  expect(html).toContain('data-threshold="0.001"');
  expect(html).toContain('data-threshold="0.003"');

  // Bounce reasons: addresses masked, equal messages merged.
  expect(html).toContain('550 5.1.1 &lt;address&gt;: Recipient address rejected');
  expect(html).not.toContain('a0@example.com');
  expect([0, 1].map((i) => [shown(html, `bounce.${i}.count`), shown(html, `bounce.${i}.share`)])).toEqual([
    ['2', '66.7%'],
    ['1', '33.3%'],
  ]);

  // Domains with complaints: only gmail.com, with the Postmaster Tools note.
  expect(shown(html, 'domain.0.name')).toBe('gmail.com');
  expect(shown(html, 'domain.0.complaints')).toBe('1');
  expect(shown(html, 'domain.0.delivered')).toBe('10');
  expect(shown(html, 'domain.0.complaint_rate')).toBe('10.000%');
  expect(shown(html, 'domain.0.flag')).toBe('≥ 0.3% · limit');
  expect(html).not.toContain('data-k="domain.1.name"');
  expect(html).toContain('Google Postmaster Tools');
}

function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|url\(|@import|@font-face/i);
  // The only URL is the SVG namespace, which is a name, never fetched.
  const urls = [...html.matchAll(/https?:\/\/[^"'\s)]+/g)].map((m) => m[0]);
  expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
}

describe('report from an embedded DuckDB', () => {
  const NOW = new Date('2024-12-05T15:30:00Z');
  const today = Date.parse('2024-12-05T00:00:00Z') / 1000;

  test('shows the funnel, rates, bounce reasons and complaint domains of the period', async () => {
    const w = await openDuckWarehouse();
    try {
      await w.insert(scenario(today));
      const html = await renderReport({ since: '7d', source: w.source, now: NOW });
      expect(shown(html, 'period')).toBe('2024-11-29 to 2024-12-05');
      expectReportNumbers(html);
      expectSelfContained(html);
    } finally {
      w.close();
    }
  });

  test('--workspace reports one workspace; without it, every workspace together', async () => {
    const w = await openDuckWarehouse();
    try {
      const eu = (metric: string, i: number) =>
        rowFromBody(
          {
            event_id: `eu-${metric}-${i}`,
            object_type: 'email',
            metric,
            timestamp: today + 3600,
            data: { delivery_id: `eu-${i}`, campaign_id: 900, recipient: `e${i}@example.eu` },
          },
          undefined,
          [],
          'eu',
        );
      await w.insert([...scenario(today), ...[0, 1, 2].map((i) => eu('sent', i)), eu('delivered', 0)]);
      const all = await renderReport({ since: '7d', source: w.source, now: NOW });
      expect(shown(all, 'workspace')).toBe('every workspace');
      expect(shown(all, 'kpi.sent')).toBe('53');
      const onlyEu = await renderReport({ since: '7d', source: w.source, now: NOW, workspace: 'eu' });
      expect(shown(onlyEu, 'workspace')).toBe('workspace eu');
      expect([shown(onlyEu, 'kpi.sent'), shown(onlyEu, 'kpi.delivered')]).toEqual(['3', '1']);
      const onlyDefault = await renderReport({
        since: '7d',
        source: w.source,
        now: NOW,
        workspace: 'default',
      });
      expectReportNumbers(onlyDefault);
      await expect(
        renderReport({ since: '7d', source: w.source, now: NOW, workspace: "eu' OR 1=1 --" }),
      ).rejects.toThrow(UsageError);
    } finally {
      w.close();
    }
  });

  test('an empty warehouse gives a readable page, not NaN', async () => {
    const w = await openDuckWarehouse();
    try {
      const html = await renderReport({ since: '2024-12-01', source: w.source, now: NOW });
      expect(shown(html, 'period')).toBe('2024-12-01 to 2024-12-05');
      expect(shown(html, 'kpi.sent')).toBe('0');
      expect(shown(html, 'kpi.delivery_rate')).toBe('–');
      expect(shown(html, 'kpi.complaint_flag')).toBe('No deliveries');
      expect(html).toContain('No deliveries in this period.');
      expect(html).toContain('No email bounces in this period.');
      expect(html).toContain('No complaints in this period.');
      expect(html).not.toMatch(/NaN|undefined|Infinity/);
    } finally {
      w.close();
    }
  });
});

test('the report flags period complaint rates with the same boundaries as deliverability_daily', () => {
  expect([
    complaintFlag(1, 1001),
    complaintFlag(1, 1000),
    complaintFlag(3, 1001),
    complaintFlag(3, 1000),
    complaintFlag(1, 0),
  ]).toEqual(['ok', 'warn', 'warn', 'limit', undefined]);
});

describe('report period', () => {
  const now = new Date('2024-03-02T23:59:00Z');
  test('Nd counts today; a date runs through today', () => {
    expect(parsePeriod('1d', now)).toEqual({ from: '2024-03-02', to: '2024-03-02', days: ['2024-03-02'] });
    expect(parsePeriod('3d', now).days).toEqual(['2024-02-29', '2024-03-01', '2024-03-02']);
    expect(parsePeriod('2024-02-28', now).days).toHaveLength(4);
  });
  test.each(['0d', '401d', '7', 'week', '2024-02-30', '2024-03-03', '2023-01-01'])(
    '%p is refused',
    (since) => {
      expect(() => parsePeriod(since, now)).toThrow(UsageError);
    },
  );
});

describe('runReport through the BigQuery client and the local warehouse', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-test-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  const io = (localDir: string, printed: string[]): Io => ({
    out: (text) => printed.push(text),
    err: (text) => printed.push(text),
    isTTY: false,
    env: {},
    localDir,
  });

  test('without flags it reads the running local stack: views created over REST, as Terraform does', async () => {
    const server = await startWarehouseServer();
    try {
      const projectId = `report-test-${process.pid}`;
      const previous = process.env.BIGQUERY_EMULATOR_HOST;
      process.env.BIGQUERY_EMULATOR_HOST = server.url;
      const bigquery = new BigQuery({ projectId });
      if (previous === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
      else process.env.BIGQUERY_EMULATOR_HOST = previous;

      const [dataset] = await bigquery.createDataset('analytics');
      const [events] = await dataset.createTable('events', { schema: { fields: EVENTS_TABLE.fields } });
      for (const view of renderViews((id) => `\`${projectId}.analytics.${id}\``)) {
        await dataset.createTable(view.name, { view: { query: view.sql, useLegacySql: false } });
      }
      const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
      await events.insert(
        scenario(today).map((r) => ({ insertId: r.event_id, json: r })),
        { raw: true, partialRetries: 0 },
      );

      // What `npm start` leaves behind for the commands (only the fields the report reads matter here).
      const localDir = tmp();
      writeStackState(localDir, {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        projectId,
        webhookUrl: 'http://127.0.0.1:9/',
        processorUrl: 'http://127.0.0.1:9/',
        pubsubEmulatorHost: '127.0.0.1:9',
        firestoreEmulatorHost: '127.0.0.1:9',
        bigqueryEmulatorHost: server.url,
        eventsTopic: 'cio-events',
        pushSubscription: 'cio-events-processor',
        deadLetterTopic: 'cio-events-dead-letter',
        deadLetterSubscription: 'cio-events-dead-letter',
        dataset: 'analytics',
        signingKeyFile: null,
        workspaces: {},
        workspaceKeysFile: null,
        warehouseDir: localDir,
        logDir: localDir,
      });
      const out = path.join(tmp(), 'report.html');
      const printed: string[] = [];

      expect(await runReport(['--since', '7d', '--out', out], io(localDir, printed))).toBe(0);

      expect(printed.join('')).toBe(`wrote ${out} (local warehouse, dataset analytics)\n`);
      const html = fs.readFileSync(out, 'utf8');
      expectReportNumbers(html);
      expectSelfContained(html);
    } finally {
      await server.close();
    }
  });

  test('a bad command line or no warehouse to read is a usage error', async () => {
    const none = io(tmp(), []);
    await expect(runReport([], none)).rejects.toThrow(/no --project given and no local stack is running/);
    await expect(runReport(['--project', 'my-project', '--dataset', 'a.b'], none)).rejects.toThrow(
      UsageError,
    );
    await expect(runReport(['--project', 'my-project', '--since', 'soon'], none)).rejects.toThrow(UsageError);
    await expect(runReport(['--bogus'], none)).rejects.toThrow(UsageError);
    const printed: string[] = [];
    expect(await runReport(['--help'], io(tmp(), printed))).toBe(0);
    expect(printed.join('')).toContain('Usage: cio-webhooks report');
  });
});
