// The action policy: which Track API calls an event asks for. `decideActions` is pure (event + config in, calls
// out) so a redelivered event asks for exactly the same calls; every attribute value comes from the event, never
// from the clock, which is what makes repeating a call harmless.
//
// | event                                   | calls                                                              |
// |-----------------------------------------|--------------------------------------------------------------------|
// | email bounced                           | identify {email_bounced: true, email_bounced_at, email_bounce_reason}|
// | email spammed                           | identify {unsubscribed: true, email_complained: true, email_complained_at} |
// | email bounced/spammed in CIO_SUPPRESS_ON| additionally suppress (after the identify; it deletes the person)  |
// | email opened/clicked, CIO_ENGAGEMENT_ATTRIBUTES=true | identify {last_email_engaged_at}, at most once per person per 24 h of event time per instance (EngagementLimiter); not for prefetched opens or machine clicks |
// | unsubscribed (any object_type)          | none: Customer.io already set it; writing it back starts loops     |
// | anything else, incl. sms/push/whatsapp bounced | none (warehouse only): the profile attributes are email_*; a bad phone number or token is not an email problem |
// | synthetic (cio-webhooks smoke)          | none: a test event names no real person                            |
//
// `*_at` attributes are whole unix seconds (Customer.io's date format for segments). When the event has no timestamp the
// `*_at` attribute is left out rather than invented.
//
// The row's `actions` column records what happened to each call, one token per call, in this vocabulary:
//   <key>                      sent, Track API answered 2xx            e.g. identify:email_bounced, suppress
//   dry_run:<key>              decided, not sent (no Track credentials) e.g. dry_run:identify:email_bounced
//   error:<key>:<status>       permanent failure (4xx other than 408/429), logged at ERROR   e.g. error:suppress:404
//   throttled:<key>            engagement identify skipped by the per-person limit
//   no_person:<key>            the event names nobody to act on (no id, cio_id or email)
// with <key> one of identify:email_bounced, identify:email_complained, identify:email_engaged, suppress.

import type { ProcessorConfig } from '../config';
import { isSyntheticEvent, personToActOn, type CioEvent } from './event';

export type ActionKey =
  'identify:email_bounced' | 'identify:email_complained' | 'identify:email_engaged' | 'suppress';

export type Attributes = Readonly<Record<string, string | number | boolean>>;

export type Action =
  | {
      key: Exclude<ActionKey, 'suppress'>;
      kind: 'identify';
      person: string | undefined;
      attributes: Attributes;
    }
  | { key: 'suppress'; kind: 'suppress'; person: string | undefined };

export type Policy = Pick<ProcessorConfig, 'suppressOn' | 'engagementAttributes'>;

export const token = {
  done: (key: ActionKey): string => key,
  dryRun: (key: ActionKey): string => `dry_run:${key}`,
  error: (key: ActionKey, status: number): string => `error:${key}:${status}`,
  throttled: (key: ActionKey): string => `throttled:${key}`,
  noPerson: (key: ActionKey): string => `no_person:${key}`,
};

// Customer.io reads date attributes as whole unix seconds; a fractional body timestamp is cut to its second.
const wholeSeconds = (timestamp: number): number => Math.floor(timestamp);

function withTimestamp(attrs: Record<string, string | number | boolean>, name: string, event: CioEvent) {
  if (event.timestamp !== undefined) attrs[name] = wholeSeconds(event.timestamp);
  return attrs;
}

export function decideActions(event: CioEvent, policy: Policy): Action[] {
  if (event.objectType !== 'email' || isSyntheticEvent(event)) return [];
  const person = personToActOn(event);
  const actions: Action[] = [];
  switch (event.metric) {
    case 'bounced': {
      const attrs = withTimestamp({ email_bounced: true }, 'email_bounced_at', event);
      const reason = event.data.failure_message;
      if (typeof reason === 'string' && reason !== '') attrs.email_bounce_reason = reason;
      actions.push({ key: 'identify:email_bounced', kind: 'identify', person, attributes: attrs });
      break;
    }
    case 'spammed': {
      const attrs = withTimestamp(
        { unsubscribed: true, email_complained: true },
        'email_complained_at',
        event,
      );
      actions.push({ key: 'identify:email_complained', kind: 'identify', person, attributes: attrs });
      break;
    }
    case 'opened':
    case 'clicked': {
      // A prefetched open (Apple Mail Privacy Protection) or a machine click (link scanners) is no engagement.
      const automated = event.data.prefetched === true || event.data.machine === true;
      if (policy.engagementAttributes && !automated && event.timestamp !== undefined) {
        actions.push({
          key: 'identify:email_engaged',
          kind: 'identify',
          person,
          attributes: { last_email_engaged_at: wholeSeconds(event.timestamp) },
        });
      }
      return actions;
    }
    default:
      return actions;
  }
  if ((policy.suppressOn as readonly string[]).includes(event.metric)) {
    actions.push({ key: 'suppress', kind: 'suppress', person });
  }
  return actions;
}

/**
 * The one stateful part of the policy: opens and clicks are the bulk of all events, so an instance sends at most
 * one engagement identify per person per `windowSeconds` of event time (and never one older than the last it
 * sent, which would move the attribute backwards). Per instance and in memory: N instances may each send one;
 * the attribute is a "recently engaged" marker for sunset segments, not an exact last-touch time.
 */
export class EngagementLimiter {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly windowSeconds = 24 * 3600,
    private readonly maxPeople = 100_000,
  ) {}

  /** True (and remembered) when an identify for `person` at `timestamp` may be sent now. */
  acquire(person: string, timestamp: number): boolean {
    const previous = this.last.get(person);
    if (previous !== undefined && timestamp < previous + this.windowSeconds) return false;
    this.last.delete(person);
    this.last.set(person, timestamp);
    // Map iteration is insertion order: the first key is the least recently sent.
    if (this.last.size > this.maxPeople) this.last.delete(this.last.keys().next().value as string);
    return true;
  }

  /** Forgets a grant whose call failed, so the redelivery may send it. */
  release(person: string, timestamp: number): void {
    if (this.last.get(person) === timestamp) this.last.delete(person);
  }
}
