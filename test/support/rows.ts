// Rows read back from the local warehouse (DuckDB values) in the JSON shapes the processor inserted, so tests
// compare like with like: TIMESTAMP → ISO string, INTEGER → number, BYTES → base64, JSON → text.
export function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (value instanceof Date) out[key] = value.toISOString();
    else if (typeof value === 'bigint') out[key] = Number(value);
    else if (Buffer.isBuffer(value) || value instanceof Uint8Array)
      out[key] = Buffer.from(value).toString('base64');
    else out[key] = value;
  }
  return out;
}
