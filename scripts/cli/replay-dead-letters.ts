// `cio-webhooks replay-dead-letters`: move messages from a dead-letter subscription back onto the events topic,
// once whatever made them fail is fixed. Each dead letter is acknowledged only after its republish was acked by
// Pub/Sub, so an interrupted replay loses nothing (at worst a message is replayed twice, which the ledger absorbs).

import { createHash } from 'node:crypto';
import { PubSub, v1, type protos } from '@google-cloud/pubsub';
import { readStackState } from '../local/stack-state';
import { numberOption, parseCommandLine, stringOption, UsageError, type Io } from './args';

export const REPLAY_HELP = `Usage: cio-webhooks replay-dead-letters [options]

Pulls messages from the dead-letter subscription and republishes each (same data, same attributes) to the events
topic, acknowledging a dead letter only after its republish succeeded.

Options:
  --dry-run              list what would be replayed; leave every dead letter where it is
  --project ID           a real Google Cloud project (default: the running local stack's emulator).
                         With $PUBSUB_EMULATOR_HOST set, that emulator is used instead of Pub/Sub
  --subscription NAME    dead-letter subscription (default: the local stack's, else cio-events-dead-letter)
  --topic NAME           topic to republish to (default: the local stack's, else cio-events)
  --max N                replay at most N messages
  -h, --help             show this help`;

/** Attributes Pub/Sub adds when it dead-letters a message; they describe that death, not the event. */
const DEAD_LETTER_ATTRIBUTE = /^CloudPubSubDeadLetterSource/;

export interface DeadLetter {
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
  deliveryCount: string | undefined;
  publishTime: string | undefined;
}

export interface ReplayOptions {
  subscription: string;
  topic: string;
  dryRun: boolean;
  max?: number;
  onMessage?: (message: DeadLetter, outcome: 'replayed' | 'listed' | 'failed', error?: string) => void;
}

export interface ReplayResult {
  replayed: number;
  listed: number;
  failed: number;
}

const BATCH = 100;

function toDeadLetter(message: protos.google.pubsub.v1.IPubsubMessage): DeadLetter {
  const all = message.attributes ?? {};
  const attributes = Object.fromEntries(Object.entries(all).filter(([k]) => !DEAD_LETTER_ATTRIBUTE.test(k)));
  const seconds = Number(message.publishTime?.seconds ?? NaN);
  return {
    messageId: message.messageId ?? '',
    data: Buffer.from(message.data ?? ''),
    attributes,
    deliveryCount: all.CloudPubSubDeadLetterSourceDeliveryCount,
    publishTime: Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : undefined,
  };
}

function fingerprint(message: DeadLetter): string {
  const attributes = Object.entries(message.attributes).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(message.data).update(JSON.stringify(attributes)).digest('hex');
}

export async function replayDeadLetters(pubsub: PubSub, options: ReplayOptions): Promise<ReplayResult> {
  const subscriber = new v1.SubscriberClient(
    // The same options object the PubSub client builds for itself (emulator endpoint and credentials included).
    (await pubsub.getClientConfig()) as ConstructorParameters<typeof v1.SubscriberClient>[0],
  );
  const subscription = subscriber.subscriptionPath(pubsub.projectId, options.subscription);
  const topic = pubsub.topic(options.topic);
  const result: ReplayResult = { replayed: 0, listed: 0, failed: 0 };
  const held: string[] = [];
  // A message that dies again while we run comes back with the same bytes: replaying it in a loop helps nobody.
  const replayedHere = new Set<string>();
  const limit = options.max ?? Number.POSITIVE_INFINITY;
  try {
    let again = true;
    while (again && result.replayed + result.listed < limit) {
      const [response] = await subscriber.pull(
        {
          subscription,
          maxMessages: Math.min(BATCH, limit - result.replayed - result.listed),
          returnImmediately: true,
        },
        { timeout: 60_000 },
      );
      const received = response.receivedMessages ?? [];
      if (received.length === 0) break;
      await Promise.all(
        received.map(async ({ ackId, message }) => {
          if (!ackId || !message) return;
          const dead = toDeadLetter(message);
          const key = fingerprint(dead);
          if (options.dryRun || replayedHere.has(key)) {
            held.push(ackId);
            if (options.dryRun) {
              result.listed += 1;
              options.onMessage?.(dead, 'listed');
            } else {
              again = false;
            }
            return;
          }
          try {
            await topic.publishMessage({ data: dead.data, attributes: dead.attributes });
          } catch (err) {
            held.push(ackId);
            result.failed += 1;
            options.onMessage?.(dead, 'failed', err instanceof Error ? err.message : String(err));
            return;
          }
          replayedHere.add(key);
          await subscriber.acknowledge({ subscription, ackIds: [ackId] });
          result.replayed += 1;
          options.onMessage?.(dead, 'replayed');
        }),
      );
    }
  } finally {
    // Messages we looked at but did not replay go straight back to the subscription, not after the ack deadline.
    for (let i = 0; i < held.length; i += BATCH) {
      await subscriber.modifyAckDeadline({
        subscription,
        ackIds: held.slice(i, i + BATCH),
        ackDeadlineSeconds: 0,
      });
    }
    await subscriber.close();
  }
  return result;
}

function describe(message: DeadLetter): string {
  const a = message.attributes;
  const what =
    a.object_type && a.metric ? `${a.object_type}/${a.metric}` : a.parse_error ? 'unparseable' : '?';
  const died = message.deliveryCount ? `, dead after ${message.deliveryCount} deliveries` : '';
  return `${a.event_id ?? '(no event_id)'}  ${what}  ${message.data.length} bytes${died}, published ${message.publishTime ?? '?'}`;
}

export async function runReplayDeadLetters(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    'dry-run': { type: 'boolean' },
    project: { type: 'string' },
    subscription: { type: 'string' },
    topic: { type: 'string' },
    max: { type: 'string' },
  });
  if (values.help === true) {
    io.out(REPLAY_HELP + '\n');
    return 0;
  }
  const max = numberOption(values, 'max', { min: 1, max: 10_000_000 });
  const project = stringOption(values, 'project');
  const state = project === undefined ? readStackState(io.localDir) : undefined;
  if (project === undefined && state === undefined) {
    throw new UsageError('no --project given and no local stack is running (start one with `npm start`)');
  }
  // The emulator ignores credentials: do not let the auth library probe for a metadata server first.
  if (state !== undefined) process.env.METADATA_SERVER_DETECTION = 'none';
  const pubsub =
    state !== undefined
      ? new PubSub({ projectId: state.projectId, apiEndpoint: state.pubsubEmulatorHost })
      : new PubSub({ projectId: project });
  const subscription =
    stringOption(values, 'subscription') ?? state?.deadLetterSubscription ?? 'cio-events-dead-letter';
  const topic = stringOption(values, 'topic') ?? state?.eventsTopic ?? 'cio-events';
  const dryRun = values['dry-run'] === true;
  const where = `${pubsub.projectId}${state !== undefined || io.env.PUBSUB_EMULATOR_HOST ? ' (emulator)' : ''}`;
  io.out(`${dryRun ? 'listing' : 'replaying'} dead letters from ${subscription} to ${topic} in ${where}\n`);
  try {
    const result = await replayDeadLetters(pubsub, {
      subscription,
      topic,
      dryRun,
      max,
      onMessage: (message, outcome, error) => {
        const line = `${outcome.padEnd(8)}  ${describe(message)}${error ? `: ${error}` : ''}\n`;
        if (outcome === 'failed') io.err(line);
        else io.out(line);
      },
    });
    io.out(
      dryRun
        ? `${result.listed} dead letter${result.listed === 1 ? '' : 's'} would be replayed (--dry-run: nothing changed)\n`
        : `replayed ${result.replayed} dead letter${result.replayed === 1 ? '' : 's'} to ${topic}` +
            (result.failed > 0 ? `; ${result.failed} failed and stay in ${subscription}` : '') +
            '\n',
    );
    return result.failed > 0 ? 1 : 0;
  } finally {
    await pubsub.close();
  }
}
