# Identities and grants, least privilege: every grant is on the one resource it concerns, except the Firestore
# role (Firestore has no per-collection IAM) and the build account's log writing and reading of Cloud Functions'
# own source bucket (created by Cloud Functions, so granted by a condition on its name).

resource "google_service_account" "webhook" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-webhook-fn"
  display_name = "cio-webhooks receiver (${local.webhook_function})"
  description  = "Runs cioWebhook: publishes to the events topic and reads the signing-key secret, nothing else."

  depends_on = [time_sleep.apis_enabled]
}

resource "google_service_account" "processor" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-processor-fn"
  display_name = "cio-webhooks processor (${local.processor_function})"
  description  = "Runs cioProcessor: Firestore ledger, BigQuery inserts into its dataset, Track API secrets."

  depends_on = [time_sleep.apis_enabled]
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push-invoker"
  display_name = "cio-webhooks Pub/Sub push identity"
  description  = "Identity in the OIDC token Pub/Sub attaches to pushes; may only invoke the processor."

  depends_on = [time_sleep.apis_enabled]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-functions-build"
  display_name = "cio-webhooks function builds"
  description  = "Cloud Build identity for building both functions (new projects' default build account lacks the roles)."

  depends_on = [time_sleep.apis_enabled]
}

# --- webhook: publish to its topic, read its secret -------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "webhook_publishes_events" {
  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.webhook.member
}

resource "google_secret_manager_secret_iam_member" "webhook_reads_signing_keys" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.webhook_signing_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.webhook.member
}

# --- processor: ledger, warehouse, Track credentials --------------------------------------------------------------

resource "google_project_iam_member" "processor_uses_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.processor.member
}

# tabledata.insertAll needs bigquery.tables.updateData (+ tables.get, datasets.get), all in dataEditor on the
# dataset. No roles/bigquery.jobUser: streaming inserts are not jobs, and the processor runs no queries.
resource "google_bigquery_dataset_iam_member" "processor_writes_warehouse" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.processor.member
}

resource "google_secret_manager_secret_iam_member" "processor_reads_track_site_id" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.track_site_id.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.processor.member
}

resource "google_secret_manager_secret_iam_member" "processor_reads_track_api_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.track_api_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.processor.member
}

# --- invokers -----------------------------------------------------------------------------------------------------

# Gen2 functions are invoked through their Cloud Run service, so invoker grants are roles/run.invoker on that
# service (roles/cloudfunctions.invoker only covers 1st gen). Customer.io cannot authenticate: the webhook is
# public and the HMAC signature is its authentication. Organisations with Domain Restricted Sharing
# (constraints/iam.allowedPolicyMemberDomains) refuse allUsers: webhook_public_invoker = false leaves this grant
# out, and the README (Deploy: organisation policies) gives the two ways to make the webhook public there.
resource "google_cloud_run_service_iam_member" "webhook_public" {
  count = var.webhook_public_invoker ? 1 : 0

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.webhook.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "push_invokes_processor" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.processor.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

# --- Pub/Sub service agent ------------------------------------------------------------------------------------------

# Google creates a service agent when its API is first used, not when it is enabled: granting roles to one that
# does not exist yet fails ("Service account ... does not exist"). Creating it explicitly makes it exist before
# the grants below, and gives its member without spelling out the project number.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [time_sleep.apis_enabled]
}

# Dead-lettering is done by the Pub/Sub service agent: it must publish to the dead-letter topic and acknowledge
# (subscriber) on the source subscription, or failed messages are redelivered forever instead of parked.
resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = google_project_service_identity.pubsub.member
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_forwards_from_processor_subscription" {
  project      = var.project_id
  subscription = google_pubsub_subscription.processor.name
  role         = "roles/pubsub.subscriber"
  member       = google_project_service_identity.pubsub.member
}

# Minting the push OIDC token. Google documents this grant as needed only for projects whose Pub/Sub service agent
# was created on or before 2021-04-08; later projects have it built in. Granted on the push account alone (not
# project-wide), so it is harmless where redundant and saves older projects a silent 401 on every push.
resource "google_service_account_iam_member" "pubsub_agent_mints_push_tokens" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_project_service_identity.pubsub.member
}

# --- Cloud Build ----------------------------------------------------------------------------------------------------

# What Google documents for a user-specified function build account, each on the narrowest resource it can be:
# write build logs (project-wide: logs have no per-resource grant), push the images to this deployment's
# repository (source.tf), and read the source. Cloud Functions copies the uploaded source into its own bucket,
# gcf-v2-sources-<project number>-<region>, and builds from there; that bucket is created on the first deploy,
# so the grant is conditioned on its name instead of being made on a bucket that may not exist yet. Google
# documents Storage Object Admin for it; the condition keeps it to that one bucket.
resource "google_project_iam_member" "build_writes_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

# Earlier releases granted the build roles project-wide from one for_each; the log writer grant stays as it was
# (the artifact and storage grants are replaced by the narrower ones below).
moved {
  from = google_project_iam_member.build["roles/logging.logWriter"]
  to   = google_project_iam_member.build_writes_logs
}

locals {
  functions_source_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

resource "google_project_iam_member" "build_reads_function_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = google_service_account.build.member

  condition {
    title       = "Cloud Functions source bucket only"
    description = "The bucket Cloud Functions copies function source into for builds in ${var.region}."
    expression  = "resource.name == \"projects/_/buckets/${local.functions_source_bucket}\" || resource.name.startsWith(\"projects/_/buckets/${local.functions_source_bucket}/\")"
  }
}

resource "google_storage_bucket_iam_member" "build_reads_uploaded_source" {
  bucket = google_storage_bucket.function_source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

# IAM is eventually consistent: a grant can take a minute or two to apply everywhere. The first build and the
# first instance start (which reads the secrets as the runtime account) come seconds after the grants, so wait.
resource "time_sleep" "iam_propagation" {
  create_duration = var.iam_propagation_wait

  depends_on = [
    google_project_iam_member.build_writes_logs,
    google_project_iam_member.build_reads_function_sources,
    google_storage_bucket_iam_member.build_reads_uploaded_source,
    google_artifact_registry_repository_iam_member.build_pushes_images,
    google_secret_manager_secret_iam_member.webhook_reads_signing_keys,
    google_secret_manager_secret_iam_member.processor_reads_track_site_id,
    google_secret_manager_secret_iam_member.processor_reads_track_api_key,
    google_secret_manager_secret_iam_member.webhook_reads_workspace_signing_keys,
    google_secret_manager_secret_iam_member.processor_reads_workspace_track_credentials,
    google_pubsub_topic_iam_member.webhook_publishes_events,
    google_project_iam_member.processor_uses_firestore,
    google_bigquery_dataset_iam_member.processor_writes_warehouse,
  ]
}
