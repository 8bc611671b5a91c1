// The workspace's reporting webhooks (GET /v1/reporting_webhooks), read only: which events they send (so a metric
// nobody subscribed to is not counted as missing) and whether they send every open and click (full_resolution).

import { AppApiError, type AppApiClient } from './client';

export interface ReportingWebhook {
  id: number | string;
  name: string;
  endpoint: string;
  disabled: boolean;
  /** true: every open and click is sent, not only the first of each delivery. */
  fullResolution: boolean;
  /** `<object_type>_<metric>`, e.g. `email_opened`, `sms_delivered`, `customer_unsubscribed`. */
  events: string[];
}

export async function listReportingWebhooks(client: AppApiClient): Promise<ReportingWebhook[]> {
  const body = await client.get('/reporting_webhooks');
  const list =
    typeof body === 'object' && body !== null
      ? (body as { reporting_webhooks?: unknown }).reporting_webhooks
      : undefined;
  if (list === null) return [];
  if (!Array.isArray(list)) {
    throw new AppApiError('malformed', 'GET /reporting_webhooks: "reporting_webhooks" is not an array');
  }
  return list.map((w: unknown, i) => {
    if (typeof w !== 'object' || w === null) {
      throw new AppApiError(
        'malformed',
        `GET /reporting_webhooks: reporting_webhooks[${i}] is not an object`,
      );
    }
    const hook = w as Record<string, unknown>;
    return {
      id: typeof hook.id === 'number' || typeof hook.id === 'string' ? hook.id : i,
      name: typeof hook.name === 'string' ? hook.name : '',
      endpoint: typeof hook.endpoint === 'string' ? hook.endpoint : '',
      disabled: hook.disabled === true,
      fullResolution: hook.full_resolution === true,
      events: Array.isArray(hook.events) ? hook.events.filter((e): e is string => typeof e === 'string') : [],
    };
  });
}
