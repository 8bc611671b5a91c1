# cio-webhooks on Google Cloud: Customer.io -> cioWebhook -> Pub/Sub -> cioProcessor -> Firestore ledger,
# Customer.io Track API, BigQuery. One root module, split by concern:
#   apis.tf       required APIs            iam.tf        service accounts and every grant
#   secrets.tf    Secret Manager           pubsub.tf     topic, push subscription, dead letters
#   source.tf     source and build images  functions.tf  both Cloud Run functions (gen2)
#   firestore.tf  ledger database, fields  bigquery.tf   dataset and tables (views.tf: views)
#   monitoring.tf log metrics and alerts   logging.tf    what Cloud Logging keeps
#   outputs.tf    what the operator needs next

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = var.labels
}

# Only for google_project_service_identity (iam.tf), which the GA provider does not have.
provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = var.labels
}

locals {
  webhook_function   = "${var.name_prefix}-webhook"
  processor_function = "${var.name_prefix}-processor"

  dead_letter_topic        = "${var.events_topic}-dead-letter"
  processor_subscription   = "${var.events_topic}-processor"
  dead_letter_subscription = "${var.events_topic}-dead-letter"

  signing_keys_secret  = "${var.name_prefix}-webhook-signing-keys"
  track_site_id_secret = "${var.name_prefix}-track-site-id"
  track_api_key_secret = "${var.name_prefix}-track-api-key"

  # The processor always uses the project's (default) database: shared/config.ts has no database setting.
  firestore_database = "(default)"
}

# The project number names Cloud Functions' source bucket (iam.tf). Read after the APIs are on: a new project may
# not have the Cloud Resource Manager API enabled when the plan starts.
data "google_project" "this" {
  project_id = var.project_id

  depends_on = [time_sleep.apis_enabled]
}
