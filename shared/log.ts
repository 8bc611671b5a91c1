// Structured JSON logs, one line per entry, in the shape Cloud Logging parses from stdout (`severity`, `message`,
// the rest as jsonPayload), so `gcloud functions logs read` and Logs Explorer show severity and fields.
// Every string that goes out has email addresses masked: event bodies and Track API errors carry them.

import type { LogLevel } from './config';

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };
const SEVERITY = { debug: 'DEBUG', info: 'INFO', warning: 'WARNING', error: 'ERROR' } as const;

const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;

/** `ana@example.org` → `a***@example.org`: enough to correlate a domain, not enough to identify a person. */
export function maskEmails(text: string): string {
  // Most strings hold no `@`; on those the regex would still try every start position.
  return text.includes('@') ? text.replace(EMAIL, '$1***@$2') : text;
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskEmails(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const out: Fields = { name: value.name, message: maskEmails(value.message) };
    const status = (value as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') out.statusCode = status;
    return out;
  }
  if (depth >= 4) return value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrub(v, depth + 1));
  const out: Fields = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

export type LogSink = (line: string) => void;

const stdout: LogSink = (line) => {
  process.stdout.write(line + '\n');
};

export function createLogger(level: LogLevel = 'info', base: Fields = {}, sink: LogSink = stdout): Logger {
  const threshold = RANK[level];
  // The base fields are the same on every line: scrubbed once. A line is built in one object (every request writes
  // one, so this is on the webhook's hot path); a field named like a base field or `message` overrides it.
  const scrubbedBase = scrub(base, 0) as Fields;
  const emit = (entryLevel: LogLevel, message: string, fields?: Fields): void => {
    if (RANK[entryLevel] < threshold) return;
    const entry: Fields = { severity: SEVERITY[entryLevel], message: maskEmails(message), ...scrubbedBase };
    if (fields !== undefined) for (const key of Object.keys(fields)) entry[key] = scrub(fields[key], 1);
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warning', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, sink),
  };
}
