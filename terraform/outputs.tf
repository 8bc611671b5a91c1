output "webhook_url" {
  description = "Paste into Customer.io: Data & Integrations > Reporting Webhooks > your webhook > URL."
  value       = google_cloudfunctions2_function.webhook.service_config[0].uri
}

output "processor_url" {
  description = "The processor's URL (internal ingress; only the push identity may invoke it)."
  value       = google_cloudfunctions2_function.processor.service_config[0].uri
}

output "signing_key_secret" {
  description = "Secret Manager secret that holds CIO_WEBHOOK_SIGNING_KEYS (comma-separated reporting-webhook signing keys)."
  value       = google_secret_manager_secret.webhook_signing_keys.id
}

output "signing_key_add_version_command" {
  description = "Adds a signing-key version (export CIO_WEBHOOK_SIGNING_KEYS first; for rotation give \"old,new\"). New instances read the latest version."
  value       = "printf '%s' \"$CIO_WEBHOOK_SIGNING_KEYS\" | gcloud secrets versions add ${local.signing_keys_secret} --project=${var.project_id} --data-file=-"
}

output "track_credentials_add_version_commands" {
  description = "Add the Track API credentials (export CIO_SITE_ID and CIO_TRACK_API_KEY first), then set track_api_enabled = true and apply."
  value = [
    "printf '%s' \"$CIO_SITE_ID\" | gcloud secrets versions add ${local.track_site_id_secret} --project=${var.project_id} --data-file=-",
    "printf '%s' \"$CIO_TRACK_API_KEY\" | gcloud secrets versions add ${local.track_api_key_secret} --project=${var.project_id} --data-file=-",
  ]
}

output "track_api_mode" {
  description = "live when the processor calls the Track API, dry-run when it only records the actions it would take."
  value       = var.track_api_enabled ? "live" : "dry-run"
}

output "events_topic" {
  description = "Pub/Sub topic the webhook publishes to."
  value       = google_pubsub_topic.events.id
}

output "processor_subscription" {
  description = "Push subscription feeding the processor."
  value       = google_pubsub_subscription.processor.id
}

output "dead_letter_subscription" {
  description = "Where events the processor failed max_delivery_attempts times are kept (pull them to inspect or replay)."
  value       = google_pubsub_subscription.dead_letter.id
}

output "bigquery_dataset" {
  description = "Dataset holding the events and rejected-events tables, as project.dataset."
  value       = "${var.project_id}.${google_bigquery_dataset.warehouse.dataset_id}"
}

output "bigquery_tables" {
  description = "Fully qualified events and rejected-events tables."
  value = {
    events          = "${var.project_id}.${var.bq_dataset}.${google_bigquery_table.events.table_id}"
    rejected_events = "${var.project_id}.${var.bq_dataset}.${google_bigquery_table.rejected_events.table_id}"
  }
}
