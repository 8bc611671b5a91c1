// The action policy: which Track API calls an event asks for. `decideActions` is pure (event + config in, calls or
// the reason for none out) so a redelivered event asks for exactly the same calls; every attribute value comes from
// the event, never from the clock, which is what makes repeating a call harmless. Write-backs touch real people's
// profiles, so every rule errs on the side of doing nothing and says why. The rules, the action keys and the tokens
// the row's `actions` column records are tabled in docs/architecture.md, "The action policy" (a test holds that
// table to the types below); README "The action policy" says the same for operators.
//
// Person: `cio_<identifiers.cio_id>` (immutable: a late event for a deleted person cannot re-create them), else
// identifiers.id, else nobody. Never the email (in an ID-only workspace it would create a person whose id is it).
// A bounce or complaint is checked in this order: soft bounce, recipient mismatch, no person (the first that holds
// is the reason recorded). `*_at` attributes are whole unix seconds (Customer.io's date format for segments); when
// the event has no timestamp the attribute is left out rather than invented.

import type { ProcessorConfig } from '../config';
import { bounceClass } from './bounce';
import { dataText, identifiers, isSyntheticEvent, type CioEvent } from './event';

export type ActionKey =
  | 'identify:email_bounced'
  | 'identify:email_complained'
  /** The complaint write-back that also sets `unsubscribed` (CIO_SPAM_UNSUBSCRIBE=true): the views tell the
   * `unsubscribed` event it causes from a person's own choice by this key. */
  | 'identify:email_complained_unsubscribed'
  | 'identify:email_engaged'
  | 'suppress';

export type Attributes = Readonly<Record<string, string | number | boolean>>;

export type Action =
  | { key: Exclude<ActionKey, 'suppress'>; kind: 'identify'; person: string; attributes: Attributes }
  | { key: 'suppress'; kind: 'suppress'; person: string };

export type SkipReason = 'soft_bounce' | 'recipient_mismatch' | 'no_person';

/** The calls an event asks for (possibly none), or the reason it asks for none although its metric could. */
export type Decision = { actions: Action[] } | { skipped: SkipReason };

export type Policy = Pick<ProcessorConfig, 'suppressOn' | 'engagementAttributes' | 'spamUnsubscribe'>;

export const token = {
  done: (key: ActionKey): string => key,
  dryRun: (key: ActionKey): string => `dry_run:${key}`,
  error: (key: ActionKey, status: number): string => `error:${key}:${status}`,
  throttled: (key: ActionKey): string => `throttled:${key}`,
  skipped: (reason: SkipReason): string => `skipped:${reason}`,
};

const NONE: Decision = { actions: [] };

const present = (s: string | undefined): s is string => s !== undefined && s.trim() !== '';

/** `cio_<cio_id>`, else the id, else nobody; never the email. */
export function personToActOn(event: CioEvent): string | undefined {
  const ids = identifiers(event);
  if (present(ids.cioId)) return `cio_${ids.cioId.trim()}`;
  if (present(ids.id)) return ids.id;
  return undefined;
}

// Customer.io reads date attributes as whole unix seconds; a fractional body timestamp is cut to its second.
const wholeSeconds = (timestamp: number): number => Math.floor(timestamp);

function withTimestamp(attrs: Record<string, string | number | boolean>, name: string, event: CioEvent) {
  if (event.timestamp !== undefined) attrs[name] = wholeSeconds(event.timestamp);
  return attrs;
}

/** The address that failed or complained: the recipient, else the person's email. */
function failedAddress(event: CioEvent): string | undefined {
  const recipient = dataText(event, 'recipient');
  return present(recipient) ? recipient.trim() : identifiers(event).email?.trim();
}

/** The address that failed is not (or no longer) the person's: a transactional `to`, or a changed email. */
function recipientMismatch(event: CioEvent): boolean {
  const recipient = dataText(event, 'recipient');
  const email = identifiers(event).email;
  return (
    present(recipient) && present(email) && recipient.trim().toLowerCase() !== email.trim().toLowerCase()
  );
}

/** A hard bounce or a complaint: the identify that marks the profile, then suppress when configured. */
function profileMark(event: CioEvent, policy: Policy, person: string): Action[] {
  const address = failedAddress(event);
  let action: Action;
  if (event.metric === 'bounced') {
    const attrs = withTimestamp({ email_bounced: true }, 'email_bounced_at', event);
    const reason = dataText(event, 'failure_message');
    if (present(reason)) attrs.email_bounce_reason = reason;
    if (address !== undefined && address !== '') attrs.email_bounced_address = address;
    action = { key: 'identify:email_bounced', kind: 'identify', person, attributes: attrs };
  } else {
    const attrs = withTimestamp({ email_complained: true }, 'email_complained_at', event);
    if (address !== undefined && address !== '') attrs.email_complained_address = address;
    if (policy.spamUnsubscribe) attrs.unsubscribed = true;
    const key = policy.spamUnsubscribe
      ? 'identify:email_complained_unsubscribed'
      : 'identify:email_complained';
    action = { key, kind: 'identify', person, attributes: attrs };
  }
  const metric = event.metric as 'bounced' | 'spammed';
  return policy.suppressOn.includes(metric)
    ? [action, { key: 'suppress', kind: 'suppress', person }]
    : [action];
}

export function decideActions(event: CioEvent, policy: Policy): Decision {
  if (event.objectType !== 'email' || isSyntheticEvent(event)) return NONE;
  switch (event.metric) {
    case 'bounced':
    case 'spammed': {
      if (event.metric === 'bounced' && bounceClass(dataText(event, 'failure_message')) === 'soft') {
        return { skipped: 'soft_bounce' };
      }
      if (recipientMismatch(event)) return { skipped: 'recipient_mismatch' };
      const person = personToActOn(event);
      if (person === undefined) return { skipped: 'no_person' };
      return { actions: profileMark(event, policy, person) };
    }
    case 'opened':
    case 'clicked': {
      // A prefetched open (Apple Mail Privacy Protection, image prefetch) or a machine click (link scanners) is no
      // engagement; without a timestamp there is no honest value to write.
      const automated = event.data.prefetched === true || event.data.machine === true;
      if (!policy.engagementAttributes || automated || event.timestamp === undefined) return NONE;
      const person = personToActOn(event);
      if (person === undefined) return { skipped: 'no_person' };
      const attributes = { last_email_engaged_at: wholeSeconds(event.timestamp) };
      return { actions: [{ key: 'identify:email_engaged', kind: 'identify', person, attributes }] };
    }
    default:
      return NONE;
  }
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
