// The warehouse tables, defined once. The processor's row mapping, the local warehouse and Terraform (through the
// JSON files in terraform/schema/, written by `npm run schema:export` and checked by a test) all read this.

// Legacy type names (INTEGER, BOOLEAN): the API returns these, so Terraform sees no perpetual schema diff.
export type FieldType = 'STRING' | 'INTEGER' | 'FLOAT' | 'BOOLEAN' | 'TIMESTAMP' | 'DATE' | 'JSON' | 'BYTES';

export interface SchemaField {
  name: string;
  type: FieldType;
  mode: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  description: string;
}

export interface TableSpec {
  fields: SchemaField[];
  /** Day-partitioned on this TIMESTAMP column. */
  partitionField: string;
  clustering: string[];
  description: string;
}

const f = (
  name: string,
  type: FieldType,
  description: string,
  mode: SchemaField['mode'] = 'NULLABLE',
): SchemaField => ({
  name,
  type,
  mode,
  description,
});

export const EVENTS_TABLE: TableSpec = {
  description: 'Customer.io reporting webhook events, one row per event_id.',
  partitionField: 'event_timestamp',
  clustering: ['object_type', 'metric'],
  fields: [
    f(
      'event_id',
      'STRING',
      'Customer.io event id (unique per event; the insertId and ledger key).',
      'REQUIRED',
    ),
    f(
      'object_type',
      'STRING',
      'customer, email, push, in_app, sms, whatsapp, slack, webhook (or a newer type).',
    ),
    f('metric', 'STRING', 'sent, delivered, opened, clicked, bounced, spammed, unsubscribed, ...'),
    f(
      'event_timestamp',
      'TIMESTAMP',
      'When the event happened (body `timestamp`); null if the body had none.',
    ),
    f('received_at', 'TIMESTAMP', 'When cioWebhook accepted the request.', 'REQUIRED'),
    f('person_id', 'STRING', 'data.identifiers.id'),
    f('person_email', 'STRING', 'data.identifiers.email, else data.email_address'),
    f('cio_id', 'STRING', 'data.identifiers.cio_id'),
    f('customer_id', 'STRING', 'data.customer_id (deprecated by Customer.io; blank for deleted people)'),
    f('delivery_id', 'STRING', 'data.delivery_id'),
    f('action_id', 'INTEGER', 'data.action_id'),
    f('campaign_id', 'INTEGER', 'data.campaign_id'),
    f('broadcast_id', 'INTEGER', 'data.broadcast_id'),
    f('newsletter_id', 'INTEGER', 'data.newsletter_id'),
    f('journey_id', 'STRING', 'data.journey_id (string or number in the payload, stored as string)'),
    f('transactional_message_id', 'INTEGER', 'data.transactional_message_id'),
    f('recipient', 'STRING', 'data.recipient (email, phone, Slack channel, URL or person id)'),
    f('subject', 'STRING', 'data.subject'),
    f('href', 'STRING', 'data.href (clicks)'),
    f('link_id', 'INTEGER', 'data.link_id (clicks)'),
    f('failure_message', 'STRING', 'data.failure_message'),
    f('data', 'JSON', 'The whole `data` object as received.'),
    f(
      'actions',
      'STRING',
      'What the processor did for this event, e.g. identify:email_bounced (dry-run marked), or why it did nothing (skipped:soft_bounce).',
      'REPEATED',
    ),
    // Fields added after the first release go last, NULLABLE: an existing table gains them in place, keeping its rows.
    f(
      'object_type_type',
      'STRING',
      'The channel of a cio_subscription_preferences_changed event (top-level object_type_type), when present.',
    ),
    f(
      'body',
      'JSON',
      'Every top-level field of the event as received except data (in its own column): event_id, object_type, metric, timestamp and any field Customer.io adds.',
    ),
    f(
      'truncated',
      'STRING',
      'What cioWebhook removed from a body too large for one Pub/Sub message (e.g. data.content,data.headers); NULL when the event is complete.',
    ),
    f(
      'workspace',
      'STRING',
      'The Customer.io workspace, from the webhook URL: default for POST /, else the label of POST /<label>. NULL in rows from before workspaces (read as default).',
    ),
    f(
      'source',
      'STRING',
      "Where the row came from: NULL (webhook) for a reporting webhook event; 'app_api' for the first occurrence of a delivery's metric the webhooks never brought, written from Customer.io's App API by backfill or reconcile --repair (event_id app_api:<delivery_id>:<metric>, no actions).",
    ),
  ],
};

export const REJECTS_TABLE: TableSpec = {
  description:
    'Signed requests that were not a usable event, and Pub/Sub messages that could not be decoded.',
  partitionField: 'received_at',
  clustering: ['reason'],
  fields: [
    f(
      'reject_id',
      'STRING',
      'sha256 of the raw body (hex): the insertId, so redeliveries do not repeat.',
      'REQUIRED',
    ),
    f('reason', 'STRING', 'Why the message was parked (short code).', 'REQUIRED'),
    f('detail', 'STRING', 'Human-readable detail.'),
    f('event_id', 'STRING', 'The event_id, when one could be read.'),
    f('message_id', 'STRING', 'Pub/Sub message id.'),
    f('raw_body', 'BYTES', 'The exact bytes Customer.io signed (or the undecodable message data).'),
    f('attributes', 'JSON', 'Pub/Sub message attributes.'),
    f(
      'received_at',
      'TIMESTAMP',
      'When cioWebhook accepted the request (publish time if unknown).',
      'REQUIRED',
    ),
    f('rejected_at', 'TIMESTAMP', 'When the processor parked it.', 'REQUIRED'),
  ],
};

/** One row per reconciliation run (`cio-webhooks reconcile`, the scheduled cioReconcile). */
export const RECONCILE_RUNS_TABLE: TableSpec = {
  description:
    "Reconciliation runs: the warehouse compared with Customer.io's own record (App API) of the deliveries created in a window.",
  partitionField: 'started_at',
  clustering: ['workspace'],
  fields: [
    f('run_id', 'STRING', 'Unique per run.', 'REQUIRED'),
    f('workspace', 'STRING', "Customer.io workspace ('default', or the label of its URL path).", 'REQUIRED'),
    f('started_at', 'TIMESTAMP', 'When the run started.', 'REQUIRED'),
    f('finished_at', 'TIMESTAMP', 'When it finished (NULL if it failed before).'),
    f('trigger', 'STRING', "'cli' or 'schedule'."),
    f('window_start', 'TIMESTAMP', 'Deliveries created from (inclusive)…', 'REQUIRED'),
    f('window_end', 'TIMESTAMP', '…until (exclusive).', 'REQUIRED'),
    f(
      'settled_before',
      'TIMESTAMP',
      'First occurrences after this were not judged: their webhook may still be on its way.',
    ),
    f('status', 'STRING', "'ok' (drift within the threshold), 'drift' (over it) or 'failed'.", 'REQUIRED'),
    f('threshold', 'FLOAT', 'The drift threshold of the run (a share).'),
    f('deliveries', 'INTEGER', 'Deliveries Customer.io created in the window.'),
    f(
      'judged',
      'INTEGER',
      "First occurrences (delivery, metric) in Customer.io's record that were compared.",
    ),
    f('matched', 'INTEGER', 'Judged first occurrences the warehouse holds too.'),
    f('missing_here', 'INTEGER', 'Judged first occurrences the warehouse lacks.'),
    f(
      'only_here',
      'INTEGER',
      '(delivery, metric) pairs the warehouse holds and Customer.io does not record, for deliveries of the window, plus deliveries Customer.io does not know.',
    ),
    f('repaired', 'INTEGER', "Rows this run wrote (source = 'app_api'); 0 without --repair."),
    f('drift', 'FLOAT', '(missing_here + only_here) / judged; NULL when nothing was judged.'),
    f('not_judged', 'JSON', 'What could not be compared, with counts, by reason.'),
    f('api_requests', 'INTEGER', 'App API requests the run made.'),
    f('error', 'STRING', "Why the run failed (status 'failed')."),
  ],
};

/** Per run, day of creation, channel, metric and parent: what was compared and what differed. */
export const RECONCILE_DRIFT_TABLE: TableSpec = {
  description:
    'Reconciliation drift by day the deliveries were created, channel, metric and parent type, with sample delivery ids.',
  partitionField: 'run_started_at',
  clustering: ['workspace', 'day'],
  fields: [
    f('run_id', 'STRING', 'The run (reconcile_runs.run_id).', 'REQUIRED'),
    f('workspace', 'STRING', 'Customer.io workspace.', 'REQUIRED'),
    f('run_started_at', 'TIMESTAMP', 'reconcile_runs.started_at.', 'REQUIRED'),
    f('day', 'DATE', 'UTC day Customer.io created the deliveries.', 'REQUIRED'),
    f(
      'channel',
      'STRING',
      'The webhook object_type (email, sms (App API: twilio), push, in_app, ...).',
      'REQUIRED',
    ),
    f(
      'metric',
      'STRING',
      'sent, delivered, opened, human_opened, clicked, human_clicked, bounced, ...',
      'REQUIRED',
    ),
    f('parent_type', 'STRING', 'campaign, broadcast, newsletter, transactional or unknown.', 'REQUIRED'),
    f('customerio', 'INTEGER', 'First occurrences Customer.io records.'),
    f('matched', 'INTEGER', 'Of those, held by the warehouse too.'),
    f('missing_here', 'INTEGER', 'Of those, lacking in the warehouse.'),
    f('only_here', 'INTEGER', 'Held by the warehouse, not recorded by Customer.io.'),
    f('repaired', 'INTEGER', "Rows written for this group (source = 'app_api')."),
    f('sample_missing', 'STRING', 'Up to 5 delivery ids missing here.', 'REPEATED'),
    f('sample_only_here', 'STRING', 'Up to 5 delivery ids only here.', 'REPEATED'),
  ],
};

/** The JSON Terraform's google_bigquery_table `schema` takes (and `bq mk --schema` accepts). */
export function toBigQueryJson(spec: TableSpec): string {
  return JSON.stringify(spec.fields, null, 2) + '\n';
}
