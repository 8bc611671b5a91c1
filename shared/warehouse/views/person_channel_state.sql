-- person_channel_state: per workspace, person and channel (object_type), the latest engagement and deliverability events:
-- what a sunset policy or a suppression audit needs.
--
-- person_key: 'cio_' + identifiers.cio_id, else identifiers.id (events_unique): the profile the processor acts on.
--   Events that name neither are left out (the email alone does not identify a person).
-- last_opened_at: the latest human open (not prefetched; proxied opens are people) or human click (a click implies
--   an open);
-- last_clicked_at: the latest human click (machine clicks excluded); last_sent_at / last_delivered_at: the latest
--   event of that metric. All times are when the event happened (occurred_at), whatever order they arrived in.
-- hard_bounced_at / complained_at / unsubscribed_at: the latest hard bounce (bounce_type, see events_unique),
--   `spammed`, and `unsubscribed` event of the person's own choice. A later resubscribe does not clear
--   unsubscribed_at. unsubscribed_by_writeback_at: the latest unsubscribe caused by the pipeline's own complaint
--   write-back (unsubscribe_source, see events_unique): consent evidence is the person's, not ours.
-- soft_bounces_7d: soft-bounce events (bounced with an SMTP 4xx / 4.x.x code, or `deferred`) in the 7 days before
--   the query runs; every retry Customer.io reports counts. `dropped` (not attempted: the address was already
--   suppressed) is neither a hard nor a soft bounce.
WITH person_events AS (
  SELECT
    workspace,
    person_key,
    person_id,
    cio_id,
    person_email,
    object_type AS channel,
    metric,
    bounce_type,
    unsubscribe_source,
    occurred_at,
    COALESCE(JSON_VALUE(data, '$.machine') = 'true', FALSE) AS is_machine,
    COALESCE(JSON_VALUE(data, '$.prefetched') = 'true', FALSE) AS is_prefetched
  FROM ${events_unique}
)
SELECT
  workspace,
  person_key,
  channel,
  MAX(person_id) AS person_id,
  MAX(cio_id) AS cio_id,
  MAX(person_email) AS person_email,
  MAX(CASE WHEN metric = 'sent' THEN occurred_at END) AS last_sent_at,
  MAX(CASE WHEN metric = 'delivered' THEN occurred_at END) AS last_delivered_at,
  MAX(
    CASE
      WHEN metric = 'opened' AND NOT is_prefetched THEN occurred_at
      WHEN metric = 'clicked' AND NOT is_machine THEN occurred_at
    END
  ) AS last_opened_at,
  MAX(CASE WHEN metric = 'clicked' AND NOT is_machine THEN occurred_at END) AS last_clicked_at,
  MAX(CASE WHEN bounce_type = 'hard' THEN occurred_at END) AS hard_bounced_at,
  MAX(CASE WHEN metric = 'spammed' THEN occurred_at END) AS complained_at,
  MAX(CASE WHEN unsubscribe_source = 'person' THEN occurred_at END) AS unsubscribed_at,
  MAX(CASE WHEN unsubscribe_source = 'complaint_writeback' THEN occurred_at END) AS unsubscribed_by_writeback_at,
  COUNT(
    CASE
      WHEN (bounce_type = 'soft' OR metric = 'deferred') AND occurred_at >= CURRENT_TIMESTAMP - INTERVAL 7 DAY
        THEN 1
    END
  ) AS soft_bounces_7d
FROM person_events
WHERE person_key IS NOT NULL
GROUP BY workspace, person_key, channel
