// What can be compared, delivery by delivery: the first occurrences Customer.io records (a delivery's `metrics`)
// that a reporting webhook would also have sent, and for everything else the reason it cannot be judged. The
// webhooks' names are used throughout (`twilio` deliveries are `sms`).

import type { Delivery } from '../customerio/app-api/deliveries';
import {
  channelOfType,
  FIRST_OCCURRENCE_METRICS,
  HUMAN_METRICS,
  type HumanMetric,
} from '../customerio/app-api/naming';

/**
 * The `<object_type>_<metric>` events a reporting webhook can be subscribed to (Customer.io's App API reference,
 * POST /v1/reporting_webhooks `events`). A pair outside it never arrives by webhook, whatever the App API records.
 */
export const WEBHOOK_EVENTS: ReadonlySet<string> = new Set([
  ...['drafted', 'attempted', 'sent', 'delivered', 'opened', 'clicked', 'converted', 'bounced', 'dropped']
    .concat(['deferred', 'spammed', 'failed', 'unsubscribed', 'undeliverable'])
    .map((m) => `email_${m}`),
  ...['drafted', 'attempted', 'sent', 'opened', 'clicked', 'converted', 'failed', 'undeliverable'].map(
    (m) => `in_app_${m}`,
  ),
  ...['drafted', 'attempted', 'sent', 'delivered', 'opened', 'clicked', 'converted', 'bounced', 'dropped']
    .concat(['failed', 'undeliverable'])
    .map((m) => `push_${m}`),
  ...['drafted', 'attempted', 'sent', 'clicked', 'converted', 'failed'].map((m) => `slack_${m}`),
  ...['drafted', 'attempted', 'sent', 'delivered', 'clicked', 'converted', 'bounced', 'dropped', 'failed']
    .concat(['undeliverable', 'replied'])
    .map((m) => `sms_${m}`),
  ...['drafted', 'attempted', 'sent', 'delivered', 'opened', 'clicked', 'converted', 'bounced', 'dropped']
    .concat(['failed', 'undeliverable', 'replied'])
    .map((m) => `whatsapp_${m}`),
  ...['drafted', 'attempted', 'sent', 'clicked', 'converted', 'failed', 'undeliverable'].map(
    (m) => `webhook_${m}`,
  ),
]);

export type ParentType = 'campaign' | 'broadcast' | 'newsletter' | 'transactional' | 'unknown';

export function parentOf(d: {
  campaignId: number | null;
  broadcastId: number | null;
  newsletterId: number | null;
  transactionalMessageId: number | null;
}): ParentType {
  if (d.campaignId !== null) return 'campaign';
  if (d.broadcastId !== null) return 'broadcast';
  if (d.newsletterId !== null) return 'newsletter';
  if (d.transactionalMessageId !== null) return 'transactional';
  return 'unknown';
}

/** One first occurrence that can be compared: `key` is the App API metric, `metric` the webhook's. */
export interface Fact {
  key: string;
  metric: string;
  /** Unix seconds of the first occurrence. */
  at: number;
  /** Whether the row a repair writes is a prefetched open / a machine click (undefined: Customer.io cannot say). */
  machine: boolean | undefined;
}

export interface DeliveryFacts {
  channel: string;
  parentType: ParentType;
  facts: Fact[];
  /** Why the other recorded metrics are not compared (one entry per metric). */
  notJudged: string[];
}

export interface JudgeOptions {
  /** Unix seconds: first occurrences after this are not judged (their webhook may still be on its way). */
  settledBefore: number;
  /** The events the workspace's reporting webhooks send; undefined = unknown, every pair a webhook can send. */
  subscribed: ReadonlySet<string> | undefined;
}

const HUMAN_FROM = (metric: HumanMetric): string =>
  new Date(HUMAN_METRICS[metric].reliableFrom * 1000).toISOString().slice(0, 10);

export const NOT_JUDGED = {
  tooRecent: (metric: string) =>
    `${metric}: first occurred after the settle cutoff (its webhook may be on its way)`,
  noWebhookEvent: (channel: string, metric: string) =>
    `${channel} ${metric}: no reporting webhook event exists for it`,
  notSubscribed: (channel: string, metric: string) =>
    `${channel} ${metric}: your reporting webhook does not send ${channel}_${metric}`,
  unreliableHuman: (metric: HumanMetric) =>
    `${metric}: Customer.io reports it reliably only for deliveries created from ${HUMAN_FROM(metric)}`,
  drafted: 'drafted: drafts are listed apart by the App API',
} as const;

/** The comparable first occurrences of `d`, and why the rest are not compared. */
export function factsOf(d: Delivery, options: JudgeOptions): DeliveryFacts {
  const channel = channelOfType(d.type);
  const facts: Fact[] = [];
  const notJudged: string[] = [];
  const webhookSends = (metric: string): boolean => {
    const event = `${channel}_${metric}`;
    if (!WEBHOOK_EVENTS.has(event)) {
      notJudged.push(NOT_JUDGED.noWebhookEvent(channel, metric));
      return false;
    }
    if (options.subscribed !== undefined && !options.subscribed.has(event)) {
      notJudged.push(NOT_JUDGED.notSubscribed(channel, metric));
      return false;
    }
    return true;
  };
  const settled = (metric: string, at: number): boolean => {
    if (at <= options.settledBefore) return true;
    notJudged.push(NOT_JUDGED.tooRecent(metric));
    return false;
  };
  if (d.metrics.drafted !== undefined) notJudged.push(NOT_JUDGED.drafted);
  for (const metric of FIRST_OCCURRENCE_METRICS) {
    const at = d.metrics[metric];
    if (at === undefined || !webhookSends(metric) || !settled(metric, at)) continue;
    facts.push({ key: metric, metric, at, machine: firstWasMachine(d, metric) });
  }
  for (const key of Object.keys(HUMAN_METRICS) as HumanMetric[]) {
    const value = d.metrics[key];
    if (value === undefined) continue;
    const { of, reliableFrom } = HUMAN_METRICS[key];
    if (d.created < reliableFrom) {
      notJudged.push(NOT_JUDGED.unreliableHuman(key));
      continue;
    }
    // Documented as a time; read as the first occurrence of `of` if it is a count instead.
    const at = value >= 1e9 ? value : d.metrics[of];
    if (at === undefined || !webhookSends(of) || !settled(key, at)) continue;
    facts.push({ key, metric: of, at, machine: false });
  }
  return { channel, parentType: parentOf(d), facts, notJudged };
}

/**
 * Whether the first open (click) of `d` was a prefetch (a machine's), from its human_/prefetch_ metrics; undefined
 * when Customer.io cannot tell (before those metrics were reliable, or neither is recorded).
 */
function firstWasMachine(d: Delivery, metric: string): boolean | undefined {
  const human = metric === 'opened' ? 'human_opened' : metric === 'clicked' ? 'human_clicked' : undefined;
  if (human === undefined) return undefined;
  if (d.created < HUMAN_METRICS[human].reliableFrom) return undefined;
  const machine = human === 'human_opened' ? d.metrics.prefetch_opened : d.metrics.prefetch_clicked;
  const person = d.metrics[human];
  if (person === undefined) return machine === undefined ? undefined : true;
  return person >= 1e9 && person !== d.metrics[metric];
}
