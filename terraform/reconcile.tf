# Completeness (README "Completeness"): cioReconcile compares the warehouse with Customer.io's own record (App API)
# every day and writes the run to BigQuery; every few minutes it checks that events keep arriving while Customer.io
# sends. Alerts: drift over the threshold, a failed reconcile, a stalled stream, a growing event lag. The lag metric
# and its alert need no App API key and always exist; the rest exists with reconcile_enabled = true.
#
# Own service accounts: cioReconcile reads its App API secrets and queries/writes its dataset (BigQuery jobs need
# roles/bigquery.jobUser on the project); Cloud Scheduler's identity may only invoke it.

locals {
  reconcile_function            = "${var.name_prefix}-reconcile"
  app_api_key_secret            = "${var.name_prefix}-app-api-key"
  workspace_app_api_keys_secret = "${var.name_prefix}-workspace-app-api-keys"

  # Every variable in RECONCILE_ENV (shared/config.ts), but CIO_APP_API_URL (an override for tests) and the secrets.
  reconcile_env = {
    NODE_ENV                  = "production"
    GOOGLE_CLOUD_PROJECT      = var.project_id
    CIO_REGION                = var.track_region
    RECONCILE_DAYS            = tostring(var.reconcile_days)
    RECONCILE_DRIFT_THRESHOLD = var.reconcile_drift_threshold
    RECONCILE_REPAIR          = tostring(var.reconcile_repair)
    RECONCILE_SETTLE_MINUTES  = tostring(var.reconcile_settle_minutes)
    STALL_AFTER_MINUTES       = tostring(var.stall_after_minutes)
    BQ_DATASET                = var.bq_dataset
    BQ_TABLE                  = var.bq_events_table
    LOG_LEVEL                 = var.log_level
  }

  reconcile_workspace_secrets = {
    CIO_WORKSPACE_APP_API_KEYS = local.workspace_app_api_keys_secret
  }

  reconcile_log = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.reconcile_function}\"",
    "(${local.app_log_names})",
  ])
}

# --- secrets --------------------------------------------------------------------------------------------------------

resource "google_secret_manager_secret" "app_api_key" {
  project   = var.project_id
  secret_id = local.app_api_key_secret

  replication {
    dynamic "auto" {
      for_each = length(local.secret_replicas) == 0 ? [1] : []
      content {}
    }
    dynamic "user_managed" {
      for_each = length(local.secret_replicas) == 0 ? [] : [1]
      content {
        dynamic "replicas" {
          for_each = local.secret_replicas
          content {
            location = replicas.value
          }
        }
      }
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_secret_manager_secret_version" "app_api_key" {
  count = var.app_api_key == null ? 0 : 1

  secret                 = google_secret_manager_secret.app_api_key.id
  secret_data_wo         = var.app_api_key
  secret_data_wo_version = var.app_api_keys_version

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret" "workspace_app_api_keys" {
  project   = var.project_id
  secret_id = local.workspace_app_api_keys_secret

  replication {
    dynamic "auto" {
      for_each = length(local.secret_replicas) == 0 ? [1] : []
      content {}
    }
    dynamic "user_managed" {
      for_each = length(local.secret_replicas) == 0 ? [] : [1]
      content {
        dynamic "replicas" {
          for_each = local.secret_replicas
          content {
            location = replicas.value
          }
        }
      }
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_secret_manager_secret_version" "workspace_app_api_keys" {
  count = var.workspace_app_api_keys == null ? 0 : 1

  secret                 = google_secret_manager_secret.workspace_app_api_keys.id
  secret_data_wo         = var.workspace_app_api_keys
  secret_data_wo_version = var.app_api_keys_version

  lifecycle {
    create_before_destroy = true
  }
}

# --- identities and grants ----------------------------------------------------------------------------------------

resource "google_service_account" "reconcile" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-reconcile-fn"
  display_name = "cio-webhooks reconciliation (${local.reconcile_function})"
  description  = "Runs cioReconcile: reads the App API key secrets, queries and writes its BigQuery dataset."

  depends_on = [time_sleep.apis_enabled]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "cio-webhooks Cloud Scheduler identity"
  description  = "Identity in the OIDC token of the reconcile and stall-check schedules; may only invoke cioReconcile."

  depends_on = [time_sleep.apis_enabled]
}

resource "google_secret_manager_secret_iam_member" "reconcile_reads_app_api_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.app_api_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.reconcile.member
}

resource "google_secret_manager_secret_iam_member" "reconcile_reads_workspace_app_api_keys" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.workspace_app_api_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.reconcile.member
}

# Reads the events table, writes repairs and the reconcile tables: dataEditor on the dataset only.
resource "google_bigquery_dataset_iam_member" "reconcile_uses_warehouse" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.reconcile.member
}

# Queries are jobs, and jobs belong to a project: jobUser has no narrower scope. It runs jobs, it reads no data.
resource "google_project_iam_member" "reconcile_runs_queries" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.reconcile.member
}

resource "google_cloud_run_service_iam_member" "scheduler_invokes_reconcile" {
  count = var.reconcile_enabled ? 1 : 0

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.reconcile[0].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

resource "time_sleep" "reconcile_iam_propagation" {
  create_duration = var.iam_propagation_wait

  depends_on = [
    google_secret_manager_secret_iam_member.reconcile_reads_app_api_key,
    google_secret_manager_secret_iam_member.reconcile_reads_workspace_app_api_keys,
    google_bigquery_dataset_iam_member.reconcile_uses_warehouse,
    google_project_iam_member.reconcile_runs_queries,
  ]
}

# --- tables ---------------------------------------------------------------------------------------------------------

resource "google_bigquery_table" "reconcile_runs" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = "reconcile_runs"
  description         = "Reconciliation runs: the warehouse compared with Customer.io's own record (App API) of the deliveries created in a window."
  schema              = file("${path.module}/schema/reconcile_runs.json")
  clustering          = ["workspace"]
  deletion_protection = var.bq_deletion_protection

  time_partitioning {
    type  = "DAY"
    field = "started_at"
  }
}

resource "google_bigquery_table" "reconcile_drift" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = "reconcile_drift"
  description         = "Reconciliation drift by day the deliveries were created, channel, metric and parent type, with sample delivery ids."
  schema              = file("${path.module}/schema/reconcile_drift.json")
  clustering          = ["workspace", "day"]
  deletion_protection = var.bq_deletion_protection

  time_partitioning {
    type  = "DAY"
    field = "run_started_at"
  }
}

# --- the function and its schedules -------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "reconcile" {
  count = var.reconcile_enabled ? 1 : 0

  project     = var.project_id
  location    = var.region
  name        = local.reconcile_function
  description = "Reconciles the warehouse with Customer.io's App API daily, and checks for a stalled stream."

  build_config {
    runtime           = "nodejs24"
    entry_point       = "cioReconcile"
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
    service_account_email = google_service_account.reconcile.email
    # Cloud Scheduler calls the run.app URL; IAM admits only the scheduler identity (no public invoker).
    ingress_settings = "ALLOW_ALL"
    timeout_seconds  = var.reconcile_timeout_seconds

    # One run at a time: two runs would share one workspace's App API budget of 10 requests/s.
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    available_cpu                    = "1"
    available_memory                 = "1Gi"
    all_traffic_on_latest_revision   = true

    environment_variables = local.reconcile_env

    secret_environment_variables {
      key        = "CIO_APP_API_KEY"
      project_id = var.project_id
      secret     = local.app_api_key_secret
      version    = "latest"
    }

    dynamic "secret_environment_variables" {
      for_each = var.workspace_app_api_keys_enabled ? local.reconcile_workspace_secrets : {}

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  depends_on = [
    time_sleep.apis_enabled,
    google_bigquery_table.events,
    google_bigquery_table.reconcile_runs,
    google_bigquery_table.reconcile_drift,
    google_secret_manager_secret_version.app_api_key,
    google_secret_manager_secret_version.workspace_app_api_keys,
    time_sleep.iam_propagation,
    time_sleep.reconcile_iam_propagation,
  ]
}

resource "google_cloud_scheduler_job" "reconcile" {
  count = var.reconcile_enabled ? 1 : 0

  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-reconcile"
  description      = "Daily: compare the warehouse with Customer.io's record (cioReconcile, check=reconcile)."
  schedule         = var.reconcile_schedule
  time_zone        = var.reconcile_time_zone
  attempt_deadline = "${var.reconcile_timeout_seconds}s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "600s"
  }

  http_target {
    uri         = google_cloudfunctions2_function.reconcile[0].service_config[0].uri
    http_method = "POST"
    body        = base64encode(jsonencode({ check = "reconcile" }))
    headers     = { "Content-Type" = "application/json" }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.reconcile[0].service_config[0].uri
    }
  }

  depends_on = [time_sleep.apis_enabled, google_cloud_run_service_iam_member.scheduler_invokes_reconcile]
}

resource "google_cloud_scheduler_job" "stall_check" {
  count = var.reconcile_enabled ? 1 : 0

  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-stall-check"
  description      = "Every few minutes: are events arriving while Customer.io sends? (cioReconcile, check=stall)."
  schedule         = var.stall_check_schedule
  time_zone        = var.reconcile_time_zone
  attempt_deadline = "120s"

  http_target {
    uri         = google_cloudfunctions2_function.reconcile[0].service_config[0].uri
    http_method = "POST"
    body        = base64encode(jsonencode({ check = "stall" }))
    headers     = { "Content-Type" = "application/json" }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.reconcile[0].service_config[0].uri
    }
  }

  depends_on = [time_sleep.apis_enabled, google_cloud_run_service_iam_member.scheduler_invokes_reconcile]
}

# --- log-based metrics ----------------------------------------------------------------------------------------------

# Event time -> receipt of every processed event (the processor's `event_lag_seconds`): minutes normally; a
# growing lag is Customer.io retrying a failing endpoint or holding the stream back.
resource "google_logging_metric" "event_lag" {
  project     = var.project_id
  name        = "${var.name_prefix}_event_lag"
  description = "Seconds from when an event happened (body timestamp) to when cioWebhook accepted it, per processed event."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.processor_function}\"",
    "(${local.app_log_names})",
    "jsonPayload.outcome=\"processed\"",
    "jsonPayload.event_lag_seconds>=0",
  ])
  value_extractor = "EXTRACT(jsonPayload.event_lag_seconds)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"
  }

  # 1 s to about 190 days, doubling.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = 1
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_logging_metric" "reconcile_outcomes" {
  project     = var.project_id
  name        = "${var.name_prefix}_reconcile_outcomes"
  description = "cioReconcile results (label outcome: reconcile_ok, reconcile_drift, reconcile_failed, stall, quiet; label workspace)."
  filter = join(" AND ", [
    local.reconcile_log,
    "jsonPayload.outcome=(\"reconcile_ok\" OR \"reconcile_drift\" OR \"reconcile_failed\" OR \"stall\" OR \"quiet\")",
  ])

  label_extractors = {
    outcome   = "EXTRACT(jsonPayload.outcome)"
    workspace = "EXTRACT(jsonPayload.workspace)"
  }

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "reconcile_ok, reconcile_drift, reconcile_failed, stall, quiet."
    }

    labels {
      key         = "workspace"
      value_type  = "STRING"
      description = "Customer.io workspace (default, or its label)."
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

# The last reconcile's drift, chartable in Cloud Monitoring (reconcile_runs has every run).
resource "google_logging_metric" "reconcile_drift" {
  project         = var.project_id
  name            = "${var.name_prefix}_reconcile_drift"
  description     = "Drift of each reconcile run: (missing here + only here) / first occurrences judged (label workspace)."
  filter          = join(" AND ", [local.reconcile_log, "jsonPayload.outcome=(\"reconcile_ok\" OR \"reconcile_drift\")", "jsonPayload.drift>=0"])
  value_extractor = "EXTRACT(jsonPayload.drift)"

  label_extractors = {
    workspace = "EXTRACT(jsonPayload.workspace)"
  }

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"

    labels {
      key         = "workspace"
      value_type  = "STRING"
      description = "Customer.io workspace."
    }
  }

  bucket_options {
    explicit_buckets {
      bounds = [0, 0.0001, 0.001, 0.01, 0.1, 1]
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "time_sleep" "reconcile_log_metrics_registered" {
  create_duration = "120s"

  depends_on = [
    google_logging_metric.event_lag,
    google_logging_metric.reconcile_outcomes,
    google_logging_metric.reconcile_drift,
  ]
}

# --- alert policies -----------------------------------------------------------------------------------------------

locals {
  reconcile_alerts = {
    reconcile_drift = {
      name     = "reconcile finds drift"
      severity = "ERROR"
      content  = <<-EOT
        The daily reconcile found the warehouse and Customer.io's own record (App API) apart by more than
        RECONCILE_DRIFT_THRESHOLD (${var.reconcile_drift_threshold}) in the workspace the alert names.

        **Check first:** the run and its days: `SELECT * FROM ${var.bq_dataset}.reconcile_runs ORDER BY started_at
        DESC LIMIT 1`, then `reconcile_drift` for that run_id (days, channels and metrics, with delivery ids to look
        up). Missing here: events Customer.io sent that did not land: look for dead letters, rejected_events and
        processor errors in that period. Repair with
        `npx cio-webhooks reconcile --project ${var.project_id} --workspace <label> --since 7d --repair` (or
        reconcile_repair = true).
      EOT
    }
    reconcile_failed = {
      name     = "reconcile failed"
      severity = "ERROR"
      content  = <<-EOT
        cioReconcile could not compare one workspace with Customer.io's record; `reconcile_runs` has a failed run.

        **Check first:** the log line's `error` and `kind`:
        `gcloud logging read 'resource.labels.service_name="${local.reconcile_function}" jsonPayload.outcome="reconcile_failed"' --project=${var.project_id} --limit=5`.
        401/403: the secret ${local.app_api_key_secret} (default workspace) or ${local.workspace_app_api_keys_secret}
        (the others) does not hold a valid App API key of that workspace; "belongs to another Customer.io workspace":
        it holds another workspace's key. Throttled or unavailable: Customer.io's App API was busy; the next run
        tries again.
      EOT
    }
    stall = {
      name     = "the stream has stalled"
      severity = "CRITICAL"
      content  = <<-EOT
        No webhook event has arrived for ${var.stall_after_minutes} minutes while Customer.io created deliveries in
        the workspace the alert names: Customer.io is holding the stream back.

        **Check first:** cioWebhook's non-2xx answers:
        `gcloud logging read 'resource.labels.service_name="${local.webhook_function}" severity>=WARNING' --project=${var.project_id} --freshness=2h --limit=20`.
        After a 401 (a signing-key change) or a 5xx Customer.io waits an hour and holds every later event behind
        it. No line at all: the reporting webhook was disabled or points elsewhere (Customer.io: Data & Integrations,
        Reporting Webhooks). Customer.io keeps events for 7 days; once flowing,
        `npx cio-webhooks reconcile --project ${var.project_id} --since 2d --repair` fills what expired.
      EOT
    }
  }
}

resource "google_monitoring_alert_policy" "reconcile" {
  for_each = var.reconcile_enabled ? local.reconcile_alerts : {}

  project               = var.project_id
  display_name          = "cio-webhooks: ${each.value.name}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = local.notification_channels

  conditions {
    display_name = "cioReconcile logged ${each.key}"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "metric.type=\"logging.googleapis.com/user/${google_logging_metric.reconcile_outcomes.name}\"",
        "metric.labels.outcome=\"${each.key}\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.workspace"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cio-webhooks: ${each.value.name}"
    content   = each.value.content
  }

  depends_on = [time_sleep.reconcile_log_metrics_registered, google_cloudfunctions2_function.reconcile]
}

resource "google_monitoring_alert_policy" "event_lag" {
  project               = var.project_id
  display_name          = "cio-webhooks: events arrive late"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "99th percentile of event time -> receipt above ${var.event_lag_alert_minutes} minutes"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "metric.type=\"logging.googleapis.com/user/${google_logging_metric.event_lag.name}\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = var.event_lag_alert_minutes * 60
      duration        = "600s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
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
    subject   = "cio-webhooks: events arriving late"
    content   = <<-EOT
      Events reach the webhook more than ${var.event_lag_alert_minutes} minutes after they happened (99th
      percentile over 10 minutes): Customer.io is retrying an earlier failed request (its retries back off for up
      to 7 days, and a 4xx or some 5xx make it wait an hour with everything behind it).

      **Check first:** cioWebhook's 401 and 5xx answers:
      `gcloud logging read 'resource.labels.service_name="${local.webhook_function}" severity>=WARNING' --project=${var.project_id} --freshness=2h --limit=20`.
      A burst of late events right after an outage is the backlog draining and clears by itself.
    EOT
  }

  depends_on = [time_sleep.reconcile_log_metrics_registered, google_cloudfunctions2_function.processor]
}
