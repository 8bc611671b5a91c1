# What an operator must hear about the same day: Customer.io's stream refused (401/403), the webhook failing (5xx),
# the processor down or behind (backlog age, 5xx rate, errors) and events parked (dead letters). Each alert's
# documentation says what it means and what to check first; README (Operations: alerts) has the same list.

locals {
  notification_channels = google_monitoring_notification_channel.email[*].id

  # Application logs only (the functions' stdout/stderr), not Cloud Run's request log: the processor answers a
  # live-lease duplicate with a non-2xx on purpose, and the request log records that as an ERROR.
  app_log_names = join(" OR ", [
    for stream in ["stdout", "stderr"] : "logName=\"projects/${var.project_id}/logs/run.googleapis.com%2F${stream}\""
  ])
}

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == "" ? 0 : 1

  project      = var.project_id
  display_name = "cio-webhooks alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }

  depends_on = [time_sleep.apis_enabled]
}

# --- log-based metrics --------------------------------------------------------------------------------------------

# Requests that carried a signature which did not verify: wrong or rotated key (mismatch), a malformed header, or a
# timestamp outside the window. Requests with no signature at all (reason "unsigned") are left out: Customer.io
# always signs, so those are other internet traffic, not a stalled stream.
resource "google_logging_metric" "signature_failures" {
  project     = var.project_id
  name        = "${var.name_prefix}_webhook_signature_failures"
  description = "Signed webhook requests answered 401 because the signature or its timestamp did not verify (label: reason)."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.webhook_function}\"",
    "(${local.app_log_names})",
    "severity=WARNING",
    "jsonPayload.outcome=\"rejected_signature\"",
    "jsonPayload.reason!=\"unsigned\"",
  ])

  label_extractors = {
    reason = "EXTRACT(jsonPayload.reason)"
  }

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = "reason"
      value_type  = "STRING"
      description = "mismatch (no key verifies it), malformed, stale or future (timestamp outside the window)."
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_logging_metric" "processor_errors" {
  project     = var.project_id
  name        = "${var.name_prefix}_processor_errors"
  description = "ERROR (or worse) log entries written by the processor."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.processor_function}\"",
    "(${local.app_log_names})",
    "severity>=ERROR",
  ])

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [time_sleep.apis_enabled]
}

# A new log-based metric can take minutes before alert policies may reference it ("Cannot find metric(s)"): wait,
# in parallel with the function deployments the alert policies also wait for.
resource "time_sleep" "log_metrics_registered" {
  create_duration = "120s"

  depends_on = [
    google_logging_metric.signature_failures,
    google_logging_metric.processor_errors,
  ]
}

# --- alert policies -----------------------------------------------------------------------------------------------

locals {
  webhook_requests   = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.webhook_function}\" AND metric.type=\"run.googleapis.com/request_count\""
  processor_requests = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.processor_function}\" AND metric.type=\"run.googleapis.com/request_count\""
}

# Customer.io waits an hour after a 401 or 403 before retrying, holding back every later event: a wrong key or a
# webhook that is not public stalls the whole stream at about one rejected request per hour. So one refusal in
# any 10 minutes alerts.
resource "google_monitoring_alert_policy" "webhook_refused" {
  project               = var.project_id
  display_name          = "cio-webhooks: webhook refuses Customer.io (401/403)"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Signed webhook requests failing verification (401)"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "metric.type=\"logging.googleapis.com/user/${google_logging_metric.signature_failures.name}\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  # Cloud Run answers 403 itself, before the function runs, when the caller may not invoke the service: the
  # webhook is not public (no allUsers invoker, invoker IAM check on). The function never answers 403.
  conditions {
    display_name = "Webhook requests refused by Cloud Run IAM (403)"

    condition_threshold {
      filter          = "${local.webhook_requests} AND metric.labels.response_code=\"403\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: webhook refusing Customer.io (401/403)"
    content   = <<-EOT
      The webhook refused requests that Customer.io may have sent. Customer.io retries a refused event only after
      an hour and holds every later event behind it, so the stream is probably stalled.

      **Check first:** which condition fired.
      - 401, signature: the webhook's log line says why (`reason`: mismatch, malformed, stale, future):
        `gcloud logging read 'resource.labels.service_name="${local.webhook_function}" jsonPayload.outcome="rejected_signature"' --project=${var.project_id} --limit=20`.
        `mismatch` = the keys in secret `${local.signing_keys_secret}` (the version in `terraform output signing_keys_secret_version`)
        do not include the reporting webhook's signing key: write "old,new" keys (README: Operations, rotate the signing key).
        `stale`/`future` = a clock problem or replayed requests.
      - 403: Cloud Run refused the caller before the function ran: the webhook is not public. Check the invoker
        binding (`gcloud run services get-iam-policy ${local.webhook_function} --region=${var.region} --project=${var.project_id}`)
        or, where Domain Restricted Sharing forbids allUsers, that the invoker IAM check is off on the service.
    EOT
  }

  depends_on = [time_sleep.log_metrics_registered, google_cloudfunctions2_function.webhook]
}

moved {
  from = google_monitoring_alert_policy.signature_failures
  to   = google_monitoring_alert_policy.webhook_refused
}

resource "google_monitoring_alert_policy" "webhook_5xx" {
  project               = var.project_id
  display_name          = "cio-webhooks: webhook answers 5xx"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Webhook 5xx responses"

    condition_threshold {
      filter          = "${local.webhook_requests} AND metric.labels.response_code_class=\"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 5
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: webhook returning 5xx"
    content   = <<-EOT
      More than 5 webhook requests in 5 minutes ended in 5xx. A 503 from the function means the publish to
      Pub/Sub failed or timed out; Customer.io retries those, so nothing is lost yet, but deliveries are delayed.

      **Check first:** the webhook's `publish_failed` / `publish_timeout` lines and their `grpc_code`:
      `gcloud logging read 'resource.labels.service_name="${local.webhook_function}" severity>=ERROR' --project=${var.project_id} --limit=20`.
      PERMISSION_DENIED: the webhook's service account lost `roles/pubsub.publisher` on topic `${var.events_topic}`.
      No log line at all: instances are not starting (a bad configuration names the variable in the log), or
      Cloud Run is out of instances (`webhook_max_instances`).
    EOT
  }

  depends_on = [google_cloudfunctions2_function.webhook]
}

# The processor is down or behind: messages wait in its push subscription. Pub/Sub redelivers a nacked message
# after up to retry_maximum_backoff and dead-letters it after max_delivery_attempts, so in a healthy deployment no
# message waits longer than about an hour, and almost all are acked within seconds.
resource "google_monitoring_alert_policy" "processor_backlog" {
  project               = var.project_id
  display_name          = "cio-webhooks: processor behind (oldest unacked event)"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Oldest unacknowledged message in ${local.processor_subscription}"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"pubsub_subscription\"",
        "resource.labels.subscription_id=\"${local.processor_subscription}\"",
        "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_backlog_age_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: events waiting for the processor"
    content   = <<-EOT
      An event has waited more than ${var.alert_backlog_age_seconds} s in `${local.processor_subscription}`: the processor is
      down, failing, or slower than the traffic. Nothing is lost yet (the subscription keeps messages for
      ${var.events_retention}); rows and profile actions are late.

      **Check first:** the processor's outcomes in the last hour:
      `gcloud logging read 'resource.labels.service_name="${local.processor_function}" jsonPayload.outcome!="processed"' --project=${var.project_id} --freshness=1h --limit=20`.
      `retryable_failure` lines name the failing step (`track`, `warehouse`, `claim`) and its error. No processor
      lines at all: pushes are not arriving (the push identity may not invoke the processor, or instances fail
      to start). Many `processed` lines and a growing backlog: raise `processor_max_instances`.
    EOT
  }

  depends_on = [google_pubsub_subscription.processor]
}

# The share of deliveries the processor answers with 5xx. Some are deliberate (503 nacks a retryable failure, or
# a duplicate delivery while the first is in progress), so the alert is on a sustained share, not a count.
resource "google_monitoring_alert_policy" "processor_5xx" {
  project               = var.project_id
  display_name          = "cio-webhooks: processor failing deliveries (5xx rate)"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "More than 10% of processor deliveries answered 5xx for 15 minutes"

    condition_threshold {
      filter             = "${local.processor_requests} AND metric.labels.response_code_class=\"5xx\""
      denominator_filter = local.processor_requests
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.1
      duration           = "900s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: processor answering 5xx"
    content   = <<-EOT
      For 15 minutes more than 10% of the pushes to the processor were answered 5xx. Pub/Sub redelivers them with
      backoff and dead-letters a message after ${var.max_delivery_attempts} failed deliveries.

      **Check first:** the `retryable_failure` lines and their `step` and `classification`:
      `gcloud logging read 'resource.labels.service_name="${local.processor_function}" jsonPayload.outcome="retryable_failure"' --project=${var.project_id} --freshness=1h --limit=20`.
      `track` 5xx/429: Customer.io's Track API is failing (the events wait and retry). `warehouse`: BigQuery
      refuses inserts (billing, quota, the processor's dataEditor grant). `claim`: Firestore. 5xx without any
      processor line: instances crash or fail to start; look for ERROR lines naming a configuration variable.
    EOT
  }

  depends_on = [google_cloudfunctions2_function.processor]
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "cio-webhooks: events dead-lettered"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Messages waiting in the dead-letter subscription"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"pubsub_subscription\"",
        "resource.labels.subscription_id=\"${local.dead_letter_subscription}\"",
        "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: events in the dead-letter subscription"
    content   = <<-EOT
      The processor failed an event ${var.max_delivery_attempts} times and Pub/Sub parked it on
      `${local.dead_letter_topic}`. It is kept in the subscription `${local.dead_letter_subscription}` for
      ${var.dead_letter_retention}; nothing is lost until then.

      **Check first:** why the processor failed it: its ERROR and `retryable_failure` lines from the hour before
      `gcloud logging read 'resource.labels.service_name="${local.processor_function}" severity>=WARNING' --project=${var.project_id} --freshness=6h --limit=50`.
      Then list the dead letters without acknowledging them: `npx cio-webhooks replay-dead-letters --project ${var.project_id} --dry-run`.
      Once the cause is fixed, replay them onto `${var.events_topic}` (the same command without `--dry-run`; the
      ledger makes replays safe).
    EOT
  }

  depends_on = [google_pubsub_subscription.dead_letter]
}

resource "google_monitoring_alert_policy" "processor_errors" {
  project               = var.project_id
  display_name          = "cio-webhooks: processor errors"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Processor ERROR log entries"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "metric.type=\"logging.googleapis.com/user/${google_logging_metric.processor_errors.name}\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: processor logged errors"
    content   = <<-EOT
      The processor logged at ERROR: a permanent Track API failure recorded on the event's row (the event still
      completed), Track credentials refused (401/403: every action waits), a crash, or a configuration error that
      stops instances from starting.

      **Check first:** the lines themselves:
      `gcloud logging read 'resource.labels.service_name="${local.processor_function}" severity>=ERROR' --project=${var.project_id} --freshness=1h --limit=20`.
      `track:credentials:401`/`403`: the Track secrets hold wrong or revoked credentials (rotate them: raise
      `track_credentials_version` and apply with the new values). `error:<action>:<status>` on single events: that
      profile's problem, recorded on its row. A message naming a variable: the configuration.
    EOT
  }

  depends_on = [time_sleep.log_metrics_registered, google_cloudfunctions2_function.processor]
}
