// The local stack's Pub/Sub wiring, as Terraform creates it in the cloud: the events topic, a push subscription to the
// processor with a dead-letter policy, and the dead-letter topic with a pull subscription that keeps dead letters.

import { PubSub } from '@google-cloud/pubsub';
import type { StackState } from './stack-state';

export async function createTopology(
  host: string,
  projectId: string,
  topic: string,
  processorUrl: string,
  maxDeliveryAttempts: number,
): Promise<Pick<StackState, 'pushSubscription' | 'deadLetterTopic' | 'deadLetterSubscription'>> {
  const names = {
    pushSubscription: `${topic}-processor`,
    deadLetterTopic: `${topic}-dead-letter`,
    deadLetterSubscription: `${topic}-dead-letter`,
  };
  // What the Pub/Sub emulator (0.8.x) does with this, observed: push delivery to the processor, ONE message in flight
  // per subscription (its push loop is serial, so local throughput is 1 / processor latency), the dead-letter policy
  // (after maxDeliveryAttempts failed pushes the message moves to the dead-letter topic, with the
  // CloudPubSubDeadLetterSource* attributes). Its push envelopes carry no deliveryAttempt field. No retry policy
  // (Terraform sets one in the cloud): with one, the emulator strands messages whose push failed (connection refused
  // while the processor restarts, and some 503 nacks): they are never pushed again (test/chaos found it; 317 of 600
  // stranded in a 3 s endpoint outage, none without the policy). Without it a nacked message comes back after ~1 s.
  const pubsub = new PubSub({ projectId, apiEndpoint: host });
  try {
    const [deadLetters] = await pubsub.createTopic(names.deadLetterTopic);
    // A pull subscription keeps the dead letters until someone looks (replay-dead-letters).
    await deadLetters.createSubscription(names.deadLetterSubscription, { ackDeadlineSeconds: 60 });
    const [events] = await pubsub.createTopic(topic);
    await events.createSubscription(names.pushSubscription, {
      pushConfig: { pushEndpoint: processorUrl },
      ackDeadlineSeconds: 60,
      deadLetterPolicy: { deadLetterTopic: deadLetters.name, maxDeliveryAttempts },
    });
  } finally {
    await pubsub.close();
  }
  return names;
}
