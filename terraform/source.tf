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

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "function_source" {
  bucket = google_storage_bucket.function_source.name
  name   = "cio-webhooks-${data.archive_file.function_source.output_sha256}.zip"
  source = data.archive_file.function_source.output_path
}
