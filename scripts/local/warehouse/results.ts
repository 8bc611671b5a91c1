// DuckDB query results in BigQuery's wire format: a schema plus rows of {f:[{v}]}, every scalar as a string, the
// way the real client expects to decode them (BigQuery.mergeSchemaWithRows_).
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListType,
  DuckDBListValue,
  DuckDBArrayValue,
  DuckDBArrayType,
  DuckDBDecimalType,
  DuckDBStructType,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { NUMERIC_SCALE, type BqResultField } from './types';

/** How TIMESTAMP cells are written, from the request's formatOptions. */
export type TimestampFormat = 'int64' | 'float' | 'iso';

export interface Cell {
  v: WireValue;
}
export type WireValue = string | null | Cell[] | { f: Cell[] };

/** The columns of a result, or of a prepared statement's result before it runs. */
export function resultSchema(
  reader: Pick<DuckDBResultReader, 'columnCount' | 'columnName' | 'columnType'>,
): BqResultField[] {
  const fields: BqResultField[] = [];
  for (let i = 0; i < reader.columnCount; i++)
    fields.push(fieldFor(reader.columnName(i), reader.columnType(i)));
  return fields;
}

function fieldFor(name: string, type: DuckDBType): BqResultField {
  if (type instanceof DuckDBListType || type instanceof DuckDBArrayType) {
    return { ...fieldFor(name, type.valueType), mode: 'REPEATED' };
  }
  if (type instanceof DuckDBStructType) {
    return {
      name,
      type: 'RECORD',
      mode: 'NULLABLE',
      fields: type.entryNames.map((n, i) => fieldFor(n, type.entryTypes[i]!)),
    };
  }
  return { name, type: scalarType(type), mode: 'NULLABLE' };
}

function scalarType(type: DuckDBType): string {
  if (type.alias === 'JSON') return 'JSON';
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'BOOLEAN';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return 'INTEGER';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'FLOAT';
    case DuckDBTypeId.DECIMAL:
      // NUMERIC columns are DECIMAL(38,9). Other decimals come from literals like 1.5, which BigQuery types FLOAT64.
      return type instanceof DuckDBDecimalType && type.width === 38 && type.scale === NUMERIC_SCALE
        ? 'NUMERIC'
        : 'FLOAT';
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'TIMESTAMP';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'DATETIME';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.BLOB:
      return 'BYTES';
    default:
      // VARCHAR, UUID, INTERVAL, TIME, ENUM, MAP ...: their text form.
      return 'STRING';
  }
}

export function encodeRows(
  rows: readonly DuckDBValue[][],
  fields: BqResultField[],
  ts: TimestampFormat,
): { f: Cell[] }[] {
  return rows.map((row) => ({
    f: row.map((value, i) => ({ v: encodeValue(value, fields[i]!, ts) })),
  }));
}

function encodeValue(value: DuckDBValue, field: BqResultField, ts: TimestampFormat): WireValue {
  if (value === null) return field.mode === 'REPEATED' ? [] : null;
  if (field.mode === 'REPEATED') {
    const items = value instanceof DuckDBListValue || value instanceof DuckDBArrayValue ? value.items : [];
    const element = { ...field, mode: 'NULLABLE' as const };
    return items.map((item) => ({ v: encodeValue(item, element, ts) }));
  }
  if (field.type === 'RECORD' && value instanceof DuckDBStructValue) {
    return {
      f: (field.fields ?? []).map((sub) => ({ v: encodeValue(value.entries[sub.name] ?? null, sub, ts) })),
    };
  }
  if (value instanceof DuckDBTimestampTZValue) return encodeTimestamp(value.micros, ts);
  if (value instanceof DuckDBTimestampValue) return datetimeText(value.micros);
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('base64');
  if (value instanceof DuckDBDateValue || value instanceof DuckDBDecimalValue) return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  return String(value);
}

function encodeTimestamp(micros: bigint, ts: TimestampFormat): string {
  if (ts === 'int64') return micros.toString();
  if (ts === 'iso') return `${datetimeText(micros)}Z`;
  return `${floorSeconds(micros)}.${microsPart(micros)}`;
}

function floorSeconds(micros: bigint): bigint {
  const q = micros / 1_000_000n;
  return micros % 1_000_000n < 0n ? q - 1n : q;
}

function microsPart(micros: bigint): string {
  return String(micros - floorSeconds(micros) * 1_000_000n).padStart(6, '0');
}

/** YYYY-MM-DDTHH:MM:SS.ffffff (UTC wall time). */
function datetimeText(micros: bigint): string {
  const iso = new Date(Number(floorSeconds(micros)) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${microsPart(micros)}`;
}
