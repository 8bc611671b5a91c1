// `npm run bench`: runs every benchmark in one process tree, one after another (they would skew each other in
// parallel on a small machine), and prints their figures. Each benchmark starts and stops what it needs.

export interface Benchmark {
  name: string;
  /** Runs the benchmark and returns its figures as markdown (tables), also printed as it goes. */
  run(): Promise<string>;
}

const benchmarks: Array<() => Promise<Benchmark>> = [
  // Each entry: () => import('./<area>.bench').then((m) => m.benchmark),
  () => import('./webhook.bench').then((m) => m.benchmark),
  () => import('./processor.bench').then((m) => m.benchmark),
];

async function main(): Promise<void> {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const only = process.argv.slice(2);
  for (const load of benchmarks) {
    const bench = await load();
    if (only.length > 0 && !only.includes(bench.name)) continue;
    console.log(`\n## ${bench.name}\n`);
    console.log(await bench.run());
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
