// Publishes webhook bodies to the events topic through the official Pub/Sub client, within a time budget: the
// webhook must answer well inside Customer.io's 4 s timeout, and a 503 is better than a timeout (a timeout looks like
// a failure to Customer.io too, but only after holding the stream for 4 s).
//
// The batching is ours, on the generated v1 PublisherClient: the handwritten Topic publisher costs more CPU per
// message than the whole rest of the webhook (it deep-copies and walks every request, keeps a batch timer and
// promises per flush), and it batches on a timer where we want a group commit (below).
//
// Callbacks, not promises, and Publish calls made outside the caller's domain: functions-framework runs each request
// in a node:domain, where every promise, timer and gRPC callback also costs async hooks that enter and leave it. A
// Publish call serves many requests, so its machinery belongs to none of them (an error inside it must not be
// reported as one request's crash either).

import type { Domain } from 'node:domain';
import { PubSub, v1, type CallOptions } from '@google-cloud/pubsub';
import { MessageBatch } from './message-batch';

export interface OutgoingMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

/** Called once: with the message id once Pub/Sub has stored the message, or with the PublishError. */
export type PublishCallback = (err: PublishError | undefined, messageId?: string) => void;

export interface Publisher {
  /** `callback` runs outside the caller's domain, so it must not throw: nothing would answer that request. */
  publish(message: OutgoingMessage, callback: PublishCallback): void;
  /** Sends what is queued, waits for the calls in flight and closes the client. */
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

/**
 * A Publish request may carry 10 MB (10^7 bytes); this leaves the margin for framing that the Pub/Sub client keeps.
 * It is also the largest message the webhook publishes: one alone in its call (see shared/webhook/oversize.ts).
 */
export const MAX_MESSAGE_BYTES = 9 * 1024 * 1024;

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

interface Pending {
  message: OutgoingMessage;
  /** Cleared once called: a message that timed out may still get its call's answer later. */
  callback: PublishCallback | undefined;
}

function settle(pending: Pending, err: PublishError | undefined, messageId?: string): void {
  const { callback } = pending;
  pending.callback = undefined;
  callback?.(err, messageId);
}

/** Runs `fn` with no domain active, so what it creates (timers, the gRPC call) is bound to no request. */
function outsideDomain(fn: () => void): void {
  const active = (process as { domain?: Domain }).domain;
  if (!active) return fn();
  active.exit();
  try {
    fn();
  } finally {
    active.enter();
  }
}

/** An upper bound of the message's size in the request: UTF-8 needs at most 3 bytes per UTF-16 unit. */
export function messageBytes(message: OutgoingMessage): number {
  let bytes = message.data.length;
  for (const key in message.attributes) bytes += 3 * (key.length + message.attributes[key].length) + 8;
  return bytes;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const budgetMs = options.budgetMs ?? DEFAULT_PUBLISH_BUDGET_MS;
  const { maxMessages, maxMilliseconds } = options.batching ?? DEFAULT_BATCHING;
  const clientBudgetMs = Math.max(1, budgetMs - 300);
  // PubSub works out the endpoint (PUBSUB_EMULATOR_HOST, insecure credentials for an emulator); the generated client
  // takes its configuration as is (PubSub#getClientConfig, resolved at once since the project id is given).
  const { options: clientConfig } = new PubSub({
    projectId: options.projectId,
    ...(options.apiEndpoint !== undefined && { apiEndpoint: options.apiEndpoint }),
  });
  // The same object PubSub hands its own v1 clients; its type omits the gRPC channel options' index signature.
  const newClient = () =>
    new v1.PublisherClient(clientConfig as ConstructorParameters<typeof v1.PublisherClient>[0]);
  let client = newClient();
  // The client builds its gRPC stub on first use, which can fail (no Google credentials found). It then keeps the
  // failed stub for good, and each publish() call rethrows that failure where nothing catches it: an unhandled
  // rejection, which functions-framework answers by exiting. So a call is made only once the stub exists; a failed
  // stub fails its batch (503) and the next batch gets a new client, so a passing fault does not last.
  let stubReady = false;
  const topic = `projects/${options.projectId}/topics/${options.topic}`;
  // The client retries Publish for up to 600 s by default, sleeping up to 60 s between attempts. Bound both: it
  // gives up a little before the budget (so its error, e.g. UNAVAILABLE, is what gets logged), and a retry sleep
  // overshoots that by at most 200 ms, instead of holding the message for a retry nobody waits for.
  const callOptions: CallOptions = {
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
  };

  const batch = new MessageBatch<Pending>({ maxMessages, maxBytes: MAX_MESSAGE_BYTES });
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let idle: Array<() => void> = [];

  const settled = () => {
    if (inFlight > 0 || batch.length > 0) return;
    const waiting = idle;
    idle = [];
    for (const resume of waiting) resume();
  };

  const send = () => outsideDomain(sendQueued);

  function sendQueued(): void {
    clearTimeout(timer);
    timer = undefined;
    // A message waits at most `maxMilliseconds` before its call starts, so the oldest one's budget bounds them all.
    const expiresIn = batch.oldestAt + budgetMs - performance.now();
    const sending = batch.take();
    inFlight++;
    // One timer per call, not per message: the call's answer may never come (a peer that accepts and stays silent).
    const expiry = setTimeout(() => {
      const err = new PublishError(`publish not acknowledged within ${budgetMs} ms`, true, undefined);
      for (const pending of sending) settle(pending, err);
    }, expiresIn);
    const done = (err: unknown, messageIds?: readonly string[] | null) => {
      clearTimeout(expiry);
      inFlight--;
      if (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const failure = new PublishError(`publish failed: ${reason}`, false, grpcCode(err), { cause: err });
        for (const pending of sending) settle(pending, failure);
      } else {
        for (let i = 0; i < sending.length; i++) settle(sending[i], undefined, messageIds?.[i] ?? '');
      }
      if (batch.length > 0 && inFlight === 0) send();
      else settled();
    };
    const call = (ready: v1.PublisherClient) => {
      try {
        // Never an ordering key: an ordered queue stops publishing for its key after one failure.
        ready.publish({ topic, messages: sending.map((p) => p.message) }, callOptions, (err, response) =>
          done(err, response?.messageIds),
        );
      } catch (err) {
        done(err); // an invalid request (e.g. a non-string attribute), thrown synchronously
      }
    };
    const current = client;
    if (stubReady) return call(current);
    current.initialize().then(
      () => {
        stubReady = true; // only a failed client is ever replaced, so `current` is still the client
        call(current);
      },
      (err: unknown) => {
        // Batches waiting on the same failed stub: the first one replaces the client.
        if (client === current) client = newClient();
        done(err);
      },
    );
  }

  return {
    publish(message, callback) {
      const bytes = messageBytes(message);
      if (!batch.canFit(bytes)) send();
      batch.add({ message, callback }, bytes, performance.now());
      if (inFlight === 0 || batch.isFull()) send();
      else if (timer === undefined) outsideDomain(() => (timer = setTimeout(send, maxMilliseconds)));
    },
    async close() {
      if (batch.length > 0) send();
      await new Promise<void>((resolve) => {
        idle.push(resolve);
        settled();
      });
      await client.close();
    },
  };
}
