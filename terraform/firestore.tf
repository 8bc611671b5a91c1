# The event ledger lives in the project's (default) Firestore database, Native mode. Finished entries carry
# expire_at; the TTL policy deletes them after DEDUPE_TTL_DAYS without any job of ours.

resource "google_firestore_database" "ledger" {
  count = var.create_firestore_database ? 1 : 0

  project     = var.project_id
  name        = local.firestore_database
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  # deletion_policy stays at the provider default, ABANDON: `terraform destroy` forgets the database instead of
  # deleting a (default) database other workloads may share.

  depends_on = [google_project_service.apis]
}

resource "google_firestore_field" "ledger_ttl" {
  project    = var.project_id
  database   = local.firestore_database
  collection = var.dedupe_collection
  field      = "expire_at"

  ttl_config {}

  # The ledger is only read by document id: an empty index_config drops the single-field indexes on this
  # timestamp, which would otherwise cost a write per entry and hot-spot on sequential values.
  index_config {}

  depends_on = [google_firestore_database.ledger]
}
