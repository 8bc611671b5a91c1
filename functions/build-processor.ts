// The processor's wiring, once per instance: the Google clients, the ledger, the Track client and the warehouse
// writers, each given the slice of the configuration it needs. functions/processor.ts serves it; tests and benchmarks
// build the same wiring against the emulators.
import { Firestore } from '@google-cloud/firestore';
import type { ProcessorConfig } from '../shared/config';
import { EngagementLimiter } from '../shared/customerio/action-policy';
import { TrackActions } from '../shared/customerio/track';
import type { Logger } from '../shared/log';
import { Ledger } from '../shared/processor/ledger';
import { processPush, processingBudget, type PushResult } from '../shared/processor/process-push';
import { WarehouseWriter, createBigQueryClient, type BatchOptions } from '../shared/warehouse/writer';

export interface Processor {
  handle(body: unknown, rawBody: Buffer | undefined): Promise<PushResult>;
  close(): Promise<void>;
}

export interface ProcessorTuning {
  /** Batching of the events table writer (benchmarks compare a one-row-per-request variant). */
  batch?: Partial<BatchOptions>;
}

export function buildProcessor(
  config: ProcessorConfig,
  logger: Logger,
  tuning: ProcessorTuning = {},
): Processor {
  const budget = processingBudget(config.dedupeLeaseSeconds);
  const firestore = new Firestore({ projectId: config.projectId });
  const dataset = createBigQueryClient(config.projectId, budget.bigQueryTimeoutMs).dataset(config.bqDataset);
  const track = new TrackActions(
    {
      track: config.track,
      region: config.region,
      trackApiUrl: config.trackApiUrl,
      trackMaxRps: config.trackMaxRps,
      requestTimeoutMs: budget.trackRequestTimeoutMs,
    },
    new EngagementLimiter(),
  );
  if (track.dryRun) {
    logger.warn('Track API credentials not set: dry-run, actions are decided and recorded, not sent', {
      variables: ['CIO_SITE_ID', 'CIO_TRACK_API_KEY'],
    });
  }
  const deps = {
    ledger: new Ledger(firestore, {
      collection: config.dedupeCollection,
      leaseSeconds: config.dedupeLeaseSeconds,
      ttlDays: config.dedupeTtlDays,
    }),
    track,
    policy: {
      suppressOn: config.suppressOn,
      engagementAttributes: config.engagementAttributes,
      spamUnsubscribe: config.spamUnsubscribe,
    },
    events: new WarehouseWriter(dataset.table(config.bqTable), tuning.batch),
    rejects: new WarehouseWriter(dataset.table(config.bqRejectsTable)),
    logger,
    deadlineMs: budget.deadlineMs,
  };
  return {
    handle: (body, rawBody) => processPush(deps, body, rawBody),
    close: () => firestore.terminate(),
  };
}
