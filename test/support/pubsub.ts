// Pub/Sub emulator helpers for tests: a project of one's own, topics, subscriptions, and pulling what was published.
// Uses the official client against the emulator jest's global setup started (PUBSUB_EMULATOR_HOST), or another host.
import { randomBytes } from 'node:crypto';
import { PubSub, v1 } from '@google-cloud/pubsub';

export interface PulledMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
  messageId: string;
}

/** A unique, valid project id: tests never share topics or subscriptions. */
export function uniqueProjectId(label: string): string {
  return `${label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 18)}-${randomBytes(4).toString('hex')}`;
}

export function uniqueName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

function emulatorHost(host: string | undefined): string {
  const value = host ?? process.env.PUBSUB_EMULATOR_HOST;
  if (!value)
    throw new Error('PUBSUB_EMULATOR_HOST is not set: run tests through jest (its global setup starts it)');
  return value;
}

const SENTINEL = 'test_sentinel';

export class TestSubscription {
  constructor(
    private readonly project: TestProject,
    readonly topicId: string,
    readonly name: string,
  ) {}

  /**
   * Everything published to the topic since this subscription was created and before this call, acknowledged.
   * It publishes a sentinel message and pulls until the sentinel comes back, so "nothing was published" is an
   * answer, not a timeout.
   */
  async drain(timeoutMs = 30_000): Promise<PulledMessage[]> {
    const marker = randomBytes(8).toString('hex');
    await this.project.pubsub
      .topic(this.topicId)
      .publishMessage({ data: Buffer.from('sentinel'), attributes: { [SENTINEL]: marker } });
    const received: PulledMessage[] = [];
    const keep = (batch: PulledMessage[]) =>
      received.push(...batch.filter((m) => m.attributes[SENTINEL] === undefined));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const batch = await this.pull();
      keep(batch);
      if (batch.some((m) => m.attributes[SENTINEL] === marker)) break;
      if (Date.now() > deadline)
        throw new Error(`sentinel not received on ${this.name} within ${timeoutMs} ms`);
      if (batch.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    // One more pull: the emulator may hand out the sentinel ahead of a message published before it.
    keep(await this.pull());
    return received;
  }

  private async pull(): Promise<PulledMessage[]> {
    const subscription = `projects/${this.project.projectId}/subscriptions/${this.name}`;
    const [response] = await this.project.subscriber.pull(
      { subscription, maxMessages: 1000, returnImmediately: true },
      { timeout: 5000 },
    );
    const messages = response.receivedMessages ?? [];
    const ackIds = messages.map((m) => m.ackId).filter((id): id is string => typeof id === 'string');
    if (ackIds.length > 0) await this.project.subscriber.acknowledge({ subscription, ackIds });
    return messages.map(({ message }) => ({
      data: Buffer.from(message?.data ?? new Uint8Array()),
      attributes: { ...(message?.attributes ?? {}) },
      orderingKey: message?.orderingKey ?? '',
      messageId: message?.messageId ?? '',
    }));
  }
}

export class TestProject {
  readonly pubsub: PubSub;
  readonly subscriber: v1.SubscriberClient;

  constructor(
    readonly projectId: string,
    readonly host: string,
  ) {
    this.pubsub = new PubSub({ projectId, apiEndpoint: host });
    // The high-level client has no synchronous pull; the generated client does, with the same emulator settings.
    const { servicePath, port, sslCreds } = this.pubsub.options;
    this.subscriber = new v1.SubscriberClient({ projectId, servicePath, port: Number(port), sslCreds });
  }

  static create(label: string, host?: string): TestProject {
    return new TestProject(uniqueProjectId(label), emulatorHost(host));
  }

  async createTopic(label = 'events'): Promise<string> {
    const topicId = uniqueName(label);
    await this.pubsub.createTopic(topicId);
    return topicId;
  }

  /** Receives only what is published after this call. */
  async subscribe(topicId: string, label = 'sub'): Promise<TestSubscription> {
    const name = uniqueName(label);
    await this.pubsub.topic(topicId).createSubscription(name);
    return new TestSubscription(this, topicId, name);
  }

  async close(): Promise<void> {
    await this.subscriber.close();
    await this.pubsub.close();
  }
}
