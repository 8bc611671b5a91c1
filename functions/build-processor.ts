// The processor's wiring, once per instance: the Google clients, the ledger, the Track client and the warehouse
// writers, each given the slice of the configuration it needs. functions/processor.ts serves it; tests and benchmarks
// build the same wiring against the emulators.
import { Firestore } from '@google-cloud/firestore';
import type { ProcessorConfig, WorkspaceTrack } from '../shared/config';
import { EngagementLimiter } from '../shared/customerio/action-policy';
import { TrackActions } from '../shared/customerio/track';
import type { Logger } from '../shared/log';
import { Ledger } from '../shared/processor/ledger';
import { processPush, processingBudget, type PushResult } from '../shared/processor/process-push';
import { WarehouseWriter, createBigQueryClient, type BatchOptions } from '../shared/warehouse/writer';
import { DEFAULT_WORKSPACE } from '../shared/workspace';

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
  // One Track client, rate budget and engagement limiter per workspace: one workspace's 429s, outage or revoked key
  // never slow or fail another's events.
  const newTrack = (settings: WorkspaceTrack) =>
    new TrackActions(
      { ...settings, trackMaxRps: config.trackMaxRps, requestTimeoutMs: budget.trackRequestTimeoutMs },
      new EngagementLimiter(),
    );
  const tracks = new Map<string, TrackActions>([
    [
      DEFAULT_WORKSPACE,
      newTrack({ track: config.track, region: config.region, trackApiUrl: config.trackApiUrl }),
    ],
  ]);
  for (const [label, settings] of Object.entries(config.workspaceTrack))
    tracks.set(label, newTrack(settings));
  const dry = [...tracks].filter(([, t]) => t.dryRun).map(([label]) => label);
  if (dry.length > 0) {
    logger.warn('Track API credentials not set: dry-run, actions are decided and recorded, not sent', {
      workspaces: dry,
      variables: ['CIO_SITE_ID', 'CIO_TRACK_API_KEY', 'CIO_WORKSPACE_TRACK_CREDENTIALS'],
    });
  }
  const trackFor = (workspace: string): TrackActions => {
    let track = tracks.get(workspace);
    if (track === undefined) {
      // A workspace this instance was not told about (CIO_WORKSPACES unset): the webhook verified its events with
      // that workspace's keys, but no credentials are known here. Said once per workspace.
      track = newTrack({ track: undefined, region: 'us', trackApiUrl: undefined });
      tracks.set(workspace, track);
      logger.warn('Track API credentials not set for this workspace: dry-run', {
        workspace,
        variables: ['CIO_WORKSPACE_TRACK_CREDENTIALS'],
      });
    }
    return track;
  };
  const deps = {
    ledger: new Ledger(firestore, {
      collection: config.dedupeCollection,
      leaseSeconds: config.dedupeLeaseSeconds,
      ttlDays: config.dedupeTtlDays,
    }),
    trackFor,
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
