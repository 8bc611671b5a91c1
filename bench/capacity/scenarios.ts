// The traffic shapes BENCHMARKS.md holds the deployment against, and the event mix assumed when none is given.

import type { Shape } from './model';

/**
 * Share of distinct events that need a Track call, and of requests that repeat an event: an assumption (hard
 * bounces and complaints are about 1% of a campaign's reporting events; Customer.io repeats a request only when our
 * reply was late or lost). Both are flags of `npm run capacity`.
 */
export const DEFAULT_MIX = { actionableShare: 0.01, duplicateShare: 0.02 } as const;

export interface Scenario {
  /** File name stem of its chart. */
  id: string;
  title: string;
  shape: Shape;
}

export const SCENARIOS: Scenario[] = [
  {
    id: 'steady-100',
    title: 'Steady 100 events/s for an hour',
    shape: { peakPerSecond: 100, durationSeconds: 3600, basePerSecond: 100, ...DEFAULT_MIX },
  },
  {
    id: 'burst-2000-cold',
    title: '2,000 events/s for 30 minutes into a cold deployment',
    shape: { peakPerSecond: 2000, durationSeconds: 1800, basePerSecond: 0, ...DEFAULT_MIX },
  },
  {
    id: 'burst-10000',
    title: '10,000 events/s for 30 minutes on top of 100 events/s',
    shape: { peakPerSecond: 10_000, durationSeconds: 1800, basePerSecond: 100, ...DEFAULT_MIX },
  },
  {
    id: 'bounce-storm',
    title: 'Bounce storm: 2,000 events/s for 30 minutes, 20% of them bounces and complaints',
    shape: {
      peakPerSecond: 2000,
      durationSeconds: 1800,
      basePerSecond: 0,
      ...DEFAULT_MIX,
      actionableShare: 0.2,
    },
  },
];
