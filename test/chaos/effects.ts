// Track API effects as a set: what Customer.io's profiles would look like, independent of how many times an
// identical call arrived. Expected effects are derived here from the event bodies, independently of the processor's
// policy code: an email bounce sets the bounce attributes, a complaint sets the complaint attributes and (with
// CIO_SUPPRESS_ON=spammed, as the chaos stack runs) suppresses the person.

import type { TrackCall } from '../support/track-api-server';

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export function effectOf(call: TrackCall): string {
  if (call.method === 'PUT') return `identify ${call.person} ${canonical(call.body)}`;
  if (call.path.endsWith('/suppress')) return `suppress ${call.person}`;
  return `${call.method} ${call.path}`;
}

interface Body {
  object_type?: string;
  metric?: string;
  timestamp?: number;
  data?: { failure_message?: string; identifiers?: { id?: string } };
}

/** The effects one event asks for (none for anything but an email bounce or complaint). */
export function expectedEffects(body: string): string[] {
  const event = JSON.parse(body) as Body;
  const person = event.data?.identifiers?.id;
  if (event.object_type !== 'email' || person === undefined) return [];
  if (event.metric === 'bounced') {
    const attributes: Record<string, unknown> = { email_bounced: true, email_bounced_at: event.timestamp };
    if (event.data?.failure_message) attributes.email_bounce_reason = event.data.failure_message;
    return [`identify ${person} ${canonical(attributes)}`];
  }
  if (event.metric === 'spammed') {
    const attributes = { unsubscribed: true, email_complained: true, email_complained_at: event.timestamp };
    return [`identify ${person} ${canonical(attributes)}`, `suppress ${person}`];
  }
  return [];
}
