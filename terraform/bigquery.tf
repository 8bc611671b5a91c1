# The warehouse. Table schemas are generated from shared/warehouse/schema.ts (`npm run schema:export` writes
# schema/*.json; a test fails when they drift), so code and tables cannot disagree.

resource "google_bigquery_dataset" "warehouse" {
  project     = var.project_id
  dataset_id  = var.bq_dataset
  location    = coalesce(var.bq_location, var.region)
  description = "Customer.io reporting webhook events (cio-webhooks)."

  # Checked here, on a resource that always exists: views.tf creates views in three dependency levels.
  lifecycle {
    precondition {
      condition     = length(local.views_unplaced) == 0
      error_message = "shared/warehouse/views: these views nest more than 3 levels deep, read an unknown view or form a cycle: ${join(", ", local.views_unplaced)}."
    }
  }

  depends_on = [time_sleep.apis_enabled]
}

resource "google_bigquery_table" "events" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = var.bq_events_table
  description         = "Customer.io reporting webhook events, one row per event_id."
  schema              = file("${path.module}/schema/events.json")
  clustering          = ["object_type", "metric"]
  deletion_protection = var.bq_deletion_protection

  time_partitioning {
    type  = "DAY"
    field = "event_timestamp"
  }
}

resource "google_bigquery_table" "rejected_events" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = var.bq_rejects_table
  description         = "Signed requests that were not a usable event, and Pub/Sub messages that could not be decoded."
  schema              = file("${path.module}/schema/rejected_events.json")
  clustering          = ["reason"]
  deletion_protection = var.bq_deletion_protection

  time_partitioning {
    type  = "DAY"
    field = "received_at"
  }
}
