# Secret Manager holds the webhook signing key(s) and the Track API credentials; the functions receive them as
# secret environment variables pinned to a version number.
#
# How values get there (README: Deploy): Terraform writes each version through a write-only argument from an
# ephemeral variable, so a value is never in the state or a plan file, and it needs the value only when it writes a
# version: on the first apply, and when the matching *_version variable is raised (rotation). Nothing else about
# a version depends on the value, so a later apply without it plans no change to secrets at all.
#
# Why Terraform writes the versions rather than `gcloud secrets versions add`: the functions read secret
# environment variables once, when an instance starts, and the webhook keeps a warm instance. Pinning each
# function to the version Terraform wrote makes a new version a new revision, and Cloud Run replaces every
# instance, the warm one included; "latest" would leave that instance on the old keys until it happens to restart.

locals {
  # A location policy that forbids global replication (constraints/gcp.resourceLocations) needs the replicas named.
  secret_replicas = var.secrets_in_region ? [var.region] : []
}

resource "google_secret_manager_secret" "webhook_signing_keys" {
  project   = var.project_id
  secret_id = local.signing_keys_secret

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

resource "google_secret_manager_secret_version" "webhook_signing_keys" {
  secret                 = google_secret_manager_secret.webhook_signing_keys.id
  secret_data_wo         = var.webhook_signing_keys
  secret_data_wo_version = var.webhook_signing_keys_version

  # Raising webhook_signing_keys_version replaces the version (the provider forces it): the new one is written and
  # the webhook moved to it before the old one is destroyed, so the secret is never without a value.
  lifecycle {
    create_before_destroy = true
  }
}

# Earlier releases created the version only on applies that passed the value (count); the version now always exists.
moved {
  from = google_secret_manager_secret_version.webhook_signing_keys[0]
  to   = google_secret_manager_secret_version.webhook_signing_keys
}

# The Track secrets always exist (a secret without versions costs nothing); their versions and the processor's
# secret variables exist while track_api_enabled is true: absent credentials are how the processor knows to run dry.
resource "google_secret_manager_secret" "track_site_id" {
  project   = var.project_id
  secret_id = local.track_site_id_secret

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

resource "google_secret_manager_secret" "track_api_key" {
  project   = var.project_id
  secret_id = local.track_api_key_secret

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

resource "google_secret_manager_secret_version" "track_site_id" {
  count = var.track_api_enabled ? 1 : 0

  secret                 = google_secret_manager_secret.track_site_id.id
  secret_data_wo         = var.track_site_id
  secret_data_wo_version = var.track_credentials_version

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret_version" "track_api_key" {
  count = var.track_api_enabled ? 1 : 0

  secret                 = google_secret_manager_secret.track_api_key.id
  secret_data_wo         = var.track_api_key
  secret_data_wo_version = var.track_credentials_version

  lifecycle {
    create_before_destroy = true
  }
}
