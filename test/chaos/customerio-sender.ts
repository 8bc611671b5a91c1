// Sends events to the webhook the way Customer.io does (docs/customerio.md, "Delivery and retries"): signed, one
// event per POST, 4 s
// timeout, and any reply other than 2xx (or none) retried with exponential backoff until a 2xx, bounded here so a
// test ends. A request marked `retry: false` is sent once whatever the answer (the events the suite proves are
// never stored). Every attempt is recorded with its status and time, for the assertions and the summary.

import { sendEvents, type OutgoingEvent } from '../../scripts/cli/send';

export interface ChaosRequest {
  event: OutgoingEvent;
  /** The workspace whose webhook URL it is posted to. */
  workspace: string;
  /** `<workspace>/<event_id>`: the event's identity in the pipeline. */
  id: string;
  /** Resend until a 2xx (Customer.io's behaviour); false = send once. */
  retry: boolean;
  /** Signed with a key that is not the workspace's (the webhook answers 401): an unknown one, or the default one. */
  signWith?: 'unknown key' | 'default key';
}

export interface Attempt {
  /** HTTP status, or null when no reply came in time (timeout, connection refused). */
  status: number | null;
  startedAt: number;
  endedAt: number;
}

export interface RequestRecord {
  request: ChaosRequest;
  attempts: Attempt[];
  /** Some attempt got a 2xx. */
  accepted: boolean;
}

export const WRONG_KEY = 'not-the-signing-key';

export interface SenderOptions {
  /** Each workspace's webhook URL and signing key. */
  targets: Readonly<Record<string, { url: string; key: string }>>;
  /** Customer.io gives up on a reply after 4 s. */
  timeoutMs?: number;
  /** Attempts per request before the sender gives up (the real sender retries for 7 days). */
  maxAttempts?: number;
  /** First backoff; doubles per attempt up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export const isSuccess = (status: number | null): boolean => status !== null && status >= 200 && status < 300;

export class CustomerIoSender {
  readonly records: RequestRecord[] = [];
  private readonly options: Required<SenderOptions>;

  constructor(options: SenderOptions) {
    this.options = { timeoutMs: 4000, maxAttempts: 15, backoffMs: 250, maxBackoffMs: 4000, ...options };
  }

  /** Delivers one request, retrying as configured; resolves with its record. */
  async deliver(request: ChaosRequest): Promise<RequestRecord> {
    const record: RequestRecord = { request, attempts: [], accepted: false };
    this.records.push(record);
    const { targets, timeoutMs, maxAttempts, backoffMs, maxBackoffMs } = this.options;
    const { url, key: own } = targets[request.workspace]!;
    const key =
      request.signWith === 'unknown key'
        ? WRONG_KEY
        : request.signWith === 'default key'
          ? targets.default!.key
          : own;
    for (let n = 0; n < maxAttempts; n++) {
      const startedAt = Date.now();
      // Each attempt is signed afresh (a new X-CIO-Timestamp), as a later retry would be.
      const [result] = await sendEvents([request.event], { url, key, timeoutMs });
      record.attempts.push({ status: result.status, startedAt, endedAt: Date.now() });
      if (isSuccess(result.status)) {
        record.accepted = true;
        break;
      }
      if (!request.retry) break;
      await new Promise((r) => setTimeout(r, Math.min(maxBackoffMs, backoffMs * 2 ** n)));
    }
    return record;
  }

  /** Delivers `requests` in order of start, `concurrency` at a time; `onStarted(i)` before request i starts. */
  async deliverAll(
    requests: readonly ChaosRequest[],
    concurrency: number,
    onStarted?: (index: number) => void,
  ): Promise<RequestRecord[]> {
    const out: RequestRecord[] = new Array(requests.length);
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const index = next++;
        onStarted?.(index);
        out[index] = await this.deliver(requests[index]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
    return out;
  }
}
