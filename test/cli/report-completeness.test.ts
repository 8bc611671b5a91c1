// The report's Completeness section, read like a reader reads it: the last reconcile's drift, its days, the drift
// of each run against the threshold, and how late webhook events arrived.
import { renderReport } from '../../scripts/cli/report';
import { duckdbColumnType } from '../../scripts/local/warehouse/types';
import { RECONCILE_DRIFT_TABLE, RECONCILE_RUNS_TABLE, type TableSpec } from '../../shared/warehouse/schema';
import { openDuckWarehouse, rowFromBody, type DuckWarehouse } from '../support/duckdb-warehouse';

const NOW = new Date('2024-12-05T15:30:00Z');
const T = Date.parse('2024-12-04T10:00:00Z') / 1000;
const shown = (html: string, key: string): string =>
  new RegExp(`data-k="${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>([^<]*)<`).exec(html)?.[1] ??
  '(absent)';

async function createTable(w: DuckWarehouse, name: string, spec: TableSpec): Promise<void> {
  await w.query(
    `CREATE TABLE ${name} (${spec.fields.map((f) => `${f.name} ${duckdbColumnType(f)}`).join(', ')})`,
  );
}

const lagRows = () => {
  // 6 events within a minute, 2 after 10 minutes, 1 after 2 hours, 1 after 3 days; one App API row (not counted).
  const lags = [5, 5, 10, 20, 30, 50, 600, 600, 7200, 3 * 86400];
  const rows = lags.map((lag, i) =>
    rowFromBody(
      {
        event_id: `lag-${i}`,
        object_type: 'email',
        metric: 'delivered',
        timestamp: T,
        data: { delivery_id: `d${i}` },
      },
      new Date((T + lag) * 1000).toISOString(),
    ),
  );
  rows.push({ ...rows[0]!, event_id: 'app_api:x:sent', delivery_id: 'x', metric: 'sent', source: 'app_api' });
  return rows;
};

test('without reconcile tables: the section says how to set it up, and still shows the lag', async () => {
  const w = await openDuckWarehouse();
  try {
    await w.insert(lagRows());
    const html = await renderReport({ since: '7d', source: w.source, now: NOW });
    expect(html).toContain('No reconciliation tables in this dataset');
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => shown(html, `completeness.lag.${i}`))).toEqual([
      '6 · 60.0%',
      '0 · 0.0%',
      '2 · 20.0%',
      '0 · 0.0%',
      '1 · 10.0%',
      '0 · 0.0%',
      '1 · 10.0%',
    ]);
    expect(shown(html, 'completeness.lag_within_5m')).toBe('60.0%');
  } finally {
    w.close();
  }
});

test('the last reconcile: its drift against the threshold, its days, and the drift of every run', async () => {
  const w = await openDuckWarehouse();
  try {
    await createTable(w, 'reconcile_runs', RECONCILE_RUNS_TABLE);
    await createTable(w, 'reconcile_drift', RECONCILE_DRIFT_TABLE);
    const run = (id: string, at: string, status: string, drift: number | null, missing: number) =>
      w.query(`INSERT INTO reconcile_runs (run_id, workspace, started_at, window_start, window_end, status, threshold,
          deliveries, judged, matched, missing_here, only_here, repaired, drift, error)
        VALUES ('${id}', 'default', TIMESTAMP '${at}', TIMESTAMP '2024-11-27 00:00:00', TIMESTAMP '${at}', '${status}', 0.001,
          900, 2000, ${2000 - missing}, ${missing}, 1, 0, ${drift ?? 'NULL'}, ${status === 'failed' ? "'401 from Customer.io'" : 'NULL'})`);
    await run('r1', '2024-12-03 04:17:00', 'ok', 0, 0);
    await run('r2', '2024-12-04 04:17:00', 'drift', 0.0035, 6);
    const day = (d: string, cio: number, missing: number, only: number) =>
      w.query(`INSERT INTO reconcile_drift (run_id, workspace, run_started_at, day, channel, metric, parent_type,
          customerio, matched, missing_here, only_here, repaired)
        VALUES ('r2', 'default', TIMESTAMP '2024-12-04 04:17:00', DATE '${d}', 'email', 'sent', 'campaign',
          ${cio}, ${cio - missing}, ${missing}, ${only}, 0)`);
    await day('2024-12-02', 1200, 0, 1);
    await day('2024-12-03', 800, 6, 0);

    const html = await renderReport({ since: '7d', source: w.source, now: NOW });
    expect(shown(html, 'completeness.drift')).toBe('0.350%');
    expect(shown(html, 'completeness.status')).toBe('over 0.10%');
    expect(shown(html, 'completeness.missing_here')).toBe('6');
    expect(shown(html, 'completeness.judged')).toBe('2,000');
    expect(
      ['day', 'customerio', 'missing_here', 'only_here'].map((k) => shown(html, `completeness.day.1.${k}`)),
    ).toEqual(['2024-12-03', '800', '6', '0']);
    expect(html).toContain('Drift by run');
    expect(html).toContain('data-threshold="0.001"');

    // A failed last run is said, with the numbers of the last one that finished.
    await run('r3', '2024-12-05 04:17:00', 'failed', null, 0);
    const after = await renderReport({ since: '7d', source: w.source, now: NOW });
    expect(after).toMatch(
      /The latest run \(2024-12-05 04:17 UTC\) failed: 401 from Customer\.io\. The numbers are those of the last run that finished/,
    );
    expect(shown(after, 'completeness.drift')).toBe('0.350%');
    expect(shown(after, 'completeness.day.1.missing_here')).toBe('6');
    expect(after).not.toMatch(/NaN|undefined|Infinity/);
  } finally {
    w.close();
  }
});
