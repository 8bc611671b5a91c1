# Several Customer.io workspaces in one deployment (README: Several workspaces). The URL path names the workspace:
# POST / is the default one (the variables above), POST /<label> each workspace of var.workspaces. Its signing keys
# and Track credentials live in two JSON secrets, each readable only by the function that needs it; both functions
# get the list of labels (CIO_WORKSPACES) and refuse to start when their secret does not match it.
#
# Values reach the secrets as the default workspace's do: ephemeral variables written through write-only arguments,
# needed on the apply that adds a workspace and when the matching *_version is raised, never stored in the state.
# Terraform composes the JSON, so the region comes from var.workspaces and cannot disagree with it.

locals {
  workspace_labels       = sort(keys(var.workspaces))
  workspaces_enabled     = length(local.workspace_labels) > 0
  live_workspaces        = sort([for label, w in var.workspaces : label if w.track_api_enabled])
  workspace_track_secret = "${var.name_prefix}-workspace-track-credentials"
  workspace_keys_secret  = "${var.name_prefix}-workspace-signing-keys"

  # Injected only when there is a workspace besides the default one: a single-workspace deployment is unchanged.
  webhook_workspace_secrets = local.workspaces_enabled ? {
    CIO_WORKSPACE_SIGNING_KEYS = {
      secret  = local.workspace_keys_secret
      version = google_secret_manager_secret_version.workspace_signing_keys[0].version
    }
  } : {}
  processor_workspace_secrets = length(local.live_workspaces) > 0 ? {
    CIO_WORKSPACE_TRACK_CREDENTIALS = {
      secret  = local.workspace_track_secret
      version = google_secret_manager_secret_version.workspace_track_credentials[0].version
    }
  } : {}
  workspaces_env = local.workspaces_enabled ? {
    CIO_WORKSPACES = join(",", local.workspace_labels)
  } : {}
}

resource "google_secret_manager_secret" "workspace_signing_keys" {
  count = local.workspaces_enabled ? 1 : 0

  project   = var.project_id
  secret_id = local.workspace_keys_secret

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

resource "google_secret_manager_secret_version" "workspace_signing_keys" {
  count = local.workspaces_enabled ? 1 : 0

  secret = google_secret_manager_secret.workspace_signing_keys[0].id
  # {"<label>": ["key", ...]}: CIO_WORKSPACE_SIGNING_KEYS.
  secret_data_wo         = var.workspace_signing_keys == null ? null : jsonencode(var.workspace_signing_keys)
  secret_data_wo_version = var.workspace_signing_keys_version

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret" "workspace_track_credentials" {
  count = length(local.live_workspaces) > 0 ? 1 : 0

  project   = var.project_id
  secret_id = local.workspace_track_secret

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

resource "google_secret_manager_secret_version" "workspace_track_credentials" {
  count = length(local.live_workspaces) > 0 ? 1 : 0

  secret = google_secret_manager_secret.workspace_track_credentials[0].id
  # {"<label>": {"site_id", "api_key", "region"}} for the workspaces with track_api_enabled:
  # CIO_WORKSPACE_TRACK_CREDENTIALS. The others run dry.
  secret_data_wo = var.workspace_track_credentials == null ? null : jsonencode({
    for label in local.live_workspaces : label => {
      site_id = var.workspace_track_credentials[label].site_id
      api_key = var.workspace_track_credentials[label].api_key
      region  = var.workspaces[label].region
    }
  })
  secret_data_wo_version = var.workspace_track_credentials_version

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret_iam_member" "webhook_reads_workspace_signing_keys" {
  count = local.workspaces_enabled ? 1 : 0

  project   = var.project_id
  secret_id = google_secret_manager_secret.workspace_signing_keys[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.webhook.member
}

resource "google_secret_manager_secret_iam_member" "processor_reads_workspace_track_credentials" {
  count = length(local.live_workspaces) > 0 ? 1 : 0

  project   = var.project_id
  secret_id = google_secret_manager_secret.workspace_track_credentials[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.processor.member
}
