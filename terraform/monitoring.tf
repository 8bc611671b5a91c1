# What an operator must hear about from day one. Each alert's documentation says what it means and what to do.

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

  depends_on = [google_project_service.apis]
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

  depends_on = [google_project_service.apis]
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

  depends_on = [google_project_service.apis]
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

resource "google_monitoring_alert_policy" "signature_failures" {
  project               = var.project_id
  display_name          = "cio-webhooks: webhook rejects Customer.io signatures"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.notification_channels

  # Customer.io waits an hour after a 401 before retrying, holding back every later event: with a wrong key the
  # whole stream stalls at about one rejected request per hour. So one failure in any 10 minutes alerts.
  conditions {
    display_name = "Signed webhook requests failing verification"

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

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: webhook rejecting signed requests"
    content   = <<-EOT
      The webhook answered signed requests with 401 (metric label `reason`: mismatch, malformed, stale, future).
      If Customer.io is the sender, its stream is stalled: Customer.io retries a rejected event only after an hour
      and holds every later event behind it. Usual cause (mismatch): the secret `${local.signing_keys_secret}` does
      not hold the reporting webhook's current signing key. Add a version holding "old,new" keys
      (comma-separated); new instances read it. stale/future: check the clock or CIO_SIGNATURE_MAX_AGE_SECONDS.
      Logs: `resource.labels.service_name="${local.webhook_function}" jsonPayload.outcome="rejected_signature"`.
    EOT
  }

  depends_on = [time_sleep.log_metrics_registered, google_cloudfunctions2_function.webhook]
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
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "resource.labels.service_name=\"${local.webhook_function}\"",
        "metric.type=\"run.googleapis.com/request_count\"",
        "metric.labels.response_code_class=\"5xx\"",
      ])
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
      More than 5 webhook requests in 5 minutes ended in 5xx. A 503 means the publish to Pub/Sub failed or timed
      out; Customer.io retries those, so nothing is lost yet, but deliveries are delayed. Check the webhook's logs
      and the Pub/Sub topic `${var.events_topic}` (quota, permissions of the webhook service account).
    EOT
  }

  depends_on = [google_cloudfunctions2_function.webhook]
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
      ${var.dead_letter_retention}. Inspect them without acknowledging:
      `gcloud pubsub subscriptions pull ${local.dead_letter_subscription} --project=${var.project_id} --limit=10`.
      Find the cause in the processor's logs, fix it, then replay them onto `${var.events_topic}` with the project's
      CLI: `cio-webhooks replay-dead-letters --project ${var.project_id}` (the ledger makes replays safe).
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
      completed), a crash, or a configuration error that stops instances from starting. Logs:
      `resource.labels.service_name="${local.processor_function}" severity>=ERROR`.
    EOT
  }

  depends_on = [time_sleep.log_metrics_registered, google_cloudfunctions2_function.processor]
}
