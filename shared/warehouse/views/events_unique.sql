-- events_unique: one row per event (workspace, event_id), the earliest-received copy, without synthetic events (event_id starting with
-- 'cio-webhooks-synthetic-': `cio-webhooks smoke` test events; SYNTHETIC_EVENT_ID_PREFIX in shared/customerio/event.ts),
-- and one row per (delivery, metric) that came from Customer.io's App API only while no webhook brought that
-- (delivery, metric).
-- The ledger already lands one row per event_id; this is defence in depth (a streaming insert retried after the
-- insertId dedupe window, a manual backfill). Every view reads this one, never the table.
-- workspace is 'default' for rows from before workspaces existed (NULL in the table). An event's identity is
-- (workspace, event_id): two workspaces may send the same event_id, and those are two events.
-- Rows written by backfill / reconcile --repair (source = 'app_api', the first occurrence of a delivery's metric
-- the webhooks had not brought) are dropped once a webhook row of the same workspace, delivery, metric and kind (a
-- prefetched open and a person's open are different kinds, so are a machine's click and a person's) is in the
-- table: a late webhook after a repair never counts twice, and every view counts a (delivery, metric) once,
-- wherever it came from.
-- Derived columns, so that every view agrees on them:
--   occurred_at         event_timestamp (when it happened), else received_at when the body had no timestamp.
--   person_key          'cio_' + identifiers.cio_id, else identifiers.id: the person the processor acts on (never
--                       the email). NULL when the event names neither.
--   bounce_type         for `bounced` events only: 'soft' when the failure message carries a temporary SMTP code
--                       (a 4xx reply or 4.x.x enhanced status) and no permanent one (5xx, 5.x.x), else 'hard' (a
--                       permanent code, or no code at all: Customer.io reports permanent failures as `bounced`). The
--                       two patterns are the action policy's own (shared/customerio/bounce.ts), so a soft bounce
--                       here is exactly one the processor left alone. NULL for other metrics. `dropped` (not
--                       attempted: the address was already suppressed) is not a bounce; `deferred` is counted as a
--                       soft bounce by person_channel_state, not here.
--   source              'webhook' or 'app_api' (the column is NULL on webhook rows).
--   unsubscribe_source  for `unsubscribed` events only: 'complaint_writeback' for a `customer` unsubscribe that
--                       followed a complaint write-back which set `unsubscribed` for that person
--                       (identify:email_complained_unsubscribed, CIO_SPAM_UNSUBSCRIBE=true) within 7 days of the
--                       complaint's receipt, else 'person' (the person's own choice). NULL for other metrics.
-- Portable SQL (BigQuery and DuckDB): no backslashes in literals, REGEXP_EXTRACT without capture groups (DuckDB
-- returns '' where BigQuery returns NULL, hence NULLIF).
WITH ranked AS (
  SELECT
    *,
    COALESCE(workspace, 'default') AS workspace_key,
    ROW_NUMBER() OVER (PARTITION BY COALESCE(workspace, 'default'), event_id ORDER BY received_at) AS copy_rank,
    COALESCE('cio_' || NULLIF(TRIM(cio_id), ''), CASE WHEN TRIM(person_id) <> '' THEN person_id END) AS person_key,
    COUNT(CASE WHEN source IS NULL OR source = 'webhook' THEN 1 END) OVER (
      PARTITION BY
        COALESCE(workspace, 'default'),
        delivery_id,
        metric,
        CASE
          WHEN metric = 'opened' THEN COALESCE(JSON_VALUE(data, '$.prefetched') = 'true', FALSE)
          WHEN metric = 'clicked' THEN COALESCE(JSON_VALUE(data, '$.machine') = 'true', FALSE)
        END
    ) AS webhook_copies
  FROM ${events}
),
complaint_writebacks AS (
  SELECT workspace_key, person_key, received_at
  FROM ranked
  WHERE copy_rank = 1
    AND metric = 'spammed'
    -- The token itself, not dry_run:… (a dry run wrote nothing, so Customer.io sent no unsubscribe).
    AND STRPOS(' ' || ARRAY_TO_STRING(actions, ' ') || ' ', ' identify:email_complained_unsubscribed ') > 0
)
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
  object_type_type,
  body,
  truncated,
  workspace_key AS workspace,
  COALESCE(source, 'webhook') AS source,
  COALESCE(event_timestamp, received_at) AS occurred_at,
  person_key,
  CASE
    WHEN metric = 'bounced' THEN
      CASE
        WHEN NULLIF(REGEXP_EXTRACT(failure_message, '(?:^|[^0-9.])4(?:[0-9][0-9]|[.][0-9]{1,3}[.][0-9]{1,3})(?:[^0-9]|$)'), '') IS NOT NULL
          AND NULLIF(REGEXP_EXTRACT(failure_message, '(?:^|[^0-9.])5(?:[0-9][0-9]|[.][0-9]{1,3}[.][0-9]{1,3})(?:[^0-9]|$)'), '') IS NULL
          THEN 'soft'
        ELSE 'hard'
      END
  END AS bounce_type,
  CASE
    WHEN metric = 'unsubscribed' THEN
      CASE
        WHEN object_type = 'customer' AND EXISTS (
          SELECT 1
          FROM complaint_writebacks AS w
          WHERE w.workspace_key = ranked.workspace_key
            AND w.person_key = ranked.person_key
            AND COALESCE(ranked.event_timestamp, ranked.received_at) >= w.received_at - INTERVAL 5 MINUTE
            AND COALESCE(ranked.event_timestamp, ranked.received_at) <= w.received_at + INTERVAL 7 DAY
        ) THEN 'complaint_writeback'
        ELSE 'person'
      END
  END AS unsubscribe_source
FROM ranked
WHERE copy_rank = 1
  AND NOT STARTS_WITH(event_id, 'cio-webhooks-synthetic-')
  AND (source IS NULL OR source <> 'app_api' OR webhook_copies = 0)
