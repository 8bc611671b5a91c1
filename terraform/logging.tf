# Cloud Run writes a request log entry (about 1 KB: httpRequest, resource, labels, trace) for every request to
# either function, i.e. two per event, on top of the functions' own one line per request each, which already carry
# the status, latency and event id. The request logs are most of the log volume and add nothing the app lines do
# not say, so they are excluded from ingestion unless keep_request_logs is set. The app lines (run.googleapis.com
# stdout/stderr), the log-based metrics built on them and Cloud Run's request metrics (run.googleapis.com/
# request_count, which the alerts use) are not affected.
resource "google_logging_project_exclusion" "request_logs" {
  count = var.keep_request_logs ? 0 : 1

  project     = var.project_id
  name        = "${var.name_prefix}-cloud-run-request-logs"
  description = "Cloud Run request logs of ${local.webhook_function} and ${local.processor_function} (keep_request_logs = false)."
  filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "logName=\"projects/${var.project_id}/logs/run.googleapis.com%2Frequests\"",
    "resource.labels.service_name=(\"${local.webhook_function}\" OR \"${local.processor_function}\")",
  ])

  depends_on = [time_sleep.apis_enabled]
}
