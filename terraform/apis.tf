# APIs the deployment uses. Eventarc is not among them: the processor is fed by a Terraform-managed Pub/Sub push
# subscription, not by a function event trigger. disable_on_destroy = false because other workloads in the
# project may rely on the same APIs.

locals {
  required_apis = toset([
    "artifactregistry.googleapis.com",     # images Cloud Build produces for the functions
    "bigquery.googleapis.com",             # warehouse
    "cloudbuild.googleapis.com",           # builds the function source
    "cloudfunctions.googleapis.com",       # the functions API
    "cloudresourcemanager.googleapis.com", # project lookup (project number for service agents)
    "cloudscheduler.googleapis.com",       # the reconcile and stall-check schedules
    "firestore.googleapis.com",            # ledger
    "iam.googleapis.com",                  # service accounts
    "logging.googleapis.com",              # log-based metrics
    "monitoring.googleapis.com",           # alert policies
    "pubsub.googleapis.com",               # queue and dead letters
    "run.googleapis.com",                  # gen2 functions run as Cloud Run services
    "secretmanager.googleapis.com",        # signing key, Track credentials
    "storage.googleapis.com",              # function source bucket
  ])
}

resource "google_project_service" "apis" {
  for_each = local.required_apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# An API answers "not enabled" (or "has not been used in project ... before") for a while after enabling returns:
# propagation takes up to a few minutes. Everything that calls an API depends on this wait. It runs only when the
# list of APIs changes (time_sleep waits on create), so later applies do not pay it.
resource "time_sleep" "apis_enabled" {
  create_duration = var.api_propagation_wait

  # An API added to the list later gets its wait too.
  triggers = {
    apis = join(",", sort(local.required_apis))
  }

  depends_on = [google_project_service.apis]
}
