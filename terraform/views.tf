# Analytics views: one BigQuery view per shared/warehouse/views/<name>.sql (ordering and SQL: views_order.tf).

locals {
  views_dir         = "${path.module}/../shared/warehouse/views"
  view_table_prefix = "${var.project_id}.${var.bq_dataset}"
  view_events_table = var.bq_events_table
}

resource "google_bigquery_table" "views_level_0" {
  for_each = local.view_level_0

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = each.value
  deletion_protection = false # a view holds no data

  view {
    query          = local.view_sql[each.value]
    use_legacy_sql = false
  }

  depends_on = [google_bigquery_table.events, google_bigquery_table.rejected_events]
}

resource "google_bigquery_table" "views_level_1" {
  for_each = local.view_level_1

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = each.value
  deletion_protection = false

  view {
    query          = local.view_sql[each.value]
    use_legacy_sql = false
  }

  depends_on = [google_bigquery_table.views_level_0]
}

resource "google_bigquery_table" "views_level_2" {
  for_each = local.view_level_2

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = each.value
  deletion_protection = false

  view {
    query          = local.view_sql[each.value]
    use_legacy_sql = false
  }

  depends_on = [google_bigquery_table.views_level_1]
}
