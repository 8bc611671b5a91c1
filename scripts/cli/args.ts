// Argument parsing for the `cio-webhooks` commands: node's own util.parseArgs (strict: unknown flags are errors),
// with errors turned into one-line UsageErrors and helpers for the numeric options the commands take.

import { parseArgs } from 'node:util';

/** A wrong command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type ParsedValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface ParsedArgs {
  values: ParsedValues;
  positionals: string[];
}

export function parseCommandLine(
  argv: readonly string[],
  options: Record<string, OptionSpec>,
  allowPositionals = false,
): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals,
      strict: true,
    });
    return { values: values as ParsedValues, positionals };
  } catch (err) {
    // util.parseArgs explains itself well but sometimes over several sentences: keep the first line.
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, ''));
  }
}

export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function numberOption(
  values: ParsedValues,
  name: string,
  range: { min: number; max: number; integer?: boolean },
): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const wanted = range.integer === false ? 'a number' : 'a whole number';
  if (raw.trim() === '' || !Number.isFinite(value) || (range.integer !== false && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${wanted}, got "${raw}"`);
  }
  if (value < range.min || value > range.max) {
    throw new UsageError(`--${name} must be between ${range.min} and ${range.max}, got ${raw}`);
  }
  return value;
}

export function portOption(values: ParsedValues, name: string): number | undefined {
  return numberOption(values, name, { min: 1, max: 65535 });
}

/** Where a command writes and what it knows about its surroundings; tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Progress bars only on a terminal; plain periodic lines otherwise. */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** The project's .local folder (stack state, development key). */
  localDir: string;
}
