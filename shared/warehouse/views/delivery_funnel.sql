-- delivery_funnel: per workspace, day, channel and message origin (campaign / broadcast / newsletter / transactional message,
-- with its action), how many deliveries reached each stage. Every count is a number of deliveries (distinct
-- delivery_id), never of events: repeated opens or clicks of one delivery count once.
--
-- day: the UTC date of the delivery's `sent` event (the earliest, if several); for a delivery whose `sent` event
--   never arrived, the date of its earliest event. A delivery therefore stays on one day however late its opens,
--   clicks or complaints arrive, and rates compare like with like.
-- Opens and clicks, raw and human. Raw counts are what Customer.io's own reports count; human ones leave out what no
-- person did:
--   opened         any open (prefetched ones included) or any click
--   human_opened   an open that was not prefetched (Apple Mail Privacy Protection, image prefetch), or a human
--                  click. Proxied opens (data.proxied, e.g. Gmail's image proxy) are people: a proxy hides who
--                  opened, it does not invent an open.
--   clicked        any click
--   human_clicked  a click that was not a machine click (data.machine: link scanners, security gateways)
-- Stages imply earlier ones (events arrive out of order, and some are never sent at all):
--   delivered  a `delivered` event, or any open, click, complaint or unsubscribe of the delivery
--   sent       a `sent` event, or delivered, bounced or converted
--   converted, bounced, spammed, unsubscribed: the delivery has at least one such event
-- Events of metrics outside these (drafted, attempted, failed, dropped, deferred, undeliverable, replied, and any
-- metric Customer.io adds later) change no count; a delivery with only such events has no row.
-- Rates: *_per_sent over sent, *_per_delivered over delivered; NULL when the denominator is 0. In Customer.io's
-- newer naming campaigns are "journeys": origin_type 'campaign' is the journey (its per-person journey_id is not
-- aggregated).
WITH delivery_events AS (
  SELECT
    workspace,
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
    COALESCE(JSON_VALUE(data, '$.prefetched') = 'true', FALSE) AS is_prefetched
  FROM ${events_unique}
  WHERE delivery_id IS NOT NULL
),
deliveries AS (
  SELECT
    workspace,
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
    COUNT(CASE WHEN metric = 'opened' THEN 1 END) > 0 AS has_open,
    COUNT(CASE WHEN metric = 'opened' AND NOT is_prefetched THEN 1 END) > 0 AS has_human_open,
    COUNT(CASE WHEN metric = 'clicked' THEN 1 END) > 0 AS has_click,
    COUNT(CASE WHEN metric = 'clicked' AND NOT is_machine THEN 1 END) > 0 AS has_human_click,
    COUNT(CASE WHEN metric = 'converted' THEN 1 END) > 0 AS has_converted,
    COUNT(CASE WHEN metric = 'bounced' THEN 1 END) > 0 AS has_bounced,
    COUNT(CASE WHEN metric = 'spammed' THEN 1 END) > 0 AS has_spammed,
    COUNT(CASE WHEN metric = 'unsubscribed' THEN 1 END) > 0 AS has_unsubscribed
  FROM delivery_events
  GROUP BY workspace, delivery_id
),
stages AS (
  SELECT
    workspace,
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
    has_click AS clicked,
    has_human_click AS human_clicked,
    has_open OR has_click AS opened,
    has_human_open OR has_human_click AS human_opened,
    has_delivered OR has_open OR has_click OR has_spammed OR has_unsubscribed AS delivered,
    has_sent OR has_delivered OR has_open OR has_click OR has_spammed OR has_unsubscribed OR has_bounced
      OR has_converted AS sent,
    has_converted AS converted,
    has_bounced AS bounced,
    has_spammed AS spammed,
    has_unsubscribed AS unsubscribed
  FROM deliveries
  WHERE in_funnel
),
counts AS (
  SELECT
    workspace,
    day,
    object_type,
    origin_type,
    origin_id,
    action_id,
    COUNT(CASE WHEN sent THEN 1 END) AS sent,
    COUNT(CASE WHEN delivered THEN 1 END) AS delivered,
    COUNT(CASE WHEN opened THEN 1 END) AS opened,
    COUNT(CASE WHEN human_opened THEN 1 END) AS human_opened,
    COUNT(CASE WHEN clicked THEN 1 END) AS clicked,
    COUNT(CASE WHEN human_clicked THEN 1 END) AS human_clicked,
    COUNT(CASE WHEN converted THEN 1 END) AS converted,
    COUNT(CASE WHEN bounced THEN 1 END) AS bounced,
    COUNT(CASE WHEN spammed THEN 1 END) AS spammed,
    COUNT(CASE WHEN unsubscribed THEN 1 END) AS unsubscribed
  FROM stages
  GROUP BY workspace, day, object_type, origin_type, origin_id, action_id
)
SELECT
  *,
  delivered / NULLIF(sent, 0) AS delivered_per_sent,
  opened / NULLIF(sent, 0) AS opened_per_sent,
  human_opened / NULLIF(sent, 0) AS human_opened_per_sent,
  clicked / NULLIF(sent, 0) AS clicked_per_sent,
  human_clicked / NULLIF(sent, 0) AS human_clicked_per_sent,
  converted / NULLIF(sent, 0) AS converted_per_sent,
  bounced / NULLIF(sent, 0) AS bounced_per_sent,
  spammed / NULLIF(sent, 0) AS spammed_per_sent,
  unsubscribed / NULLIF(sent, 0) AS unsubscribed_per_sent,
  opened / NULLIF(delivered, 0) AS opened_per_delivered,
  human_opened / NULLIF(delivered, 0) AS human_opened_per_delivered,
  clicked / NULLIF(delivered, 0) AS clicked_per_delivered,
  human_clicked / NULLIF(delivered, 0) AS human_clicked_per_delivered,
  converted / NULLIF(delivered, 0) AS converted_per_delivered,
  spammed / NULLIF(delivered, 0) AS spammed_per_delivered,
  unsubscribed / NULLIF(delivered, 0) AS unsubscribed_per_delivered
FROM counts
