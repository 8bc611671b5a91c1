// Publishes webhook bodies to the events topic through the official Pub/Sub client, within a time budget: the
// webhook must answer well inside Customer.io's 4 s timeout, and a 503 is better than a timeout (a timeout looks like
// a failure to Customer.io too, but only after holding the stream for 4 s).

import { PubSub, type PublishOptions } from '@google-cloud/pubsub';

export interface OutgoingMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

export interface Publisher {
  /** Resolves with the message id once Pub/Sub has stored the message; rejects with PublishError otherwise. */
  publish(message: OutgoingMessage): Promise<string>;
  /** Sends what is queued and closes the client. */
  close(): Promise<void>;
}

export interface Batching {
  maxMessages: number;
  maxMilliseconds: number;
}

/**
 * Group commit, tuned with `npm run bench -- webhook`. A message that finds no Publish call of ours in flight is sent
 * at once, so a lone request waits for nobody; messages arriving while one is in flight are sent together when it
 * returns, or after `maxMilliseconds` if it is slow. Batches thus grow with load on their own. `maxMessages` is the
 * API's per-call limit.
 */
export const DEFAULT_BATCHING: Batching = { maxMessages: 1000, maxMilliseconds: 5 };

/** Total time a publish may take, client retries included, before the webhook gives up and answers 503. */
export const DEFAULT_PUBLISH_BUDGET_MS = 2500;

export interface PublisherOptions {
  projectId: string;
  topic: string;
  budgetMs?: number;
  batching?: Batching;
  /** `host:port` of a Pub/Sub emulator (tests, benchmarks). Otherwise the client honours PUBSUB_EMULATOR_HOST. */
  apiEndpoint?: string;
}

export class PublishError extends Error {
  override name = 'PublishError';
  constructor(
    message: string,
    /** True when the budget ran out; false when Pub/Sub (or the network) answered with an error. */
    readonly timedOut: boolean,
    /** gRPC status code from the client, when there is one. */
    readonly code: number | undefined,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const budgetMs = options.budgetMs ?? DEFAULT_PUBLISH_BUDGET_MS;
  const clientBudgetMs = Math.max(1, budgetMs - 300);
  const pubsub = new PubSub({
    projectId: options.projectId,
    ...(options.apiEndpoint !== undefined && { apiEndpoint: options.apiEndpoint }),
  });
  const publishOptions: PublishOptions = {
    batching: options.batching ?? DEFAULT_BATCHING,
    // The client retries Publish for up to 600 s by default, sleeping up to 60 s between attempts. Bound both: it
    // gives up a little before the budget (so its error, e.g. UNAVAILABLE, is what gets logged), and a retry sleep
    // overshoots that by at most 200 ms, instead of holding the message for a retry nobody waits for.
    gaxOpts: {
      timeout: clientBudgetMs,
      retry: {
        backoffSettings: {
          initialRetryDelayMillis: 50,
          retryDelayMultiplier: 2,
          maxRetryDelayMillis: 200,
          initialRpcTimeoutMillis: clientBudgetMs,
          rpcTimeoutMultiplier: 1,
          maxRpcTimeoutMillis: clientBudgetMs,
          totalTimeoutMillis: clientBudgetMs,
        },
      },
    },
  };
  const topic = pubsub.topic(options.topic, publishOptions);

  // topic.flush() sends the open batch now, then whatever accumulated meanwhile, one call at a time, until the queue
  // is empty. Its error needs no handling here: every message of the failed call gets it through its own callback.
  // After a failure, flushing pauses (messages go out on the batch timer) until a publish succeeds again, because
  // each failed flush leaves a listener on the queue until the next successful drain.
  let draining = false;
  let flushFailed = false;
  const drain = () => {
    draining = true;
    topic.flush().then(
      () => {
        draining = false;
        flushFailed = false;
      },
      () => {
        draining = false;
        flushFailed = true;
      },
    );
  };

  return {
    // One promise per message, callbacks below it: functions-framework runs each request in a domain, where every
    // promise also costs an async hook.
    publish(message) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new PublishError(`publish not acknowledged within ${budgetMs} ms`, true, undefined)),
          budgetMs,
        );
        const settle = (err?: unknown, messageId?: string | null) => {
          clearTimeout(timer);
          if (err) {
            const reason = err instanceof Error ? err.message : String(err);
            reject(new PublishError(`publish failed: ${reason}`, false, grpcCode(err), { cause: err }));
          } else {
            flushFailed = false;
            resolve(messageId ?? '');
          }
        };
        try {
          // Never an ordering key: an ordered queue stops publishing for its key after one failure.
          topic.publishMessage(message, settle);
          if (!draining && !flushFailed) drain();
        } catch (err) {
          settle(err); // invalid message (e.g. a non-string attribute), thrown synchronously
        }
      });
    },
    async close() {
      await topic.flush();
      await pubsub.close();
    },
  };
}
