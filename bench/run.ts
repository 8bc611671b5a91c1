// `npm run bench`: runs every benchmark in one process tree, one after another (they would skew each other in
// parallel on a small machine), prints their figures, and writes BENCHMARKS.md (repository root) with its charts in
// bench/charts/, the cost model and the capacity model (whose inputs it saves to bench/capacity/measured.json). `npm run bench -- <name>...` runs only the named benchmarks and prints them; the
// report is left alone, since it needs every benchmark's figures. Each benchmark starts and stops what it needs.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Benchmark } from './figures';

const ROOT = path.resolve(__dirname, '..', '..');

const benchmarks: Array<() => Promise<Benchmark>> = [
  // Each entry: () => import('./<area>.bench').then((m) => m.benchmark),
  () => import('./webhook.bench').then((m) => m.benchmark),
  () => import('./processor.bench').then((m) => m.benchmark),
  () => import('./e2e.bench').then((m) => m.benchmark),
  () => import('./capacity.bench').then((m) => m.benchmark),
  () => import('./completeness.bench').then((m) => m.benchmark),
];

/** Runs one benchmark and shows its tables at once on stderr (stdout gets the whole report at the end). */
async function section<T extends { markdown: string }>(name: string, measure: () => Promise<T>): Promise<T> {
  const result = await measure();
  console.error(`\n## ${name}\n\n${result.markdown}\n`);
  return result;
}

async function report(): Promise<void> {
  const [
    { measureWebhook },
    { measureProcessor },
    { measureEndToEnd },
    { measureCapacityValidation },
    { renderReport, CHARTS_DIR },
    { capacityFigures },
    { saveCapacityFigures },
    { readDeploymentSettings },
    { measureCompleteness },
  ] = await Promise.all([
    import('./webhook.bench'),
    import('./processor.bench'),
    import('./e2e.bench'),
    import('./capacity.bench'),
    import('./report/document'),
    import('./capacity/from-bench'),
    import('./capacity/measured'),
    import('./capacity/terraform'),
    import('./completeness.bench'),
  ]);
  const startedAt = new Date();
  const before = os.loadavg();
  const webhook = await section('webhook', measureWebhook);
  const processor = await section('processor', measureProcessor);
  const e2e = await section('e2e', measureEndToEnd);
  // The capacity model runs on this run's figures (saved for `npm run capacity`), checked on the local stack.
  const figures = capacityFigures(startedAt, webhook.figures, processor.figures, e2e.figures);
  saveCapacityFigures(figures);
  const validation = await section('capacity', measureCapacityValidation);
  const completeness = await section('completeness', measureCompleteness);
  const input = {
    startedAt,
    minutes: (Date.now() - startedAt.getTime()) / 60_000,
    machine: {
      nproc: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: os.totalmem() / 2 ** 30,
      node: process.version,
      kernel: os.release(),
    },
    load: { before, after: os.loadavg() },
    webhook,
    processor,
    e2e,
    capacity: { figures, settings: await readDeploymentSettings(), validation },
    completeness,
  };
  // The raw figures of the last full run, to re-render the report or look closer (.local is not committed).
  fs.mkdirSync(path.join(ROOT, '.local'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, '.local', 'bench-figures.json'), JSON.stringify(input));
  const { markdown, charts } = renderReport(input);
  fs.mkdirSync(path.join(ROOT, CHARTS_DIR), { recursive: true });
  for (const [file, svg] of Object.entries(charts)) fs.writeFileSync(path.join(ROOT, CHARTS_DIR, file), svg);
  fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), markdown);
  console.log(markdown);
  console.error(`wrote BENCHMARKS.md and ${Object.keys(charts).length} charts in ${CHARTS_DIR}/`);
}

async function main(): Promise<void> {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const only = process.argv.slice(2);
  if (only.length === 0) return report();
  for (const load of benchmarks) {
    const bench = await load();
    if (!only.includes(bench.name)) continue;
    console.log(`\n## ${bench.name}\n`);
    console.log(await bench.run());
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
