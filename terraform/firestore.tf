# The event ledger lives in the project's (default) Firestore database, Native mode. Finished entries carry
# expire_at; the TTL policy deletes them after DEDUPE_TTL_DAYS without any job of ours.

resource "google_firestore_database" "ledger" {
  count = var.create_firestore_database ? 1 : 0

  project     = var.project_id
  name        = local.firestore_database
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  # deletion_policy stays at the provider default, ABANDON: `terraform destroy` forgets the database instead of
  # deleting a (default) database other workloads may share. The next apply then meets a database that exists
  # (409): adopt_firestore_database imports it instead of creating it.

  depends_on = [time_sleep.apis_enabled]
}

# Once the database is in the state, the import is a no-op: adopt_firestore_database may stay true.
import {
  for_each = var.adopt_firestore_database ? toset(["(default)"]) : toset([])

  to = google_firestore_database.ledger[0]
  id = "projects/${var.project_id}/databases/${each.value}"
}

locals {
  # Every field the ledger writes: the LedgerDoc interface in shared/processor/ledger.ts (a test keeps the two equal).
  # The ledger is read only by document id (get inside a transaction, update by reference), never queried, so it
  # needs no index at all. Left to Firestore's automatic single-field indexes, the time-ordered values (event_id,
  # first_seen_at, lease_until, done_at, expire_at) would cap the collection at about 500 writes/s (Firestore's
  # limit for sequentially indexed values), i.e. ~250 events/s at 2 writes each, and every index entry is one more
  # write. An empty index_config removes every index of the field; a map field's subfields inherit it.
  ledger_fields = toset([
    "event_id",
    "workspace",
    "state",
    "lease_owner",
    "lease_until",
    "attempts",
    "actions_completed",
    "warehouse_done",
    "actions",
    "first_seen_at",
    "done_at",
    "expire_at",
  ])
}

resource "google_firestore_field" "ledger" {
  for_each = local.ledger_fields

  project    = var.project_id
  database   = local.firestore_database
  collection = var.dedupe_collection
  field      = each.value

  index_config {}

  # The TTL policy: documents are deleted once expire_at has passed.
  dynamic "ttl_config" {
    for_each = each.value == "expire_at" ? [1] : []
    content {}
  }

  depends_on = [google_firestore_database.ledger, time_sleep.apis_enabled]
}

moved {
  from = google_firestore_field.ledger_ttl
  to   = google_firestore_field.ledger["expire_at"]
}
