// Track API effects as a set: what Customer.io's profiles would look like, independent of how many times an
// identical call arrived. Expected effects are derived here from the event bodies, independently of the processor's
// policy code: a hard email bounce sets the bounce attributes, a complaint sets the complaint attributes and (with
// CIO_SUPPRESS_ON=spammed, as the chaos stack runs) suppresses the person; soft bounces, failures of another address
// than the person's and events naming no person ask for nothing.

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
  data?: {
    failure_message?: string;
    recipient?: string;
    identifiers?: { id?: string | null; email?: string | null; cio_id?: string | null };
  };
}

// An SMTP code of one class (550, 5.1.1), not inside a longer number: a soft bounce has a 4 and no 5.
const smtp = (digit: string) =>
  new RegExp(`(^|[^0-9.])${digit}([0-9]{2}|[.][0-9]{1,3}[.][0-9]{1,3})([^0-9]|$)`);

/**
 * The effects one event asks for: none but for a hard email bounce or a complaint about the person's own address,
 * addressed by cio_id, else id, never the email.
 */
export function expectedEffects(body: string): string[] {
  const event = JSON.parse(body) as Body;
  if (event.object_type !== 'email' || (event.metric !== 'bounced' && event.metric !== 'spammed')) return [];
  const failure = event.data?.failure_message ?? '';
  if (event.metric === 'bounced' && smtp('4').test(failure) && !smtp('5').test(failure)) return [];
  const ids = event.data?.identifiers ?? {};
  const recipient = event.data?.recipient;
  if (recipient && ids.email && recipient.toLowerCase() !== ids.email.toLowerCase()) return [];
  const person = ids.cio_id ? `cio_${ids.cio_id}` : (ids.id ?? undefined);
  if (!person) return [];
  const address = recipient ?? ids.email ?? undefined;
  if (event.metric === 'bounced') {
    const attributes: Record<string, unknown> = { email_bounced: true, email_bounced_at: event.timestamp };
    if (failure) attributes.email_bounce_reason = failure;
    if (address) attributes.email_bounced_address = address;
    return [`identify ${person} ${canonical(attributes)}`];
  }
  const attributes: Record<string, unknown> = {
    email_complained: true,
    email_complained_at: event.timestamp,
  };
  if (address) attributes.email_complained_address = address;
  return [`identify ${person} ${canonical(attributes)}`, `suppress ${person}`];
}
