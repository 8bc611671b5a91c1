// The benchmark figures the capacity model runs on, kept in bench/capacity/measured.json so that `npm run capacity`
// works on a fresh clone: `npm run bench` rewrites the file (from-bench.ts) in the run that writes BENCHMARKS.md.

import fs from 'node:fs';
import path from 'node:path';
import type { MeasuredPerEvent } from '../report/cost';
import { projectRoot } from '../../scripts/local/stack-state';

export interface OpsPerDelivery {
  reads: number;
  writes: number;
}

export interface CapacityFigures {
  /** ISO time of the `npm run bench` run the figures come from. */
  measuredAt: string;
  /** CPU time per request of each function's process under load (end-to-end burst), ms. */
  cpuMs: { webhook: number; processor: number };
  /**
   * Processor cost of a duplicate (the second delivery of a finished event) relative to a fresh event: the
   * processor benchmark's fresh events/s over its duplicates' events/s.
   */
  duplicateCost: number;
  /** Firestore document operations per delivery. */
  firestore: { fresh: OpsPerDelivery; duplicate: OpsPerDelivery };
  /** insertAll requests per 1000 events (micro-batched). */
  insertAllPer1000: number;
  /** Track API calls per actionable event. */
  trackCallsPerActionable: number;
  /** The cost model's inputs (bench/report/cost.ts), from the same run. */
  perEvent: MeasuredPerEvent;
}

/** In the source tree, beside this module (dist/ holds only compiled code). */
export const measuredFile = (): string => path.join(projectRoot(), 'bench', 'capacity', 'measured.json');

/** Reads the committed figures, refusing a file whose numbers are missing or not positive. */
export function loadCapacityFigures(file = measuredFile()): CapacityFigures {
  if (!fs.existsSync(file))
    throw new Error(`no measured figures at ${file}: run \`npm run bench\` to measure them`);
  const figures = JSON.parse(fs.readFileSync(file, 'utf8')) as CapacityFigures;
  const required: Array<[string, unknown]> = [
    ['cpuMs.webhook', figures.cpuMs?.webhook],
    ['cpuMs.processor', figures.cpuMs?.processor],
    ['duplicateCost', figures.duplicateCost],
    ['firestore.fresh.writes', figures.firestore?.fresh?.writes],
    ['perEvent.pubsubMessageBytes', figures.perEvent?.pubsubMessageBytes],
  ];
  for (const [name, value] of required) {
    if (typeof value !== 'number' || !(value > 0)) {
      throw new Error(
        `${file}: ${name} must be a positive number (got ${JSON.stringify(value)}): run \`npm run bench\``,
      );
    }
  }
  return figures;
}

export function saveCapacityFigures(figures: CapacityFigures, file = measuredFile()): void {
  fs.writeFileSync(file, JSON.stringify(figures, null, 2) + '\n');
}
