-- deliverability_daily: per workspace, UTC day (of each event) and recipient domain, email only: volumes and the bounce,
-- complaint and unsubscribe rates mailbox providers judge a sender by, with the Gmail/Yahoo bulk-sender complaint
-- thresholds applied.
--
-- recipient_domain: the lower-cased domain of data.recipient, else of the person's email (identifiers.email).
-- Counts are distinct deliveries (an event without delivery_id counts as its own delivery) whose event of that
-- metric happened that day: a complaint about Monday's mail that arrives on Thursday counts on Thursday, the way
-- Postmaster Tools and Yahoo's feedback loop count it.
--   bounced = hard_bounced + soft_bounced (bounce_type from events_unique: SMTP 4xx / 4.x.x = soft, else hard)
--   complaints = `spammed` events
-- Rates: bounce_rate and hard_bounce_rate over sent; complaint_rate and unsubscribe_rate over delivered (Gmail
-- divides spam reports by mail delivered); NULL when the denominator is 0.
-- complaint_flag, from the Gmail/Yahoo bulk-sender requirements (Feb 2024): 'ok' below 0.1%, 'warn' from 0.1%
-- (keep the rate below it), 'limit' from 0.3% (never reach it); NULL without deliveries that day. Compared in
-- integers, so the boundaries are exact.
-- complaint_note: Gmail does not send per-message complaint feedback to most senders, so `spammed` undercounts
-- Gmail complaints: the full Gmail rate is only visible in Google Postmaster Tools.
WITH email_events AS (
  SELECT
    workspace,
    DATE(occurred_at) AS day,
    TRIM(SUBSTR(NULLIF(REGEXP_EXTRACT(LOWER(COALESCE(recipient, person_email)), '@[^@<> ]+'), ''), 2)) AS recipient_domain,
    COALESCE(delivery_id, event_id) AS delivery_key,
    metric,
    bounce_type
  FROM ${events_unique}
  WHERE object_type = 'email'
),
counts AS (
  SELECT
    workspace,
    day,
    recipient_domain,
    COUNT(DISTINCT CASE WHEN metric = 'sent' THEN delivery_key END) AS sent,
    COUNT(DISTINCT CASE WHEN metric = 'delivered' THEN delivery_key END) AS delivered,
    COUNT(DISTINCT CASE WHEN metric = 'bounced' THEN delivery_key END) AS bounced,
    COUNT(DISTINCT CASE WHEN bounce_type = 'hard' THEN delivery_key END) AS hard_bounced,
    COUNT(DISTINCT CASE WHEN bounce_type = 'soft' THEN delivery_key END) AS soft_bounced,
    COUNT(DISTINCT CASE WHEN metric = 'spammed' THEN delivery_key END) AS complaints,
    COUNT(DISTINCT CASE WHEN metric = 'unsubscribed' THEN delivery_key END) AS unsubscribed
  FROM email_events
  GROUP BY workspace, day, recipient_domain
)
SELECT
  *,
  bounced / NULLIF(sent, 0) AS bounce_rate,
  hard_bounced / NULLIF(sent, 0) AS hard_bounce_rate,
  complaints / NULLIF(delivered, 0) AS complaint_rate,
  unsubscribed / NULLIF(delivered, 0) AS unsubscribe_rate,
  CASE
    WHEN delivered = 0 THEN NULL
    WHEN complaints * 1000 >= delivered * 3 THEN 'limit'
    WHEN complaints * 1000 >= delivered THEN 'warn'
    ELSE 'ok'
  END AS complaint_flag,
  CASE
    WHEN recipient_domain IN ('gmail.com', 'googlemail.com')
      THEN 'Gmail complaints are only fully visible in Google Postmaster Tools; spammed events undercount them.'
  END AS complaint_note
FROM counts
