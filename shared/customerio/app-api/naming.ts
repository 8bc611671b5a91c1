// How the App API names what the reporting webhooks name differently, in one place: the reconciliation, the
// backfill and the local App API stand-in all translate through here.

/** App API delivery `type` → webhook `object_type`. SMS goes through Twilio: the App API says `twilio`. */
const CHANNEL_OF_TYPE: Readonly<Record<string, string>> = { twilio: 'sms' };

/** The webhooks' object_type for an App API delivery type (unknown types are kept as they are). */
export function channelOfType(type: string): string {
  return CHANNEL_OF_TYPE[type] ?? type;
}

/** The App API delivery type for a webhook object_type. */
export function typeOfChannel(objectType: string): string {
  return objectType === 'sms' ? 'twilio' : objectType;
}

/**
 * Metrics whose first occurrence a delivery's `metrics` records under the same name the webhooks use. `created`
 * (no webhook event) and `drafted` (drafts are listed separately) are left out of comparisons.
 */
export const FIRST_OCCURRENCE_METRICS = [
  'sent',
  'delivered',
  'opened',
  'clicked',
  'converted',
  'bounced',
  'spammed',
  'dropped',
  'failed',
  'undeliverable',
  'unsubscribed',
] as const;
export type FirstOccurrenceMetric = (typeof FIRST_OCCURRENCE_METRICS)[number];

/**
 * Opens and clicks split by who did them. `human_opened` is an open that was not prefetched (the webhook's
 * `data.prefetched` is not true), `human_clicked` a click that was not a machine's (`data.machine`). Customer.io
 * reports them reliably only for deliveries from these dates on.
 */
export const HUMAN_METRICS = {
  human_opened: { of: 'opened', flag: 'prefetched', reliableFrom: Date.UTC(2025, 2, 20) / 1000 },
  human_clicked: { of: 'clicked', flag: 'machine', reliableFrom: Date.UTC(2025, 3, 20) / 1000 },
} as const;
export type HumanMetric = keyof typeof HUMAN_METRICS;

/** The machine counterparts of HUMAN_METRICS (prefetched opens, machine clicks). */
export const MACHINE_METRICS = { prefetch_opened: 'opened', prefetch_clicked: 'clicked' } as const;
