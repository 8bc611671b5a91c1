output "webhook_url" {
  description = "Paste into Customer.io: Data & Integrations > Reporting Webhooks > your webhook > URL."
  value       = google_cloudfunctions2_function.webhook.service_config[0].uri
}

output "webhook_urls" {
  description = "The webhook URL of every workspace: default (POST /) and each label of var.workspaces (POST /<label>). Paste each into that workspace's reporting webhook in Customer.io."
  value = merge(
    { default = google_cloudfunctions2_function.webhook.service_config[0].uri },
    { for label in local.workspace_labels : label => "${google_cloudfunctions2_function.webhook.service_config[0].uri}/${label}" },
  )
}

output "processor_url" {
  description = "The processor's URL (internal ingress; only the push identity may invoke it)."
  value       = google_cloudfunctions2_function.processor.service_config[0].uri
}

output "smoke_command" {
  description = "Proves the deployment end to end: one signed synthetic event through the webhook, the queue and the processor into BigQuery. Run from the repository (npm ci) with the signing key in $KEY."
  value = join(" ", [
    "npx cio-webhooks smoke",
    "--url ${google_cloudfunctions2_function.webhook.service_config[0].uri}",
    "--key-file <(printf %s \"$KEY\")",
    "--project ${var.project_id}",
    "--dataset ${var.bq_dataset}",
    "--table ${var.bq_events_table}",
    "--processor ${local.processor_function}",
  ])
}

output "signing_key_secret" {
  description = "Secret Manager secret that holds CIO_WEBHOOK_SIGNING_KEYS (comma-separated reporting-webhook signing keys)."
  value       = google_secret_manager_secret.webhook_signing_keys.id
}

output "signing_keys_secret_version" {
  description = "The secret version the webhook reads. Each raise of webhook_signing_keys_version writes a new one and rolls out a webhook revision pinned to it."
  value       = google_secret_manager_secret_version.webhook_signing_keys.version
}

output "webhook_public_access_command" {
  description = "With webhook_public_invoker = false: the command that makes the webhook public without an allUsers grant (run it after every apply that changes the webhook; README: Deploy, organisation policies)."
  value       = var.webhook_public_invoker ? null : "gcloud run services update ${local.webhook_function} --region=${var.region} --project=${var.project_id} --no-invoker-iam-check"
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

output "app_api_key_add_version_command" {
  description = "Add the default workspace's App API key to its secret (export CIO_APP_API_KEY first), then set reconcile_enabled = true and apply."
  value       = "printf '%s' \"$CIO_APP_API_KEY\" | gcloud secrets versions add ${local.app_api_key_secret} --project=${var.project_id} --data-file=-"
}
