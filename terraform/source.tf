# What the functions are built from and into.
#
# Function source: `npm run package` builds terraform/build/source (compiled JS, production package.json and its
# lockfile); Terraform zips it and uploads it under a name carrying the zip's hash, so any code change renames
# the object and the rename redeploys both functions. Identical code gives an identical zip (the archive
# provider zeroes timestamps; output_file_mode pins permissions), so an unchanged tree redeploys nothing.

data "archive_file" "function_source" {
  type             = "zip"
  source_dir       = "${path.module}/build/source"
  output_path      = "${path.module}/build/function-source.zip"
  output_file_mode = "0644"

  lifecycle {
    precondition {
      condition     = fileexists("${path.module}/build/source/package.json") && fileexists("${path.module}/build/source/package-lock.json")
      error_message = "terraform/build/source is missing or incomplete: run `npm ci && npm run package` in the repository root first."
    }
  }
}

resource "google_storage_bucket" "function_source" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-function-source"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # holds only build inputs

  depends_on = [time_sleep.apis_enabled]
}

resource "google_storage_bucket_object" "function_source" {
  bucket = google_storage_bucket.function_source.name
  name   = "cio-webhooks-${data.archive_file.function_source.output_sha256}.zip"
  source = data.archive_file.function_source.output_path
}

# The images Cloud Build makes of both functions (build_config.docker_repository), in a repository of this
# deployment's own rather than the shared gcf-artifacts one: the build account may push here and nowhere else, and
# the cleanup policy below needs no one to remember it. Every deploy adds an image and a build cache per function;
# without cleanup they accumulate for ever, billed as Artifact Registry storage.
resource "google_artifact_registry_repository" "functions" {
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name_prefix}-functions"
  format        = "DOCKER"
  description   = "Build images of the cio-webhooks functions (cleaned up after ${var.build_image_retention_days} days)."

  cleanup_policy_dry_run = false

  # A keep policy wins over a delete policy: the latest images of each function (the deployed one, and the one
  # before it for a rollback) stay, however old.
  cleanup_policies {
    id     = "keep-latest"
    action = "KEEP"

    most_recent_versions {
      keep_count = 2
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"

    condition {
      tag_state  = "ANY"
      older_than = "${var.build_image_retention_days * 86400}s"
    }
  }

  depends_on = [time_sleep.apis_enabled]
}
