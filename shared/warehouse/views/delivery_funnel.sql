-- delivery_funnel: per day, channel and message origin (campaign / broadcast / newsletter / transactional message,
-- with its action), how many deliveries reached each stage. Every count is a number of deliveries (distinct
-- delivery_id), never of events: repeated opens or clicks of one delivery count once.
--
-- day: the UTC date of the delivery's `sent` event (the earliest, if several); for a delivery whose `sent` event
--   never arrived, the date of its earliest event. A delivery therefore stays on one day however late its opens,
--   clicks or complaints arrive, and rates compare like with like.
-- Stages imply earlier ones (events arrive out of order, and some are never sent at all):
--   clicked    a human click (data.machine is not true)
--   opened     a human open (neither data.prefetched nor data.proxied is true), or a human click
--   delivered  a `delivered` event, or any open, click, complaint or unsubscribe of the delivery
--   sent       a `sent` event, or delivered, bounced or converted
--   converted, bounced, spammed, unsubscribed: the delivery has at least one such event
-- Counted separately, outside opened/clicked:
--   opened_proxied_only   deliveries whose only open signals were prefetched/proxied opens (privacy proxies,
--                         scanners), with no human open or click
--   clicked_machine_only  deliveries whose only clicks were machine clicks (link scanners)
-- Events of metrics outside these (drafted, attempted, failed, dropped, deferred, undeliverable, replied, and any
-- metric Customer.io adds later) change no count; a delivery with only such events has no row.
-- Rates: *_per_sent over sent, *_per_delivered over delivered; NULL when the denominator is 0.
WITH delivery_events AS (
  SELECT
    delivery_id,
    object_type,
    metric,
    occurred_at,
    action_id,
    campaign_id,
    broadcast_id,
    newsletter_id,
    transactional_message_id,
    -- JSON_VALUE returns the JSON scalar as a string on both engines ('true'); NULL when the field is absent.
    COALESCE(JSON_VALUE(data, '$.machine') = 'true', FALSE) AS is_machine,
    COALESCE(
      JSON_VALUE(data, '$.prefetched') = 'true' OR JSON_VALUE(data, '$.proxied') = 'true',
      FALSE
    ) AS is_proxied
  FROM ${events_unique}
  WHERE delivery_id IS NOT NULL
),
deliveries AS (
  SELECT
    delivery_id,
    -- One delivery is one message of one action: these agree across its events; MAX skips events lacking them.
    MAX(object_type) AS object_type,
    MAX(action_id) AS action_id,
    MAX(campaign_id) AS campaign_id,
    MAX(broadcast_id) AS broadcast_id,
    MAX(newsletter_id) AS newsletter_id,
    MAX(transactional_message_id) AS transactional_message_id,
    MIN(CASE WHEN metric = 'sent' THEN occurred_at END) AS sent_at,
    MIN(occurred_at) AS first_event_at,
    COUNT(CASE WHEN metric IN ('sent', 'delivered', 'opened', 'clicked', 'converted', 'bounced', 'spammed', 'unsubscribed') THEN 1 END) > 0 AS in_funnel,
    COUNT(CASE WHEN metric = 'sent' THEN 1 END) > 0 AS has_sent,
    COUNT(CASE WHEN metric = 'delivered' THEN 1 END) > 0 AS has_delivered,
    COUNT(CASE WHEN metric = 'opened' AND NOT is_proxied THEN 1 END) > 0 AS has_human_open,
    COUNT(CASE WHEN metric = 'opened' AND is_proxied THEN 1 END) > 0 AS has_proxied_open,
    COUNT(CASE WHEN metric = 'clicked' AND NOT is_machine THEN 1 END) > 0 AS has_human_click,
    COUNT(CASE WHEN metric = 'clicked' AND is_machine THEN 1 END) > 0 AS has_machine_click,
    COUNT(CASE WHEN metric = 'converted' THEN 1 END) > 0 AS has_converted,
    COUNT(CASE WHEN metric = 'bounced' THEN 1 END) > 0 AS has_bounced,
    COUNT(CASE WHEN metric = 'spammed' THEN 1 END) > 0 AS has_spammed,
    COUNT(CASE WHEN metric = 'unsubscribed' THEN 1 END) > 0 AS has_unsubscribed
  FROM delivery_events
  GROUP BY delivery_id
),
stages AS (
  SELECT
    DATE(COALESCE(sent_at, first_event_at)) AS day,
    object_type,
    CASE
      WHEN campaign_id IS NOT NULL THEN 'campaign'
      WHEN broadcast_id IS NOT NULL THEN 'broadcast'
      WHEN newsletter_id IS NOT NULL THEN 'newsletter'
      WHEN transactional_message_id IS NOT NULL THEN 'transactional'
      ELSE 'unknown'
    END AS origin_type,
    COALESCE(campaign_id, broadcast_id, newsletter_id, transactional_message_id) AS origin_id,
    action_id,
    has_human_click AS clicked,
    has_human_open OR has_human_click AS opened,
    has_delivered OR has_human_open OR has_proxied_open OR has_human_click OR has_machine_click
      OR has_spammed OR has_unsubscribed AS delivered,
    has_sent OR has_delivered OR has_human_open OR has_proxied_open OR has_human_click OR has_machine_click
      OR has_spammed OR has_unsubscribed OR has_bounced OR has_converted AS sent,
    has_converted AS converted,
    has_bounced AS bounced,
    has_spammed AS spammed,
    has_unsubscribed AS unsubscribed,
    has_proxied_open AND NOT has_human_open AND NOT has_human_click AS opened_proxied_only,
    has_machine_click AND NOT has_human_click AS clicked_machine_only
  FROM deliveries
  WHERE in_funnel
),
counts AS (
  SELECT
    day,
    object_type,
    origin_type,
    origin_id,
    action_id,
    COUNT(CASE WHEN sent THEN 1 END) AS sent,
    COUNT(CASE WHEN delivered THEN 1 END) AS delivered,
    COUNT(CASE WHEN opened THEN 1 END) AS opened,
    COUNT(CASE WHEN clicked THEN 1 END) AS clicked,
    COUNT(CASE WHEN converted THEN 1 END) AS converted,
    COUNT(CASE WHEN bounced THEN 1 END) AS bounced,
    COUNT(CASE WHEN spammed THEN 1 END) AS spammed,
    COUNT(CASE WHEN unsubscribed THEN 1 END) AS unsubscribed,
    COUNT(CASE WHEN opened_proxied_only THEN 1 END) AS opened_proxied_only,
    COUNT(CASE WHEN clicked_machine_only THEN 1 END) AS clicked_machine_only
  FROM stages
  GROUP BY day, object_type, origin_type, origin_id, action_id
)
SELECT
  *,
  delivered / NULLIF(sent, 0) AS delivered_per_sent,
  opened / NULLIF(sent, 0) AS opened_per_sent,
  clicked / NULLIF(sent, 0) AS clicked_per_sent,
  converted / NULLIF(sent, 0) AS converted_per_sent,
  bounced / NULLIF(sent, 0) AS bounced_per_sent,
  spammed / NULLIF(sent, 0) AS spammed_per_sent,
  unsubscribed / NULLIF(sent, 0) AS unsubscribed_per_sent,
  opened / NULLIF(delivered, 0) AS opened_per_delivered,
  clicked / NULLIF(delivered, 0) AS clicked_per_delivered,
  converted / NULLIF(delivered, 0) AS converted_per_delivered,
  spammed / NULLIF(delivered, 0) AS spammed_per_delivered,
  unsubscribed / NULLIF(delivered, 0) AS unsubscribed_per_delivered
FROM counts
