// insertAll row validation, the way BigQuery's streaming API judges a row: unknown field, missing REQUIRED field
// and type mismatch are 'invalid' for that row. A valid row becomes DuckDB values in column order.
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBTimestampTZValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { NUMERIC_SCALE, type BqField, type BqType, type InsertRowError } from './types';

export type RowResult = { ok: true; values: DuckDBValue[] } | { ok: false; error: InsertRowError };

/** A value that does not fit its column's type; the message is what BigQuery would say. */
export class InvalidValue extends Error {}

const invalid = (location: string, message: string): InsertRowError => ({
  reason: 'invalid',
  location,
  debugInfo: '',
  message,
});

/** BigQuery's maximum row size for streaming inserts. */
const MAX_ROW_BYTES = 5 * 1024 * 1024;

export function convertRow(
  fields: readonly BqField[],
  json: unknown,
  ignoreUnknownValues: boolean,
): RowResult {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return { ok: false, error: invalid('', 'Row is not a JSON object.') };
  const size = Buffer.byteLength(JSON.stringify(json));
  if (size > MAX_ROW_BYTES)
    return {
      ok: false,
      error: invalid('', `Maximum allowed row size exceeded. Allowed: ${MAX_ROW_BYTES} Row size: ${size}`),
    };
  const row = json as Record<string, unknown>;
  const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  if (!ignoreUnknownValues) {
    for (const key of Object.keys(row)) {
      if (!byName.has(key.toLowerCase())) return { ok: false, error: invalid(key, `no such field: ${key}.`) };
    }
  }
  // BigQuery field names are case-insensitive.
  const lowerRow = new Map(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]));
  const values: DuckDBValue[] = [];
  for (const field of fields) {
    const raw = lowerRow.get(field.name.toLowerCase());
    try {
      values.push(convertField(field, raw));
    } catch (e) {
      if (e instanceof InvalidValue) return { ok: false, error: invalid(field.name, e.message) };
      throw e;
    }
  }
  return { ok: true, values };
}

function convertField(field: BqField, raw: unknown): DuckDBValue {
  if (field.mode === 'REPEATED') {
    // BigQuery stores an absent or null repeated field as an empty array.
    if (raw === undefined || raw === null) return new DuckDBListValue([]);
    if (!Array.isArray(raw)) throw new InvalidValue(`Field ${field.name} is REPEATED: expected an array.`);
    return new DuckDBListValue(
      raw.map((item: unknown) => {
        if (item === null) throw new InvalidValue(`Field ${field.name}: array elements cannot be null.`);
        return convertScalar(field.type, field.name, item);
      }),
    );
  }
  if (raw === undefined || raw === null) {
    if (field.mode === 'REQUIRED') throw new InvalidValue(`Missing required field: ${field.name}.`);
    return null;
  }
  if (Array.isArray(raw)) throw new InvalidValue(`Array specified for non-repeated field: ${field.name}.`);
  return convertScalar(field.type, field.name, raw);
}

export function convertScalar(type: BqType, name: string, v: unknown): DuckDBValue {
  if (typeof v === 'object') throw new InvalidValue(`This field: ${name} is not a record.`);
  const bad = (what: string) => new InvalidValue(`Cannot convert value to ${what} (bad value): ${String(v)}`);
  switch (type) {
    case 'STRING':
      // The streaming API accepts JSON numbers and booleans for STRING columns and stores their text.
      return String(v);
    case 'INTEGER': {
      const text = typeof v === 'number' ? (Number.isInteger(v) ? v.toFixed(0) : '') : v;
      if (typeof text !== 'string' || !/^[+-]?\d+$/.test(text.trim())) throw bad('integer');
      const n = BigInt(text.trim());
      if (n > 9223372036854775807n || n < -9223372036854775808n) throw bad('integer');
      return n;
    }
    case 'FLOAT': {
      if (typeof v === 'number') return v;
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isNaN(n) && !(typeof v === 'string' && /^nan$/i.test(v))) throw bad('double');
      return n;
    }
    case 'BOOLEAN':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
      throw bad('boolean');
    case 'TIMESTAMP':
      return new DuckDBTimestampTZValue(parseTimestampMicros(v, name));
    case 'DATE': {
      const m = typeof v === 'string' ? /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(v) : null;
      const days = m ? daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
      if (days === undefined) throw bad('date');
      return new DuckDBDateValue(days);
    }
    case 'JSON': {
      if (typeof v !== 'string') throw bad('JSON (send the JSON text as a string)');
      try {
        JSON.parse(v);
      } catch {
        throw bad('JSON');
      }
      return v;
    }
    case 'BYTES': {
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v) || v.length % 4 === 1)
        throw bad('bytes (base64)');
      return new DuckDBBlobValue(Buffer.from(v, 'base64'));
    }
    case 'NUMERIC': {
      const text = String(v).trim();
      const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
      if (typeof v === 'boolean' || !m || (m[2] === '' && !m[3])) throw bad('numeric');
      const fraction = (m[3] ?? '').replace(/0+$/, '');
      if (fraction.length > NUMERIC_SCALE || m[2].replace(/^0+/, '').length > 38 - NUMERIC_SCALE)
        throw bad('numeric');
      const scaled = BigInt((m[2] || '0') + fraction.padEnd(NUMERIC_SCALE, '0'));
      return new DuckDBDecimalValue(m[1] === '-' ? -scaled : scaled, 38, NUMERIC_SCALE);
    }
  }
}

const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{1,2}(?::?\d{2})?)?$/i;

/** Micros since the epoch from an ISO/BigQuery-style string or from epoch seconds (a number), as BigQuery accepts. */
function parseTimestampMicros(v: unknown, name: string): bigint {
  // Built only when thrown: an Error captures a stack, and every timestamp of every row passes here.
  const bad = (): InvalidValue =>
    new InvalidValue(
      `Could not parse '${String(v)}' as a timestamp for field ${name}. Required format is YYYY-MM-DD HH:MM[:SS[.SSSSSS]] or epoch seconds.`,
    );
  let micros: bigint;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad();
    micros = BigInt(Math.round(v * 1e6));
  } else if (typeof v === 'string') {
    const m = TIMESTAMP_TEXT.exec(v.trim());
    if (!m) throw bad();
    const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
    const [h, min, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
    if (days === undefined || h > 23 || min > 59 || s > 59) throw bad();
    const fraction = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6));
    micros =
      (BigInt(days) * 86400n + BigInt(h * 3600 + min * 60 + s)) * 1_000_000n +
      fraction -
      BigInt(offsetSeconds(m[8])) * 1_000_000n;
  } else {
    throw bad();
  }
  // BigQuery's TIMESTAMP range: 0001-01-01 to 9999-12-31.
  if (micros < -62135596800000000n || micros > 253402300799999999n) throw bad();
  return micros;
}

function offsetSeconds(zone: string | undefined): number {
  if (!zone || /^(z|utc)$/i.test(zone)) return 0;
  const m = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(zone);
  if (!m) return 0;
  const secs = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60;
  return m[1] === '-' ? -secs : secs;
}

/** Days since 1970-01-01 for a proleptic Gregorian date, or undefined if the date does not exist. */
function daysFromCivil(y: number, m: number, d: number): number | undefined {
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d)
    return undefined;
  return Math.round(date.getTime() / 86_400_000);
}
