// The offline provider-schema lint (scripts/terraform-lint/lint-tf.mjs) run on terraform/ with the generated schema
// plus terraform-schema-supplement.json: the types the generated schema names without their arguments.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, TF_DIR, run, tempDir } from './terraform-config';

const LINTER = path.join(ROOT, 'scripts', 'terraform-lint', 'lint-tf.mjs');
const BASE = path.join(ROOT, 'scripts', 'terraform-lint', 'google-provider-schema.json');
const SUPPLEMENT = path.join(__dirname, 'terraform-schema-supplement.json');

export interface LintResult {
  status: number | null;
  errors: string[];
  warnings: string[];
  summary: string;
}

export function lintTerraform(dir: string = TF_DIR): LintResult {
  const base = JSON.parse(readFileSync(BASE, 'utf8')) as { resources: Record<string, unknown> };
  const supplement = JSON.parse(readFileSync(SUPPLEMENT, 'utf8')) as { resources: Record<string, unknown> };
  const tmp = tempDir('lint');
  try {
    const schema = path.join(tmp, 'schema.json');
    writeFileSync(
      schema,
      JSON.stringify({ ...base, resources: { ...base.resources, ...supplement.resources } }),
    );
    const result = run(process.execPath, [LINTER, dir, '--recursive', '--schema', schema], { cwd: ROOT });
    const lines = result.stdout.split('\n');
    return {
      status: result.status,
      errors: lines.filter((l) => l.includes(': error: ')),
      warnings: lines.filter((l) => l.includes(': warning: ')),
      summary: result.stderr.trim(),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
