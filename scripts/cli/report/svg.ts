// Inline SVG charts for the report: no scripts, no fonts, no network. Hover titles (<title>) carry exact values.

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

export interface FunnelStage {
  label: string;
  value: number;
  /** Text right of the bar (count and share). */
  text: string;
  color: string;
  /** data-k of the value text, so tests and scrapers find the numbers. */
  key: string;
}

/** Horizontal bars on a common track (the first stage is the full width). */
export function funnelBars(stages: FunnelStage[], title: string): string {
  const width = 520;
  const rowH = 30;
  const labelW = 86;
  const valueW = 124;
  const trackW = width - labelW - valueW;
  const height = stages.length * rowH;
  const max = Math.max(1, ...stages.map((s) => s.value));
  const rows = stages.map((s, i) => {
    const y = i * rowH;
    const w = s.value === 0 ? 0 : Math.max(2, (s.value / max) * trackW);
    return (
      `<text x="0" y="${y + 19}" class="axis-label">${esc(s.label)}</text>` +
      `<rect x="${labelW}" y="${y + 6}" width="${trackW}" height="18" rx="4" fill="#eef2f7"/>` +
      `<rect x="${labelW}" y="${y + 6}" width="${r1(w)}" height="18" rx="4" fill="${s.color}">` +
      `<title>${esc(`${s.label}: ${s.text}`)}</title></rect>` +
      `<text x="${width}" y="${y + 19}" text-anchor="end" class="value" data-k="${esc(s.key)}">${esc(s.text)}</text>`
    );
  });
  return (
    `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(title)}" ` +
    `xmlns="http://www.w3.org/2000/svg">${rows.join('')}</svg>`
  );
}

export interface LineSeries {
  name: string;
  color: string;
  /** One value per x label; null leaves a gap. */
  values: (number | null)[];
  /** Hover text per point. */
  titles: string[];
}

export interface Threshold {
  value: number;
  label: string;
  color: string;
}

export interface LineChartSpec {
  title: string;
  xLabels: string[];
  series: LineSeries[];
  thresholds: Threshold[];
  /** Formats a y value with the given number of decimals (enough to tell the gridlines apart). */
  formatY: (v: number, decimals: number) => string;
  /** The y axis reaches at least this far (e.g. to show thresholds above the data). */
  minYMax: number;
}

const NICE = [1, 2, 2.5, 5, 10];

/** A round step that splits `max` into about four gridlines. */
function niceStep(max: number): number {
  const rough = max / 4;
  const exp = Math.pow(10, Math.floor(Math.log10(rough)));
  return (NICE.find((n) => n * exp >= rough) ?? 10) * exp;
}

export function lineChart(spec: LineChartSpec): string {
  const width = 1040;
  const height = 280;
  // Room on the right for threshold labels, when there are any.
  const m = { left: 64, right: spec.thresholds.length > 0 ? 132 : 24, top: 16, bottom: 40 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const top = Math.max(spec.minYMax, ...all, ...spec.thresholds.map((t) => t.value)) * 1.05;
  const step = niceStep(top);
  const ticks = Math.ceil(top / step - 1e-9);
  const yMax = step * ticks;
  // Decimals of the step in percent (0.25% needs 2, 0.1% needs 1, 5% needs 0).
  const decimals =
    [0, 1, 2, 3].find((d) => Math.abs(Math.round(step * 100 * 10 ** d) - step * 100 * 10 ** d) < 1e-6) ?? 3;
  const n = spec.xLabels.length;
  const x = (i: number): number => m.left + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const y = (v: number): number => m.top + plotH - (v / yMax) * plotH;

  const parts: string[] = [];
  for (let k = 0; k <= ticks; k++) {
    const v = step * k;
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${r1(y(v))}" y2="${r1(y(v))}" stroke="#e2e8f0"/>` +
        `<text x="${m.left - 10}" y="${r1(y(v) + 4)}" text-anchor="end" class="tick">${esc(spec.formatY(v, decimals))}</text>`,
    );
  }
  // At most ~12 date labels, counted back from the last day so that it is always labelled.
  const every = Math.max(1, Math.ceil(n / 12));
  spec.xLabels.forEach((label, i) => {
    if ((n - 1 - i) % every === 0) {
      parts.push(
        `<text x="${r1(x(i))}" y="${height - 14}" text-anchor="middle" class="tick">${esc(label)}</text>`,
      );
    }
  });
  for (const t of spec.thresholds) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${r1(y(t.value))}" y2="${r1(y(t.value))}" ` +
        `stroke="${t.color}" stroke-width="1.5" stroke-dasharray="6 5" data-threshold="${t.value}"/>` +
        `<text x="${m.left + plotW + 8}" y="${r1(y(t.value) + 4)}" class="threshold" fill="${t.color}">${esc(t.label)}</text>`,
    );
  }
  for (const s of spec.series) {
    let path = '';
    s.values.forEach((v, i) => {
      if (v === null) return;
      const joined = i > 0 && s.values[i - 1] !== null;
      path += `${joined ? 'L' : 'M'}${r1(x(i))} ${r1(y(v))}`;
    });
    if (path !== '') {
      parts.push(
        `<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2.25" stroke-linejoin="round"/>`,
      );
    }
    s.values.forEach((v, i) => {
      if (v === null) return;
      parts.push(
        `<circle cx="${r1(x(i))}" cy="${r1(y(v))}" r="3.5" fill="#fff" stroke="${s.color}" stroke-width="2">` +
          `<title>${esc(s.titles[i] ?? '')}</title></circle>`,
      );
    });
  }
  return (
    `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(spec.title)}" ` +
    `xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`
  );
}
