// Where `cio-webhooks smoke` looks for the processor's line about its event: the local stack's processor log file,
// or Cloud Logging (entries.list over REST, with the caller's Google credentials) for a deployment. Both return the
// processor's per-delivery lines for one event_id (shared/processor/process-push.ts writes exactly one per delivery).
import fs from 'node:fs';

export interface ProcessorLine {
  /** processed, duplicate, retryable_failure, in_progress_nack, rejected, reject_failed */
  outcome: string;
  severity: string | undefined;
  /** The processor's own time for that delivery. */
  latencyMs: number | undefined;
  /** The line's error, when it has one (masked by the processor's logger). */
  error: string | undefined;
}

export interface ProcessorLog {
  /** Where the lines are read, for messages. */
  label: string;
  /** The processor's lines about `eventId` so far, oldest first. */
  linesFor(eventId: string): Promise<ProcessorLine[]>;
}

type Payload = Record<string, unknown>;

function toLine(payload: Payload, severity: unknown): ProcessorLine | undefined {
  if (typeof payload.outcome !== 'string') return undefined;
  return {
    outcome: payload.outcome,
    severity: typeof severity === 'string' ? severity : undefined,
    latencyMs: typeof payload.latency_ms === 'number' ? payload.latency_ms : undefined,
    error: typeof payload.error === 'string' ? payload.error : undefined,
  };
}

/** The local stack's processor log: one JSON object per line, as the function writes it to stdout. */
export function localProcessorLog(file: string): ProcessorLog {
  return {
    label: file,
    async linesFor(eventId) {
      let text: string;
      try {
        text = await fs.promises.readFile(file, 'utf8');
      } catch {
        return [];
      }
      const lines: ProcessorLine[] = [];
      for (const raw of text.split('\n')) {
        if (!raw.startsWith('{') || !raw.includes(eventId)) continue;
        try {
          const entry = JSON.parse(raw) as Payload;
          const line = entry.event_id === eventId ? toLine(entry, entry.severity) : undefined;
          if (line !== undefined) lines.push(line);
        } catch {
          // not a log entry of ours
        }
      }
      return lines;
    },
  };
}

/** An authorised HTTP request with the caller's credentials (google-auth-library's `request`, or a stand-in). */
export type AuthorizedRequest = (options: {
  url: string;
  method: 'POST';
  data: Record<string, unknown>;
}) => Promise<{ data: unknown }>;

export interface CloudProcessorLogOptions {
  projectId: string;
  /** The processor's Cloud Run service (the function's name). */
  service: string;
  /** Lines older than this are not searched (keeps the query to the last minutes). */
  since: Date;
  request: AuthorizedRequest;
  /** Default https://logging.googleapis.com */
  endpoint?: string;
}

/** Cloud Logging's entries.list, filtered to the processor's service and the event. */
export function cloudProcessorLog(options: CloudProcessorLogOptions): ProcessorLog {
  const endpoint = (options.endpoint ?? 'https://logging.googleapis.com').replace(/\/$/, '');
  return {
    label: `Cloud Logging, service ${options.service} in ${options.projectId}`,
    async linesFor(eventId) {
      const filter = [
        'resource.type="cloud_run_revision"',
        `resource.labels.service_name="${options.service}"`,
        `jsonPayload.event_id="${eventId}"`,
        `timestamp>="${options.since.toISOString()}"`,
      ].join(' AND ');
      const response = await options.request({
        url: `${endpoint}/v2/entries:list`,
        method: 'POST',
        data: {
          resourceNames: [`projects/${options.projectId}`],
          filter,
          orderBy: 'timestamp asc',
          pageSize: 50,
        },
      });
      const entries = (response.data as { entries?: Array<{ jsonPayload?: Payload; severity?: unknown }> })
        .entries;
      return (entries ?? []).flatMap((e) => {
        const line = e.jsonPayload === undefined ? undefined : toLine(e.jsonPayload, e.severity);
        return line === undefined ? [] : [line];
      });
    },
  };
}
