// Query parameters (jobs.query / jobs.insert `queryParameters`) as DuckDB values with explicit types, so that an
// INT64 parameter is a BIGINT in DuckDB (not the HUGEINT a bare bigint would become).
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBListValue,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  DuckDBVarCharType,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { convertScalar, InvalidValue } from './rows';
import { BqHttpError, NUMERIC_SCALE, type BqType } from './types';

interface QueryParameter {
  name?: string;
  parameterType?: { type?: string; arrayType?: { type?: string } };
  parameterValue?: { value?: unknown; arrayValues?: { value?: unknown }[] };
}

const PARAM_TYPES: Record<string, { bq: BqType; duck: DuckDBType }> = {
  STRING: { bq: 'STRING', duck: VARCHAR },
  INT64: { bq: 'INTEGER', duck: BIGINT },
  INTEGER: { bq: 'INTEGER', duck: BIGINT },
  FLOAT64: { bq: 'FLOAT', duck: DOUBLE },
  FLOAT: { bq: 'FLOAT', duck: DOUBLE },
  BOOL: { bq: 'BOOLEAN', duck: BOOLEAN },
  BOOLEAN: { bq: 'BOOLEAN', duck: BOOLEAN },
  TIMESTAMP: { bq: 'TIMESTAMP', duck: TIMESTAMPTZ },
  DATE: { bq: 'DATE', duck: DATE },
  JSON: { bq: 'JSON', duck: DuckDBVarCharType.create('JSON') },
  BYTES: { bq: 'BYTES', duck: BLOB },
  NUMERIC: { bq: 'NUMERIC', duck: DECIMAL(38, NUMERIC_SCALE) },
};

export interface DuckParams {
  values: DuckDBValue[] | Record<string, DuckDBValue>;
  types: DuckDBType[] | Record<string, DuckDBType>;
}

export function toDuckParams(raw: unknown, mode: unknown): DuckParams | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const converted = (raw as QueryParameter[]).map((p, i) => ({
    name: p.name ?? `${i + 1}`,
    ...convertParam(p),
  }));
  // The client sends the mode in lower case ('named'); the REST reference spells it NAMED.
  const named = typeof mode === 'string' ? mode.toUpperCase() === 'NAMED' : undefined;
  if (named === true || (named === undefined && converted.every((p, i) => p.name !== `${i + 1}`))) {
    return {
      values: Object.fromEntries(converted.map((p) => [p.name, p.value])),
      types: Object.fromEntries(converted.map((p) => [p.name, p.type])),
    };
  }
  return { values: converted.map((p) => p.value), types: converted.map((p) => p.type) };
}

function convertParam(p: QueryParameter): { value: DuckDBValue; type: DuckDBType } {
  const typeName = p.parameterType?.type ?? 'STRING';
  const label = p.name ?? 'positional parameter';
  if (typeName === 'ARRAY') {
    const element = lookup(p.parameterType?.arrayType?.type ?? 'STRING', label);
    const items = (p.parameterValue?.arrayValues ?? []).map((v) => scalar(element.bq, label, v.value));
    return { value: new DuckDBListValue(items), type: LIST(element.duck) };
  }
  const t = lookup(typeName, label);
  const v = p.parameterValue?.value;
  return { value: v === undefined || v === null ? null : scalar(t.bq, label, v), type: t.duck };
}

function lookup(typeName: string, label: string): { bq: BqType; duck: DuckDBType } {
  const t = PARAM_TYPES[typeName];
  if (!t)
    throw new BqHttpError(400, 'invalid', `Parameter ${label}: type ${typeName} is not supported locally.`);
  return t;
}

function scalar(type: BqType, label: string, v: unknown): DuckDBValue {
  try {
    return convertScalar(type, label, v);
  } catch (e) {
    if (e instanceof InvalidValue) throw new BqHttpError(400, 'invalid', `Parameter ${label}: ${e.message}`);
    throw e;
  }
}
