# The queue between the receiver and the processor. Customer.io already got its 200 for every message here, so the
# queue must not lose them: retention of days, a dead-letter topic for messages the processor keeps failing on,
# and a subscription on that topic so dead letters are kept until someone looks.

resource "google_pubsub_topic" "events" {
  project = var.project_id
  name    = var.events_topic

  # Topic retention lets a subscription be seeked back (replayed) after a processor bug; the ledger dedupes.
  message_retention_duration = var.events_retention

  depends_on = [time_sleep.apis_enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  project                    = var.project_id
  name                       = local.dead_letter_topic
  message_retention_duration = var.dead_letter_retention

  depends_on = [time_sleep.apis_enabled]
}

# Messages published to a topic without subscriptions are dropped, so this must exist before anything is
# dead-lettered (the processor subscription depends on it).
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = local.dead_letter_subscription
  topic   = google_pubsub_topic.dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention

  expiration_policy {
    ttl = "" # never expires, however long nobody pulls
  }
}

resource "google_pubsub_subscription" "processor" {
  project = var.project_id
  name    = local.processor_subscription
  topic   = google_pubsub_topic.events.id

  # For push, the ack deadline is also the request timeout: match the processor's timeout.
  ack_deadline_seconds       = var.processor_timeout_seconds
  message_retention_duration = var.events_retention

  push_config {
    # The run.app URL: Pub/Sub in the same project counts as internal traffic only when it pushes to the default
    # run.app URL, which is what lets the processor accept internal traffic only.
    push_endpoint = google_cloudfunctions2_function.processor.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.processor.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_pubsub_subscription.dead_letter,
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
    google_cloud_run_service_iam_member.push_invokes_processor,
    google_service_account_iam_member.pubsub_agent_mints_push_tokens,
  ]
}
