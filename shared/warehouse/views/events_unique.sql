-- events_unique: one row per event_id, the earliest-received copy, without synthetic events (event_id starting with
-- 'cio-webhooks-synthetic-': `cio-webhooks smoke` test events; SYNTHETIC_EVENT_ID_PREFIX in shared/customerio/event.ts).
-- The ledger already lands one row per event_id; this is defence in depth (a streaming insert retried after the
-- insertId dedupe window, a manual backfill). Every view reads this one, never the table.
-- Two derived columns, so that every view agrees on them:
--   occurred_at  event_timestamp (when it happened), else received_at when the body had no timestamp.
--   bounce_type  for `bounced` events only: 'soft' when the failure message carries a 4xx SMTP reply or a 4.x.x
--                enhanced status code before any 5xx one (a temporary failure), else 'hard' (5xx, 5.x.x, or no
--                code at all: Customer.io reports permanent failures as `bounced`). NULL for other metrics.
--                `dropped` (not attempted: the address was already suppressed) is not a bounce; `deferred` is
--                counted as a soft bounce by person_channel_state, not here.
-- Portable SQL (BigQuery and DuckDB): no backslashes in literals, REGEXP_EXTRACT without capture groups (DuckDB
-- returns '' where BigQuery returns NULL, hence NULLIF).
SELECT
  event_id,
  object_type,
  metric,
  event_timestamp,
  received_at,
  person_id,
  person_email,
  cio_id,
  customer_id,
  delivery_id,
  action_id,
  campaign_id,
  broadcast_id,
  newsletter_id,
  journey_id,
  transactional_message_id,
  recipient,
  subject,
  href,
  link_id,
  failure_message,
  data,
  actions,
  COALESCE(event_timestamp, received_at) AS occurred_at,
  CASE
    WHEN metric <> 'bounced' THEN NULL
    -- The first SMTP code in the message (reply code 4xx/5xx or enhanced code 4.x.x/5.x.x, not part of a longer
    -- number), then its class digit.
    WHEN NULLIF(
      REGEXP_EXTRACT(
        NULLIF(
          REGEXP_EXTRACT(
            failure_message,
            '(?:^|[^0-9.])[45](?:[0-9][0-9]|[.][0-9]{1,3}[.][0-9]{1,3})(?:[^0-9]|$)'
          ),
          ''
        ),
        '[45]'
      ),
      ''
    ) = '4' THEN 'soft'
    ELSE 'hard'
  END AS bounce_type
FROM (
  SELECT
    *,
    ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at) AS copy_rank
  FROM ${events}
) AS ranked
WHERE copy_rank = 1 AND NOT STARTS_WITH(event_id, 'cio-webhooks-synthetic-')
