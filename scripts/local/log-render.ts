// The functions log structured JSON lines (for Cloud Logging); on the console of `npm start` each becomes one
// short line a person can scan: time, function, severity (when not INFO), message, what the event was and how long
// it took, then the remaining fields as key=value. The JSON stays untouched in the log files.

export interface RenderOptions {
  color: boolean;
}

const SEVERITY_COLOR: Record<string, string> = { DEBUG: '2', WARNING: '33', ERROR: '31', CRITICAL: '31' };
const SOURCE_COLOR: Record<string, string> = { webhook: '36', processor: '35' };
const MAX_VALUE = 80;
/** Shown in their own compact form, or implied by the source column. */
const FOLDED = new Set([
  'severity',
  'message',
  'function',
  'object_type',
  'metric',
  'event_id',
  'latency_ms',
]);
/** functions-framework's start-up banner: the stack's own screen says it better. */
const BANNER = /^(Serving function\.\.\.|Function: |Signature type: |URL: )/;

function paint(text: string, code: string | undefined, color: boolean): string {
  return color && code !== undefined ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function formatValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? /\s/.test(value) || value === ''
        ? JSON.stringify(value)
        : value
      : JSON.stringify(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** One console line for one log line, or undefined for lines not worth a console line. */
export function renderLogLine(
  source: string,
  line: string,
  options: RenderOptions,
  now = new Date(),
): string | undefined {
  if (line.trim() === '' || BANNER.test(line)) return undefined;
  const prefix = `${now.toTimeString().slice(0, 8)} ${paint(source.padEnd(9), SOURCE_COLOR[source], options.color)}`;
  let entry: unknown;
  try {
    entry = line.startsWith('{') ? JSON.parse(line) : undefined;
  } catch {
    entry = undefined;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return `${prefix} ${line}`;
  const fields = entry as Record<string, unknown>;
  const severity = typeof fields.severity === 'string' ? fields.severity.toUpperCase() : 'INFO';
  const parts: string[] = [];
  if (severity !== 'INFO' && severity !== 'DEFAULT')
    parts.push(paint(severity, SEVERITY_COLOR[severity], options.color));
  parts.push(typeof fields.message === 'string' ? fields.message : '');
  if (typeof fields.object_type === 'string' || typeof fields.metric === 'string') {
    parts.push(`${String(fields.object_type ?? '?')}/${String(fields.metric ?? '?')}`);
  }
  if (typeof fields.event_id === 'string') parts.push(fields.event_id);
  if (typeof fields.latency_ms === 'number') parts.push(`${fields.latency_ms} ms`);
  const rest = Object.entries(fields)
    .filter(([k, v]) => !FOLDED.has(k) && v !== undefined)
    .map(([k, v]) => `${paint(k, '2', options.color)}=${formatValue(v)}`)
    .join(' ');
  return `${prefix} ${parts.join('  ')}${rest === '' ? '' : `  ${rest}`}`;
}
