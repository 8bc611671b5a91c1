// The capacity model's inputs, taken from one `npm run bench` run's figures (the runner saves them to
// bench/capacity/measured.json beside BENCHMARKS.md).

import type { EndToEndFigures, ProcessorFigures, WebhookFigures } from '../figures';
import { measuredPerEvent } from '../report/document';
import type { CapacityFigures } from './measured';

export function capacityFigures(
  measuredAt: Date,
  webhook: WebhookFigures,
  processor: ProcessorFigures,
  e2e: EndToEndFigures,
): CapacityFigures {
  const variant = (label: string) => {
    const found = processor.find((v) => v.label.startsWith(label));
    if (found === undefined) throw new Error(`processor benchmark has no "${label}" variant`);
    return found.figures;
  };
  const fresh = variant('micro-batched, no actions');
  const duplicate = variant('duplicates');
  const mixed = variant('micro-batched, 10%');
  const perEvent = measuredPerEvent(webhook, e2e);
  return {
    measuredAt: measuredAt.toISOString(),
    cpuMs: { ...perEvent.cpuMs },
    duplicateCost: fresh.eventsPerSecond / duplicate.eventsPerSecond,
    firestore: {
      fresh: { reads: perEvent.firestoreReads, writes: perEvent.firestoreWrites },
      duplicate: { reads: duplicate.reads, writes: duplicate.writes },
    },
    insertAllPer1000: fresh.insertAllPer1000,
    trackCallsPerActionable: mixed.trackPerActionable ?? 1,
    perEvent,
  };
}
