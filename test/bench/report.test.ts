// The benchmark report's arithmetic and rendering on fixed figures: what BENCHMARKS.md claims a million events
// cost, its charts, and how it shows the capacity model against the local stack.
import { renderValidation } from '../../bench/capacity.bench';
import { ASSUMPTIONS, costPerMillionEvents, total } from '../../bench/report/cost';
import { decades, lineChart } from '../../bench/report/svg';

const measured = {
  firestoreReads: 1,
  firestoreWrites: 2,
  pubsubMessageBytes: 500,
  rowBytes: 800,
  rowBillableBytes: 1024,
  invocations: { webhook: 1, processor: 1 },
  cpuMs: { webhook: 3, processor: 12 },
  latencyMs: { webhook: 5, processor: 150 },
  logBytes: 600,
  logLines: 2,
};

describe('benchmark report', () => {
  it('prices a million events: list prices and each service billing minimum applied to the per-event counts', () => {
    const lines = costPerMillionEvents(measured);
    const line = (item: string) => lines.find((l) => l.item === item)!;
    expect(line('ledger writes').steady).toBeCloseTo(2 * 0.9, 9); // $0.09 per 100,000 writes
    // A 500-byte message is billed the 1000-byte minimum per publish request, at $40 per TiB.
    expect(line('publish').steady).toBeCloseTo((1000e6 / 2 ** 40) * 40, 9);
    // Rows are billed as at least 1 KB, at $0.01 per 200 MB.
    expect(line('streaming insert').steady).toBeCloseTo((1024e6 / (200 * 2 ** 20)) * 0.01, 9);
    // Steady: CPU time over 60% utilisation; sparse: a 150 ms invocation is billed 200 ms.
    expect(line('webhook CPU').steady).toBeCloseTo((0.003 / 0.6) * 0.000024 * 1e6, 9);
    expect(line('processor CPU').sparse).toBeCloseTo(0.2 * 0.000024 * 1e6, 9);
    expect(total(lines, 'sparse')).toBeGreaterThan(total(lines, 'steady'));
  });

  it("counts Cloud Run's request logs only when Terraform keeps them (keep_request_logs; excluded by default)", () => {
    const ingestion = (lines: ReturnType<typeof costPerMillionEvents>) =>
      lines.find((l) => l.item === 'ingestion')!;
    // 600 B in 2 stdout lines, each wrapped in 400 B of LogEntry, at $0.50 per GiB.
    const appLines = ((600 + 2 * 400) * 1e6 * 0.5) / 2 ** 30;
    const excluded = ingestion(costPerMillionEvents(measured));
    expect(excluded.steady).toBeCloseTo(appLines, 9);
    expect(excluded.quantity).toContain('request logs excluded');
    // Kept: one 1 KB request log entry per invocation, two invocations per event.
    const kept = ingestion(costPerMillionEvents(measured, { ...ASSUMPTIONS, requestLogsKept: 1 }));
    expect(kept.steady).toBeCloseTo(appLines + (2 * 1024 * 1e6 * 0.5) / 2 ** 30, 9);
  });

  it('puts log-scale chart ticks on the decades around the data', () => {
    expect(decades(0.4, 130)).toEqual([0.1, 1, 10, 100, 1000]);
  });
});

describe('charts with two quantities', () => {
  it('plots right-axis series against the right axis and labels it on the right', () => {
    const svg = lineChart({
      title: 't',
      subtitle: 's',
      x: { label: 'x', min: 0, max: 10, ticks: [0, 10], format: String },
      y: { label: 'left', min: 0, max: 100, ticks: [0, 100], format: String },
      y2: { label: 'right', min: 0, max: 1, ticks: [0, 1], format: (v) => `${v}h` },
      series: [
        { name: 'a', color: '#000', points: [[10, 100]] },
        { name: 'b', color: '#111', right: true, points: [[10, 1]] },
      ],
    });
    // Both reach the top right corner of the plot, each on its own scale.
    const points = [...svg.matchAll(/points="([^"]+)"/g)].map((m) => m[1]);
    expect(points[0]).toBe(points[1]);
    expect(svg).toContain('>1h</text>');
    expect(svg).toMatch(/rotate\(90\)[^>]*>right<\/text>/);
  });
});

describe('the capacity model against the local stack', () => {
  const load = (name: string, share: number, predictedBacklog: number, measuredBacklog: number) => ({
    name,
    share,
    sentPerSecond: 10 * share,
    seconds: 30,
    events: 300 * share,
    latencyMs: 100,
    inFlight: 2,
    measured: { throughput: 10, peakBacklog: measuredBacklog, drainSeconds: 5, backlog: [measuredBacklog] },
    predicted: {
      throughput: 10,
      peakBacklog: predictedBacklog,
      drainSeconds: 5,
      backlog: [predictedBacklog],
    },
    within: { throughput: true, peakBacklog: false, drain: true },
  });

  it('prints measured beside predicted, flags what is outside the tolerance and a load that never saturated', () => {
    const text = renderValidation({
      measuredAt: '2026-01-01T00:00:00.000Z',
      drainRate: 10,
      turnaroundMs: 12,
      loads: [load('below capacity', 0.5, 0, 1), load('above capacity', 3, 0, 40)],
    });
    expect(text).toContain('| below capacity | 150 events at 5.0/s |');
    expect(text).toContain('turnaround of 12 ms');
    expect(text).toContain('above capacity (**not reached**: the stack kept up)');
    expect(text).toContain('40 / 0, **outside**');
    const saturated = renderValidation({
      measuredAt: '2026-01-01T00:00:00.000Z',
      drainRate: 10,
      turnaroundMs: 12,
      loads: [load('above capacity', 3, 600, 580)],
    });
    expect(saturated).not.toContain('not reached');
  });
});
