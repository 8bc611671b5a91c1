// What the workspace's enabled reporting webhooks send, as far as the App API key may read it: a metric no webhook
// is subscribed to is not counted as missing, and with full_resolution the warehouse holds repeats.

import { AppApiError, type AppApiClient } from '../customerio/app-api/client';
import { listReportingWebhooks } from '../customerio/app-api/reporting-webhooks';

export interface WebhookSettings {
  /** The events the enabled reporting webhooks send; undefined when unknown. */
  subscribed: ReadonlySet<string> | undefined;
  /** Whether they send every open and click; undefined when unknown. */
  fullResolution: boolean | undefined;
  notes: string[];
}

/** What the workspace's enabled reporting webhooks send, as far as the key may read it. */
export async function webhookSettings(client: AppApiClient): Promise<WebhookSettings> {
  try {
    const hooks = (await listReportingWebhooks(client)).filter((h) => !h.disabled);
    if (hooks.length === 0) {
      return {
        subscribed: undefined,
        fullResolution: undefined,
        notes: ['the workspace has no enabled reporting webhook: every event a webhook can send is compared'],
      };
    }
    return {
      subscribed: new Set(hooks.flatMap((h) => h.events)),
      fullResolution: hooks.some((h) => h.fullResolution),
      notes: [],
    };
  } catch (err) {
    if (!(err instanceof AppApiError) || err.retryable || err.kind === 'unauthorized') throw err;
    return {
      subscribed: undefined,
      fullResolution: undefined,
      notes: [
        `could not read the reporting webhooks (${err.kind}): every event a webhook can send is compared, ` +
          'including any your webhook is not subscribed to',
      ],
    };
  }
}
