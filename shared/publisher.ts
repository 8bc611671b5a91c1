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
 * Tuned with `npm run bench -- webhook` (figures in the report of issue 2): a lone request waits at most
 * `maxMilliseconds` for company, and concurrent requests arriving within that window share one Publish call, which
 * is what keeps throughput up under load. Larger windows add their full length to every lone request's latency.
 */
export const DEFAULT_BATCHING: Batching = { maxMessages: 100, maxMilliseconds: 2 };

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
  const pubsub = new PubSub({
    projectId: options.projectId,
    ...(options.apiEndpoint !== undefined && { apiEndpoint: options.apiEndpoint }),
  });
  const publishOptions: PublishOptions = {
    batching: options.batching ?? DEFAULT_BATCHING,
    // The client retries Publish for up to 600 s by default. A gax `timeout` caps each attempt AND the total of all
    // retries, so the client stops within the budget too instead of retrying for a request that already got 503.
    gaxOpts: { timeout: budgetMs },
  };
  const topic = pubsub.topic(options.topic, publishOptions);

  return {
    async publish(message) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new PublishError(`publish not acknowledged within ${budgetMs} ms`, true, undefined)),
          budgetMs,
        );
      });
      try {
        // Never an ordering key: an ordered queue stops publishing for its key after one failure.
        return await Promise.race([topic.publishMessage(message), deadline]);
      } catch (err) {
        if (err instanceof PublishError) throw err;
        const reason = err instanceof Error ? err.message : String(err);
        throw new PublishError(`publish failed: ${reason}`, false, grpcCode(err), { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await topic.flush();
      await pubsub.close();
    },
  };
}
