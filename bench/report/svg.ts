// Standalone SVG line charts for BENCHMARKS.md (viewable on their own and inline on GitHub): linear or log axes, an
// optional second y axis on the right, straight or step lines, horizontal guide lines. No scripts, no external fonts.

import { esc } from '../../scripts/cli/report/svg';

export interface Axis {
  label: string;
  min: number;
  max: number;
  log?: boolean;
  ticks: number[];
  format: (value: number) => string;
}

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  /** [x, y] in data units; drawn in this order. */
  points: Array<[number, number]>;
  /** Hold each y until the next x (a CDF), instead of straight segments. */
  step?: boolean;
  /** A dot on every point (for a handful of points). */
  dots?: boolean;
  /** Plotted against the right-hand axis (ChartSpec.y2) instead of the left one. */
  right?: boolean;
}

export interface Guide {
  y: number;
  label: string;
  color: string;
}

export interface ChartSpec {
  title: string;
  subtitle: string;
  x: Axis;
  y: Axis;
  /** A second y axis on the right, for series with `right: true` (two quantities over one x axis). */
  y2?: Axis;
  series: Series[];
  guides?: Guide[];
}

const WIDTH = 880;
const HEIGHT = 480;
// The legend gets a row of its own above the plot, so it never hides data.
const PLOT = { left: 72, right: WIDTH - 24, top: 92, bottom: HEIGHT - 56 };
/** Room for the right-hand axis's labels when there is one. */
const RIGHT_AXIS_PX = 56;
const LEGEND_Y = 72;
/** Rough width of a character at font-size 12, for laying out the legend row. */
const CHAR_PX = 6.6;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"';

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();
/** A white outline behind text, so labels stay readable where they cross a line. */
const HALO = 'paint-order="stroke" stroke="#ffffff" stroke-width="4" stroke-linejoin="round"';

/** Powers of ten from the one at or below `min` to the one at or above `max` (min > 0). */
export function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

/** Position of `value` on an axis as a fraction 0..1 (clamped to the axis range). */
function fraction(axis: Axis, value: number): number {
  const v = Math.min(axis.max, Math.max(axis.min, value));
  if (!axis.log) return (v - axis.min) / (axis.max - axis.min);
  return (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min));
}

const plotRight = (spec: ChartSpec) => PLOT.right - (spec.y2 ? RIGHT_AXIS_PX : 0);
const px = (spec: ChartSpec, value: number) =>
  PLOT.left + fraction(spec.x, value) * (plotRight(spec) - PLOT.left);
const py = (axis: Axis, value: number) => PLOT.bottom - fraction(axis, value) * (PLOT.bottom - PLOT.top);

function path(spec: ChartSpec, series: Series): string {
  const yAxis = series.right && spec.y2 ? spec.y2 : spec.y;
  const coords: string[] = [];
  series.points.forEach(([x, y], i) => {
    if (series.step && i > 0) coords.push(`${r1(px(spec, x))},${r1(py(yAxis, series.points[i - 1][1]))}`);
    coords.push(`${r1(px(spec, x))},${r1(py(yAxis, y))}`);
  });
  const dash = series.dashed ? ' stroke-dasharray="7 5"' : '';
  const line =
    `<polyline fill="none" stroke="${series.color}" stroke-width="2.2" stroke-linejoin="round"${dash} ` +
    `points="${coords.join(' ')}"><title>${esc(series.name)}</title></polyline>`;
  const dots = series.dots
    ? series.points
        .map(
          ([x, y]) =>
            `<circle cx="${r1(px(spec, x))}" cy="${r1(py(yAxis, y))}" r="3.5" fill="${series.color}">` +
            `<title>${esc(`${series.name}: ${spec.x.format(x)} → ${yAxis.format(y)}`)}</title></circle>`,
        )
        .join('')
    : '';
  return line + dots;
}

export function lineChart(spec: ChartSpec): string {
  const { x, y, y2 } = spec;
  const right = plotRight(spec);
  const grid = [
    ...x.ticks.map((t) => {
      const at = r1(px(spec, t));
      return (
        `<line x1="${at}" y1="${PLOT.top}" x2="${at}" y2="${PLOT.bottom}" stroke="#e5e7eb"/>` +
        `<text x="${at}" y="${PLOT.bottom + 18}" text-anchor="middle">${esc(x.format(t))}</text>`
      );
    }),
    ...y.ticks.map((t) => {
      const at = r1(py(y, t));
      return (
        `<line x1="${PLOT.left}" y1="${at}" x2="${right}" y2="${at}" stroke="#e5e7eb"/>` +
        `<text x="${PLOT.left - 8}" y="${at}" text-anchor="end" dominant-baseline="middle">${esc(y.format(t))}</text>`
      );
    }),
    // The right axis gets labels only: a second grid would not line up with the first.
    ...(y2?.ticks ?? []).map(
      (t) =>
        `<text x="${right + 8}" y="${r1(py(y2!, t))}" dominant-baseline="middle">${esc(y2!.format(t))}</text>`,
    ),
  ];
  const guides = (spec.guides ?? []).map((g) => {
    const at = r1(py(y, g.y));
    // Above its line, unless that would run into the plot's top edge.
    const labelY = Number(at) - 6 < PLOT.top + 12 ? Number(at) + 15 : Number(at) - 6;
    return {
      line:
        `<line x1="${PLOT.left}" y1="${at}" x2="${right}" y2="${at}" stroke="${g.color}" stroke-width="1.2" ` +
        `stroke-dasharray="3 4"/>`,
      // Drawn after the series, with a halo, so lines crossing it do not hide it.
      label: `<text x="${PLOT.left + 6}" y="${labelY}" fill="${g.color}" ${HALO}>` + `${esc(g.label)}</text>`,
    };
  });
  let left = PLOT.left;
  const legend = spec.series.map((s) => {
    const dash = s.dashed ? ' stroke-dasharray="7 5"' : '';
    const entry =
      `<line x1="${r1(left)}" y1="${LEGEND_Y - 4}" x2="${r1(left + 28)}" y2="${LEGEND_Y - 4}" stroke="${s.color}" ` +
      `stroke-width="2.2"${dash}/>` +
      `<text x="${r1(left + 36)}" y="${LEGEND_Y}">${esc(s.name)}</text>`;
    left += 36 + s.name.length * CHAR_PX + 24;
    return entry;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `role="img" aria-label="${esc(spec.title)}" ${FONT} font-size="12" fill="#374151">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="26" font-size="17" font-weight="600" fill="#111827">${esc(spec.title)}</text>`,
    `<text x="${PLOT.left}" y="46" fill="#6b7280">${esc(spec.subtitle)}</text>`,
    ...legend,
    ...grid,
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" ` +
      `fill="none" stroke="#9ca3af"/>`,
    ...guides.map((g) => g.line),
    ...spec.series.map((s) => path(spec, s)),
    ...guides.map((g) => g.label),
    `<text x="${(PLOT.left + right) / 2}" y="${HEIGHT - 14}" text-anchor="middle" font-size="13">` +
      `${esc(x.label)}</text>`,
    `<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle" ` +
      `font-size="13">${esc(y.label)}</text>`,
    ...(y2
      ? [
          `<text transform="translate(${WIDTH - 12} ${(PLOT.top + PLOT.bottom) / 2}) rotate(90)" ` +
            `text-anchor="middle" font-size="13">${esc(y2.label)}</text>`,
        ]
      : []),
    '</svg>',
    '',
  ].join('\n');
}
