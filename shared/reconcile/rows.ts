// The warehouse row a repair writes for a first occurrence the webhooks never brought: shaped like the row of the
// webhook event it stands for (same columns, a `data` object with the webhook's field names), marked
// source = 'app_api', in the workspace whose App API listed the delivery, with no actions (nothing is sent to Customer.io's Track API for it). Its event_id is
// derived from the delivery and the metric, so writing it again is a no-op: a re-run adds nothing.

import type { Delivery } from '../customerio/app-api/deliveries';
import { channelOfType } from '../customerio/app-api/naming';
import { eventInsertId, unixToIso, type EventRow } from '../warehouse/row';
import type { Fact } from './facts';

/** Metrics whose webhook event carries the failure message. */
const FAILURE_METRICS = new Set(['bounced', 'dropped', 'failed', 'undeliverable']);

/** `app_api:<delivery_id>:<metric>`: one row per (delivery, first occurrence), whoever writes it and when. */
export function backfillEventId(deliveryId: string, factKey: string): string {
  return `app_api:${deliveryId}:${factKey}`;
}

export interface BackfillRow {
  insertId: string;
  row: EventRow;
}

export function backfillRow(workspace: string, d: Delivery, fact: Fact, writtenAt: Date): BackfillRow {
  const eventId = backfillEventId(d.id, fact.key);
  const objectType = channelOfType(d.type);
  const failure = FAILURE_METRICS.has(fact.metric) ? d.failureMessage : null;
  const identifiers = { id: d.identifiers.id, email: d.identifiers.email, cio_id: d.identifiers.cioId };
  const data: Record<string, unknown> = {
    delivery_id: d.id,
    identifiers,
    customer_id: d.customerId,
    recipient: d.recipient,
    subject: d.subject,
    action_id: d.actionId,
    parent_action_id: d.parentActionId,
    campaign_id: d.campaignId,
    broadcast_id: d.broadcastId,
    newsletter_id: d.newsletterId,
    content_id: d.contentId,
    transactional_message_id: d.transactionalMessageId,
    trigger_event_id: d.triggerEventId,
    failure_message: failure,
  };
  for (const key of Object.keys(data)) if (data[key] === null) delete data[key];
  if (fact.machine !== undefined && fact.metric === 'opened') data.prefetched = fact.machine;
  if (fact.machine !== undefined && fact.metric === 'clicked') data.machine = fact.machine;
  const row: EventRow = {
    workspace,
    event_id: eventId,
    object_type: objectType,
    metric: fact.metric,
    event_timestamp: unixToIso(fact.at),
    received_at: writtenAt.toISOString(),
    person_id: d.identifiers.id ?? d.customerId,
    person_email: d.identifiers.email,
    cio_id: d.identifiers.cioId,
    customer_id: d.customerId,
    delivery_id: d.id,
    action_id: d.actionId,
    campaign_id: d.campaignId,
    broadcast_id: d.broadcastId,
    newsletter_id: d.newsletterId,
    journey_id: null,
    transactional_message_id: d.transactionalMessageId,
    recipient: d.recipient,
    subject: d.subject,
    href: null,
    link_id: null,
    failure_message: failure,
    data: JSON.stringify(data),
    actions: [],
    object_type_type: null,
    body: JSON.stringify({
      event_id: eventId,
      object_type: objectType,
      metric: fact.metric,
      timestamp: fact.at,
    }),
    truncated: null,
    source: 'app_api',
  };
  return { insertId: eventInsertId({ workspace, eventId }), row };
}
