# Both Cloud Run functions (gen2) deploy from the same package; each serves one target of functions/index.ts.
# Environment values are plain variables and locals, known at plan time, never attributes of resources created in
# the same apply: the provider reports "inconsistent final plan" for env values that only become known during
# apply. Ordering comes from depends_on instead. Secret variables are the exception: each is pinned to the version
# number Terraform wrote (secrets.tf), so writing a new version rolls out a new revision.

locals {
  # Every variable in WEBHOOK_ENV / PROCESSOR_ENV (shared/config.ts) is set here or, for the few left to their
  # defaults on purpose, named in test/terraform.test.ts. Secrets are injected from Secret Manager below.
  # NODE_ENV=production makes functions-framework answer an unexpected crash with a bare status, not the error's
  # message (it echoes the message to the caller otherwise).
  webhook_env = {
    NODE_ENV                         = "production"
    GOOGLE_CLOUD_PROJECT             = var.project_id
    CIO_EVENTS_TOPIC                 = var.events_topic
    CIO_SIGNATURE_MAX_AGE_SECONDS    = tostring(var.signature_max_age_seconds)
    CIO_SIGNATURE_MAX_FUTURE_SECONDS = tostring(var.signature_max_future_seconds)
    CIO_MAX_BODY_BYTES               = tostring(var.max_body_bytes)
    LOG_LEVEL                        = var.log_level
  }

  processor_env = {
    NODE_ENV                  = "production"
    GOOGLE_CLOUD_PROJECT      = var.project_id
    CIO_REGION                = var.track_region
    CIO_TRACK_MAX_RPS         = tostring(var.track_max_rps)
    CIO_SUPPRESS_ON           = join(",", var.suppress_on)
    CIO_ENGAGEMENT_ATTRIBUTES = tostring(var.engagement_attributes)
    DEDUPE_COLLECTION         = var.dedupe_collection
    DEDUPE_TTL_DAYS           = tostring(var.dedupe_ttl_days)
    DEDUPE_LEASE_SECONDS      = tostring(var.dedupe_lease_seconds)
    BQ_DATASET                = var.bq_dataset
    BQ_TABLE                  = var.bq_events_table
    BQ_REJECTS_TABLE          = var.bq_rejects_table
    LOG_LEVEL                 = var.log_level

    CIO_SPAM_UNSUBSCRIBE = tostring(var.spam_unsubscribe)
    # Read only to check DEDUPE_TTL_DAYS against how late a copy of an event can come back.
    CIO_SIGNATURE_MAX_AGE_SECONDS = tostring(var.signature_max_age_seconds)
    DEAD_LETTER_RETENTION_DAYS    = tostring(ceil(tonumber(trimsuffix(var.dead_letter_retention, "s")) / 86400))
  }

  # Injected only when the Track API is enabled: both unset is how the processor knows to run dry.
  processor_track_secrets = var.track_api_enabled ? {
    CIO_SITE_ID       = { secret = local.track_site_id_secret, version = google_secret_manager_secret_version.track_site_id[0].version }
    CIO_TRACK_API_KEY = { secret = local.track_api_key_secret, version = google_secret_manager_secret_version.track_api_key[0].version }
  } : {}
}

resource "google_cloudfunctions2_function" "webhook" {
  project     = var.project_id
  location    = var.region
  name        = local.webhook_function
  description = "Customer.io reporting webhook receiver: verifies the signature, publishes the raw body to Pub/Sub."

  build_config {
    runtime           = "nodejs24"
    entry_point       = "cioWebhook"
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }

    automatic_update_policy {}
  }

  service_config {
    service_account_email = google_service_account.webhook.email
    ingress_settings      = "ALLOW_ALL" # Customer.io posts from the internet
    timeout_seconds       = var.webhook_timeout_seconds

    # Warm instances against the 4-second budget; concurrency above 1 requires at least one whole vCPU.
    min_instance_count               = var.webhook_min_instances
    max_instance_count               = var.webhook_max_instances
    max_instance_request_concurrency = var.webhook_concurrency
    available_cpu                    = var.webhook_cpu
    available_memory                 = var.webhook_memory
    all_traffic_on_latest_revision   = true

    environment_variables = merge(local.webhook_env, local.workspaces_env)

    # The version Terraform wrote: a rotation is a new revision, and every instance (the warm one too) restarts.
    secret_environment_variables {
      key        = "CIO_WEBHOOK_SIGNING_KEYS"
      project_id = var.project_id
      secret     = local.signing_keys_secret
      version    = google_secret_manager_secret_version.webhook_signing_keys.version
    }

    dynamic "secret_environment_variables" {
      for_each = local.webhook_workspace_secrets

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  depends_on = [time_sleep.iam_propagation]
}

resource "google_cloudfunctions2_function" "processor" {
  project     = var.project_id
  location    = var.region
  name        = local.processor_function
  description = "Pub/Sub push subscriber: dedupes in Firestore, applies Track API actions, inserts into BigQuery."

  build_config {
    runtime           = "nodejs24"
    entry_point       = "cioProcessor"
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }

    automatic_update_policy {}
  }

  service_config {
    service_account_email = google_service_account.processor.email
    # Only Pub/Sub (same project, pushing to the run.app URL, which counts as internal) and VPC traffic reach it;
    # IAM then admits only the push identity. It is never public.
    ingress_settings = "ALLOW_INTERNAL_ONLY"
    timeout_seconds  = var.processor_timeout_seconds

    # max_instance_count x CIO_TRACK_MAX_RPS stays within the Track API budget (validated in variables.tf).
    min_instance_count               = var.processor_min_instances
    max_instance_count               = var.processor_max_instances
    max_instance_request_concurrency = var.processor_concurrency
    available_cpu                    = var.processor_cpu
    available_memory                 = var.processor_memory
    all_traffic_on_latest_revision   = true

    environment_variables = merge(local.processor_env, local.workspaces_env)

    dynamic "secret_environment_variables" {
      for_each = merge(local.processor_track_secrets, local.processor_workspace_secrets)

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  depends_on = [
    google_firestore_database.ledger,
    google_firestore_field.ledger,
    google_bigquery_table.events,
    google_bigquery_table.rejected_events,
    time_sleep.iam_propagation,
  ]
}
