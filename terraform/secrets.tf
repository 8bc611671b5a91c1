# Secret Manager holds the webhook signing key(s) and the Track API credentials; the functions receive them as
# secret environment variables. Values reach a secret in one of two ways (see the variable descriptions):
# through write-only arguments (Terraform sends them, never stores them in its state) or with
# `gcloud secrets versions add` (the outputs print the exact commands).

resource "google_secret_manager_secret" "webhook_signing_keys" {
  project   = var.project_id
  secret_id = local.signing_keys_secret

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "webhook_signing_keys" {
  count = var.webhook_signing_keys == null ? 0 : 1

  secret                 = google_secret_manager_secret.webhook_signing_keys.id
  secret_data_wo         = var.webhook_signing_keys
  secret_data_wo_version = var.webhook_signing_keys_version

  # A new value replaces the version; create the new one first so the secret is never without a value.
  lifecycle {
    create_before_destroy = true
  }
}

# The Track secrets always exist (a secret without versions costs nothing), so going live is: add both versions,
# set track_api_enabled = true, apply. They are injected only when enabled: an empty secret would stop the
# processor from starting, and absent credentials are how it knows to run dry.
resource "google_secret_manager_secret" "track_site_id" {
  project   = var.project_id
  secret_id = local.track_site_id_secret

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "track_api_key" {
  project   = var.project_id
  secret_id = local.track_api_key_secret

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "track_site_id" {
  count = var.track_site_id == null ? 0 : 1

  secret                 = google_secret_manager_secret.track_site_id.id
  secret_data_wo         = var.track_site_id
  secret_data_wo_version = var.track_credentials_version

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret_version" "track_api_key" {
  count = var.track_api_key == null ? 0 : 1

  secret                 = google_secret_manager_secret.track_api_key.id
  secret_data_wo         = var.track_api_key
  secret_data_wo_version = var.track_credentials_version

  lifecycle {
    create_before_destroy = true
  }
}
