# Inputs. Only project_id and region are required; every default is the production choice, and the environment
# variables they feed are named in shared/config.ts (test/terraform.test.ts keeps the two in step).

# ---------------------------------------------------------------------------------------------------------------
# Project
# ---------------------------------------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project id to deploy into (billing must be enabled: BigQuery streaming inserts and Cloud Functions need it)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 characters: lowercase letters, digits, hyphens), not a project name or number."
  }
}

variable "region" {
  description = "Region for both functions, the source bucket and (unless firestore_location says otherwise) Firestore, e.g. us-central1 or europe-west1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 (not a zone, not a multi-region)."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name this module creates (functions <prefix>-webhook and <prefix>-processor, service accounts, secrets). Change it to run two deployments in one project."
  type        = string
  default     = "cio"

  validation {
    # Service account ids are 6-30 characters; the longest suffix used is "-functions-build" (16).
    condition     = can(regex("^[a-z]([a-z0-9-]{0,11}[a-z0-9])?$", var.name_prefix))
    error_message = "name_prefix must be 1-13 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels (applied through the provider's default_labels)."
  type        = map(string)
  default     = { app = "cio-webhooks" }
}

variable "api_propagation_wait" {
  description = "How long to wait after enabling the APIs before creating anything that uses them. An API can answer \"not enabled\" for a few minutes after enabling it returns. Only the apply that first enables them waits."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.api_propagation_wait))
    error_message = "api_propagation_wait must be a number of seconds such as \"60s\"."
  }
}

variable "iam_propagation_wait" {
  description = "How long to wait after granting roles before deploying the functions. IAM changes take up to a couple of minutes to apply; the first Cloud Build and the first instance start (which reads the secrets) fail without this pause."
  type        = string
  default     = "90s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a number of seconds such as \"90s\"."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Webhook receiver (cioWebhook)
# ---------------------------------------------------------------------------------------------------------------

variable "webhook_signing_keys" {
  description = <<-EOT
    Customer.io reporting-webhook signing key(s), comma-separated (any may match, for rotation): CIO_WEBHOOK_SIGNING_KEYS.
    Give it in the environment (TF_VAR_webhook_signing_keys=... terraform apply) on the first apply and whenever you
    raise webhook_signing_keys_version; every other apply needs no value and changes nothing about the secret.
    Ephemeral and written through a write-only argument: never stored in the state or a plan file.
  EOT
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.webhook_signing_keys == null ? true : length([for k in split(",", var.webhook_signing_keys) : k if trimspace(k) != ""]) > 0
    error_message = "webhook_signing_keys must hold at least one key (comma-separated), or be null to add the secret version with gcloud."
  }
}

variable "webhook_signing_keys_version" {
  description = "Write generation of webhook_signing_keys. Terraform cannot compare a write-only value with the stored one, so a new value is written only when this number is raised (keep it in terraform.tfvars). Raising it writes a new secret version from webhook_signing_keys, which must then be given, and rolls out a new webhook revision that reads it (README: Operations, rotate the signing key)."
  type        = number
  default     = 1

  validation {
    condition     = var.webhook_signing_keys_version >= 1 && floor(var.webhook_signing_keys_version) == var.webhook_signing_keys_version
    error_message = "webhook_signing_keys_version must be a whole number >= 1."
  }
}

variable "signature_max_age_seconds" {
  description = "CIO_SIGNATURE_MAX_AGE_SECONDS: oldest X-CIO-Timestamp accepted. Customer.io retries for 7 days, so anything below 604800 rejects genuine retries; the default is 8 days."
  type        = number
  default     = 691200

  validation {
    condition     = var.signature_max_age_seconds >= 604800 && var.signature_max_age_seconds <= 2678400
    error_message = "signature_max_age_seconds must be between 604800 (Customer.io's 7 days of retries) and 2678400 (31 days)."
  }
}

variable "signature_max_future_seconds" {
  description = "CIO_SIGNATURE_MAX_FUTURE_SECONDS: how far ahead of our clock an X-CIO-Timestamp may be (clock skew)."
  type        = number
  default     = 300

  validation {
    condition     = var.signature_max_future_seconds >= 0 && var.signature_max_future_seconds <= 86400
    error_message = "signature_max_future_seconds must be between 0 and 86400."
  }
}

variable "max_body_bytes" {
  description = "CIO_MAX_BODY_BYTES: larger request bodies get 413. Events with Body Content (data.content) can be large HTML; signed ones over one Pub/Sub message (9 MiB) are published without it (README \"Large events\")."
  type        = number
  default     = 33554432

  validation {
    condition     = var.max_body_bytes >= 1024 && var.max_body_bytes <= 33554432
    error_message = "max_body_bytes must be between 1024 and 33554432 (the limits shared/config.ts enforces; Cloud Run refuses requests over 32 MiB)."
  }
}

variable "webhook_min_instances" {
  description = "Warm webhook instances. Customer.io gives a request 4 seconds and a cold start eats much of that, so keep at least one."
  type        = number
  default     = 1

  validation {
    condition     = var.webhook_min_instances >= 0 && var.webhook_min_instances <= 100
    error_message = "webhook_min_instances must be between 0 and 100."
  }
}

variable "webhook_max_instances" {
  description = "Upper bound on webhook instances (each serves webhook_concurrency requests at once: 10 x 80 is far more than Customer.io sends). A new project's Cloud Run CPU quota allows 10 instances of 1 vCPU per service and region until it has billing history; more is refused (\"maxScale may not exceed 10\") until the quota is raised (README: Troubleshooting)."
  type        = number
  default     = 10

  validation {
    condition     = var.webhook_max_instances >= 1 && var.webhook_max_instances <= 1000
    error_message = "webhook_max_instances must be between 1 and 1000."
  }
}

variable "webhook_concurrency" {
  description = "Concurrent requests per webhook instance. The receiver only verifies and publishes (I/O bound), so many requests share one instance."
  type        = number
  default     = 80

  validation {
    condition     = var.webhook_concurrency >= 1 && var.webhook_concurrency <= 1000
    error_message = "webhook_concurrency must be between 1 and 1000."
  }
}

variable "webhook_cpu" {
  description = "vCPUs per webhook instance. Cloud Run functions allow concurrency above 1 only with at least 1 vCPU."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.webhook_cpu)
    error_message = "webhook_cpu must be one of 1, 2, 4, 6, 8 (concurrency > 1 needs at least 1 vCPU)."
  }
}

variable "webhook_memory" {
  description = "Memory per webhook instance (Cloud Run units, e.g. 512Mi, 1Gi)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.webhook_memory))
    error_message = "webhook_memory must look like 512Mi or 1Gi."
  }
}

variable "webhook_public_invoker" {
  description = "Grant roles/run.invoker to allUsers on the webhook (Customer.io cannot authenticate; the HMAC signature is the webhook's authentication). Organisations with Domain Restricted Sharing refuse allUsers (\"One or more users named in the policy do not belong to a permitted customer\"): set false and make the webhook public another way (README: Deploy, organisation policies)."
  type        = bool
  default     = true
}

variable "webhook_timeout_seconds" {
  description = "Request timeout of the webhook. Customer.io stops waiting after 4 s; finishing a slow publish later still helps (the retry is then a duplicate the ledger absorbs)."
  type        = number
  default     = 30

  validation {
    condition     = var.webhook_timeout_seconds >= 5 && var.webhook_timeout_seconds <= 300
    error_message = "webhook_timeout_seconds must be between 5 and 300."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Pub/Sub
# ---------------------------------------------------------------------------------------------------------------

variable "events_topic" {
  description = "CIO_EVENTS_TOPIC: topic the webhook publishes to. The dead-letter topic and the subscriptions are named after it."
  type        = string
  default     = "cio-events"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,200}$", var.events_topic)) && !startswith(lower(var.events_topic), "goog")
    error_message = "events_topic must be a Pub/Sub topic id: a letter, then letters, digits or ._~+%- (3-201 characters), not starting with goog."
  }
}

variable "events_retention" {
  description = "How long the events topic and the processor's subscription keep messages (published or unacknowledged). At least 7 days, so a broken processor can be fixed (or a subscription seeked back) without losing the events Customer.io already considers delivered."
  type        = string
  default     = "604800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.events_retention)) && try(tonumber(trimsuffix(var.events_retention, "s")) >= 604800 && tonumber(trimsuffix(var.events_retention, "s")) <= 2678400, false)
    error_message = "events_retention must be between \"604800s\" (7 days) and \"2678400s\" (31 days, the Pub/Sub maximum)."
  }
}

variable "dead_letter_retention" {
  description = "How long dead letters are kept (dead-letter topic retention and its pull subscription's backlog). The Pub/Sub maximum, 31 days, by default: dead letters wait for a person."
  type        = string
  default     = "2678400s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter_retention)) && try(tonumber(trimsuffix(var.dead_letter_retention, "s")) >= 86400 && tonumber(trimsuffix(var.dead_letter_retention, "s")) <= 2678400, false)
    error_message = "dead_letter_retention must be between \"86400s\" (1 day) and \"2678400s\" (31 days)."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message to the processor before Pub/Sub moves it to the dead-letter topic. With retry backoff of up to 10 minutes, 10 attempts span roughly an hour."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (the Pub/Sub limits)."
  }
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before Pub/Sub redelivers a message the processor nacked."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.retry_minimum_backoff)) && try(tonumber(trimsuffix(var.retry_minimum_backoff, "s")) <= 600, false)
    error_message = "retry_minimum_backoff must be a number of seconds between \"0s\" and \"600s\"."
  }
}

variable "retry_maximum_backoff" {
  description = "Longest wait between redeliveries (exponential backoff grows up to this)."
  type        = string
  default     = "600s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.retry_maximum_backoff)) && try(tonumber(trimsuffix(var.retry_maximum_backoff, "s")) <= 600, false)
    error_message = "retry_maximum_backoff must be a number of seconds between \"0s\" and \"600s\"."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Processor (cioProcessor)
# ---------------------------------------------------------------------------------------------------------------

variable "processor_timeout_seconds" {
  description = "Request timeout of the processor, and the push subscription's ack deadline (Pub/Sub waits this long for a reply). At least 45: the processor gives one event up to 40 s (Track and BigQuery retries included) and must answer before the timeout. Must stay below dedupe_lease_seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.processor_timeout_seconds >= 45 && var.processor_timeout_seconds <= 600
    error_message = "processor_timeout_seconds must be between 45 (the processor's 40 s per-event deadline plus a margin) and 600 (the Pub/Sub ack deadline limit)."
  }
}

variable "processor_min_instances" {
  description = "Warm processor instances. Pub/Sub retries and nothing waits on the processor, so 0 is fine."
  type        = number
  default     = 0

  validation {
    condition     = var.processor_min_instances >= 0 && var.processor_min_instances <= 100
    error_message = "processor_min_instances must be between 0 and 100."
  }
}

variable "processor_concurrency" {
  description = "Concurrent push requests per processor instance. High concurrency lets rows share insertAll requests (most events need no Track call); Track calls share the instance's CIO_TRACK_MAX_RPS limiter, which waits for a turn only while it fits the per-event deadline and otherwise nacks the message for redelivery, so bursts of bounces never run past the ack deadline."
  type        = number
  default     = 80

  validation {
    condition     = var.processor_concurrency >= 1 && var.processor_concurrency <= 1000
    error_message = "processor_concurrency must be between 1 and 1000."
  }
}

variable "processor_cpu" {
  description = "vCPUs per processor instance (concurrency above 1 needs at least 1)."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.processor_cpu)
    error_message = "processor_cpu must be one of 1, 2, 4, 6, 8."
  }
}

variable "processor_memory" {
  description = "Memory per processor instance (Firestore, BigQuery and Track clients)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.processor_memory))
    error_message = "processor_memory must look like 512Mi or 1Gi."
  }
}

variable "track_api_rps_budget" {
  description = "Customer.io Track API requests per second this deployment may use in total. Customer.io's fair-use limit is about 100 per workspace; lower it if other systems call the Track API for the same workspace."
  type        = number
  default     = 100

  validation {
    condition     = var.track_api_rps_budget >= 1 && var.track_api_rps_budget <= 100
    error_message = "track_api_rps_budget must be between 1 and 100 (Customer.io's fair-use limit per workspace)."
  }
}

variable "track_max_rps" {
  description = "CIO_TRACK_MAX_RPS: Track API requests per second ONE processor instance may make. The deployment's worst case is track_max_rps x processor_max_instances, which must stay within track_api_rps_budget (default 10 x 10 = 100)."
  type        = number
  default     = 10

  validation {
    condition     = var.track_max_rps >= 1 && var.track_max_rps <= 100 && floor(var.track_max_rps) == var.track_max_rps
    error_message = "track_max_rps must be a whole number between 1 and 100."
  }
}

variable "processor_max_instances" {
  description = "Upper bound on processor instances. Bounded by the Track API budget: processor_max_instances x track_max_rps <= track_api_rps_budget, so that no amount of backlog can push the deployment past Customer.io's ~100 requests/s."
  type        = number
  default     = 10

  validation {
    condition     = var.processor_max_instances >= 1 && var.processor_max_instances * var.track_max_rps <= var.track_api_rps_budget
    error_message = "processor_max_instances x track_max_rps must not exceed track_api_rps_budget (Customer.io allows about 100 Track requests/s per workspace). Lower one of the two."
  }
}

variable "track_api_enabled" {
  description = "Send profile actions to the Customer.io Track API. false = dry-run (actions are decided, logged and recorded, not sent) and no credentials are injected. The apply that sets it true writes the credential secrets, so give track_site_id and track_api_key with it. Setting it back to false destroys the credential versions."
  type        = bool
  default     = false
}

variable "track_site_id" {
  description = "CIO_SITE_ID (Track API site id). Give it (TF_VAR_track_site_id) on the apply that sets track_api_enabled = true and whenever you raise track_credentials_version; no other apply needs it. Ephemeral, written through a write-only argument: never in the state or a plan file."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "track_api_key" {
  description = "CIO_TRACK_API_KEY (Track API key). Given together with track_site_id (TF_VAR_track_api_key), on the same applies. Ephemeral, written through a write-only argument: never in the state or a plan file."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = (var.track_api_key == null) == (var.track_site_id == null)
    error_message = "Set both track_site_id and track_api_key, or neither."
  }
}

variable "track_credentials_version" {
  description = "Write generation of track_site_id/track_api_key. Raising it writes new versions of both secrets from track_site_id and track_api_key, which must then be given, and rolls out a new processor revision that reads them."
  type        = number
  default     = 1

  validation {
    condition     = var.track_credentials_version >= 1 && floor(var.track_credentials_version) == var.track_credentials_version
    error_message = "track_credentials_version must be a whole number >= 1."
  }
}

variable "track_region" {
  description = "CIO_REGION: the Customer.io account region, us or eu."
  type        = string
  default     = "us"

  validation {
    condition     = contains(["us", "eu"], var.track_region)
    error_message = "track_region must be us or eu."
  }
}

variable "suppress_on" {
  description = "CIO_SUPPRESS_ON: metrics (bounced, spammed) that also call Track suppress(). suppress() DELETES the person and blocks the identifier; Customer.io reserves it for privacy requests. Empty by default."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.suppress_on : contains(["bounced", "spammed"], m)])
    error_message = "suppress_on may only contain bounced and spammed."
  }
}

variable "engagement_attributes" {
  description = "CIO_ENGAGEMENT_ATTRIBUTES: opened/clicked events update last_email_engaged_at on the profile (rate-limited)."
  type        = bool
  default     = false
}

variable "spam_unsubscribe" {
  description = "CIO_SPAM_UNSUBSCRIBE: a spam complaint also sets unsubscribed: true on the profile. Global (every channel), and a late complaint undoes a later re-subscribe: off by default."
  type        = bool
  default     = false
}

variable "log_level" {
  description = "LOG_LEVEL of both functions: debug, info, warning or error."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warning", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warning, error."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Firestore ledger
# ---------------------------------------------------------------------------------------------------------------

variable "create_firestore_database" {
  description = "Create the project's (default) Firestore database in Native mode. Set false when the project already has one (it must be Native mode); the processor always uses (default)."
  type        = bool
  default     = true
}

variable "adopt_firestore_database" {
  description = "Import the project's existing (default) Firestore database instead of creating it. Needed after `terraform destroy`, which leaves the database in place (deletion policy ABANDON), so that the next apply does not fail with \"409 ... already exists\"; also to manage a Native-mode (default) database created outside Terraform. Harmless once the database is in the state."
  type        = bool
  default     = false

  validation {
    condition     = !var.adopt_firestore_database || var.create_firestore_database
    error_message = "adopt_firestore_database needs create_firestore_database = true (it brings the database under this configuration; false leaves it unmanaged)."
  }
}

variable "firestore_location" {
  description = "Location of the (default) Firestore database when this module creates it (a region such as us-central1, or a multi-region such as nam5). null = var.region. Cannot be changed later."
  type        = string
  default     = null
}

variable "dedupe_collection" {
  description = "DEDUPE_COLLECTION: Firestore collection of the event ledger (its expire_at field gets a TTL policy)."
  type        = string
  default     = "cio_webhook_events"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.dedupe_collection))
    error_message = "dedupe_collection must be 1-100 letters, digits, underscores or hyphens."
  }
}

variable "dedupe_ttl_days" {
  description = "DEDUPE_TTL_DAYS: days a finished ledger entry is kept (a copy of the event arriving later is processed, and acted on, again). At least the signature window plus the dead-letter retention: a copy can come back that late (a Customer.io retry, then a dead-letter replay); the processor refuses less at start."
  type        = number
  default     = 40

  validation {
    condition     = var.dedupe_ttl_days <= 3650 && try(var.dedupe_ttl_days >= ceil(var.signature_max_age_seconds / 86400) + ceil(tonumber(trimsuffix(var.dead_letter_retention, "s")) / 86400) && var.dedupe_ttl_days * 86400 >= tonumber(trimsuffix(var.events_retention, "s")), false)
    error_message = "dedupe_ttl_days must be at most 3650 and at least the signature window (signature_max_age_seconds) plus dead_letter_retention, in days, and cover events_retention."
  }
}

variable "dedupe_lease_seconds" {
  description = "DEDUPE_LEASE_SECONDS: how long a claim on an event blocks other deliveries of it. Must exceed processor_timeout_seconds, or a redelivery could take over an event whose first attempt is still running."
  type        = number
  default     = 120

  validation {
    condition     = var.dedupe_lease_seconds > var.processor_timeout_seconds && var.dedupe_lease_seconds <= 3600
    error_message = "dedupe_lease_seconds must be greater than processor_timeout_seconds and at most 3600."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# BigQuery warehouse
# ---------------------------------------------------------------------------------------------------------------

variable "bq_dataset" {
  description = "BQ_DATASET: dataset holding the events and rejected-events tables."
  type        = string
  default     = "customerio"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.bq_dataset)) && length(var.bq_dataset) <= 1024
    error_message = "bq_dataset may contain only letters, digits and underscores."
  }
}

variable "bq_location" {
  description = "BigQuery dataset location (a region such as europe-west1, or the multi-regions US or EU). null = var.region, so the data stays where the functions run. Cannot be changed later: a different location replaces the dataset (set \"US\" to keep a dataset created with the earlier default)."
  type        = string
  default     = null
}

variable "bq_events_table" {
  description = "BQ_TABLE: table with one row per event."
  type        = string
  default     = "events"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.bq_events_table)) && length(var.bq_events_table) <= 1024
    error_message = "bq_events_table may contain only letters, digits and underscores."
  }
}

variable "bq_rejects_table" {
  description = "BQ_REJECTS_TABLE: table of parked (unparseable or rejected) messages."
  type        = string
  default     = "rejected_events"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.bq_rejects_table)) && length(var.bq_rejects_table) <= 1024
    error_message = "bq_rejects_table may contain only letters, digits and underscores."
  }
}

variable "bq_deletion_protection" {
  description = "Refuse to destroy the BigQuery tables (they hold the event history). Set false, apply, then destroy, to remove them deliberately."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------------------------
# Secrets, logs and build images
# ---------------------------------------------------------------------------------------------------------------

variable "secrets_in_region" {
  description = "Replicate the secrets in var.region only (user-managed replication) instead of automatic replication. Needed where a resource-location policy (constraints/gcp.resourceLocations) forbids global resources. Choose before the first apply: changing it replaces the secrets, and the next apply needs their values again."
  type        = bool
  default     = false
}

variable "keep_request_logs" {
  description = "Keep Cloud Run's request log entries for both functions. false (default) excludes them from Cloud Logging: they are about 2 KB per event and repeat what the functions' own log lines say. Request metrics and the functions' own lines are kept either way."
  type        = bool
  default     = false
}

variable "build_image_retention_days" {
  description = "Days the functions' build images are kept in their Artifact Registry repository (the latest two of each function are always kept)."
  type        = number
  default     = 7

  validation {
    condition     = var.build_image_retention_days >= 1 && floor(var.build_image_retention_days) == var.build_image_retention_days
    error_message = "build_image_retention_days must be a whole number of days, at least 1."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Alerting
# ---------------------------------------------------------------------------------------------------------------

variable "alert_email" {
  description = "E-mail address that receives the alerts. Empty = no notification channel: the alert policies still open incidents in Cloud Monitoring."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address or empty."
  }
}

variable "alert_backlog_age_seconds" {
  description = "Alert when the oldest unacknowledged event in the processor's subscription is older than this for 5 minutes. Healthy deliveries are acked in seconds; a failing event waits at most about an hour before it is dead-lettered."
  type        = number
  default     = 1800

  validation {
    condition     = var.alert_backlog_age_seconds >= 300
    error_message = "alert_backlog_age_seconds must be at least 300 (5 minutes)."
  }
}

# --- several workspaces (workspaces.tf) ---------------------------------------------------------------------------

variable "workspaces" {
  description = "Customer.io workspaces besides the default one (POST /): label => { region of its Track API (us, eu), whether the processor calls its Track API }. Each gets the webhook URL <webhook_url>/<label> (output webhook_urls). Adding one needs its keys in workspace_signing_keys (and credentials in workspace_track_credentials when track_api_enabled) on that apply, with the *_version raised."
  type = map(object({
    region            = optional(string, "us")
    track_api_enabled = optional(bool, false)
  }))
  default = {}

  validation {
    condition     = alltrue([for label in keys(var.workspaces) : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", label)) && label != "default"])
    error_message = "workspaces: each label is 1-63 lower-case letters, digits or hyphens, starting with a letter or digit, and not \"default\" (the workspace of POST /): it is the webhook URL's path."
  }

  validation {
    condition     = alltrue([for w in values(var.workspaces) : contains(["us", "eu"], w.region)])
    error_message = "workspaces: region must be \"us\" or \"eu\"."
  }
}

variable "workspace_signing_keys" {
  description = "Signing keys of the workspaces in var.workspaces: label => list of keys (CIO_WORKSPACE_SIGNING_KEYS). Give it (TF_VAR_workspace_signing_keys='{\"eu\": [\"key\"]}') with every workspace's keys on the apply that adds or removes a workspace or raises workspace_signing_keys_version. Ephemeral, written through a write-only argument: never in the state or a plan file."
  type        = map(list(string))
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "workspace_signing_keys_version" {
  description = "Write generation of workspace_signing_keys: raise it to write a new secret version (a workspace added or removed, a key rotated); the webhook rolls out a revision that reads it."
  type        = number
  default     = 1

  validation {
    condition     = var.workspace_signing_keys_version >= 1 && floor(var.workspace_signing_keys_version) == var.workspace_signing_keys_version
    error_message = "workspace_signing_keys_version must be a whole number >= 1."
  }
}

variable "workspace_track_credentials" {
  description = "Track API credentials of the workspaces with track_api_enabled: label => { site_id, api_key } (CIO_WORKSPACE_TRACK_CREDENTIALS; the region comes from var.workspaces). Give it (TF_VAR_workspace_track_credentials) on the apply that turns a workspace live or raises workspace_track_credentials_version. Ephemeral, written through a write-only argument."
  type = map(object({
    site_id = string
    api_key = string
  }))
  default   = null
  sensitive = true
  ephemeral = true
}

variable "workspace_track_credentials_version" {
  description = "Write generation of workspace_track_credentials: raise it to write a new secret version; the processor rolls out a revision that reads it."
  type        = number
  default     = 1

  validation {
    condition     = var.workspace_track_credentials_version >= 1 && floor(var.workspace_track_credentials_version) == var.workspace_track_credentials_version
    error_message = "workspace_track_credentials_version must be a whole number >= 1."
  }
}

# --- completeness: cioReconcile and its schedules (reconcile.tf) --------------------------------------------------

variable "reconcile_enabled" {
  description = "Deploy cioReconcile and its schedules (daily reconcile, stall check) and alerts. Needs a version of the App API key secret first (app_api_key, or the command in output app_api_key_add_version_command)."
  type        = bool
  default     = false
}

variable "app_api_key" {
  description = "CIO_APP_API_KEY: the App API key of the default workspace (Customer.io: Settings > API Credentials > App API Keys; read access to Messages and Reporting Webhooks is enough). Optional: when set, written to its secret through a write-only argument (never in the state); otherwise add the version with gcloud."
  type        = string
  default     = null
  sensitive   = true
}

variable "workspace_app_api_keys" {
  description = "CIO_WORKSPACE_APP_API_KEYS: App API keys of the other workspaces, JSON {\"<label>\": \"<key>\"} or {\"<label>\": {\"key\": \"...\", \"region\": \"eu\"}}. Optional, write-only like app_api_key; injected only when workspace_app_api_keys_enabled."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.workspace_app_api_keys == null || can(jsondecode(var.workspace_app_api_keys))
    error_message = "workspace_app_api_keys must be a JSON object {\"<label>\": \"<App API key>\"}."
  }
}

variable "workspace_app_api_keys_enabled" {
  description = "Inject CIO_WORKSPACE_APP_API_KEYS into cioReconcile (its secret must have a version): reconcile every labelled workspace too."
  type        = bool
  default     = false
}

variable "app_api_keys_version" {
  description = "Write generation of app_api_key / workspace_app_api_keys. Raise it whenever either value changes to write new secret versions."
  type        = number
  default     = 1

  validation {
    condition     = var.app_api_keys_version >= 1 && floor(var.app_api_keys_version) == var.app_api_keys_version
    error_message = "app_api_keys_version must be a whole number >= 1."
  }
}

variable "reconcile_schedule" {
  description = "When the daily reconcile runs (cron, in reconcile_time_zone)."
  type        = string
  default     = "17 4 * * *"
}

variable "stall_check_schedule" {
  description = "When the stall check runs (cron, in reconcile_time_zone)."
  type        = string
  default     = "*/10 * * * *"
}

variable "reconcile_time_zone" {
  description = "Time zone of the two schedules."
  type        = string
  default     = "Etc/UTC"
}

variable "reconcile_days" {
  description = "RECONCILE_DAYS: days of deliveries (by creation) each daily run compares. Opens and clicks keep arriving for days, so each day is judged again by the next runs."
  type        = number
  default     = 7

  validation {
    condition     = var.reconcile_days >= 1 && var.reconcile_days <= 180 && floor(var.reconcile_days) == var.reconcile_days
    error_message = "reconcile_days must be a whole number from 1 to 180."
  }
}

variable "reconcile_drift_threshold" {
  description = "RECONCILE_DRIFT_THRESHOLD: drift (missing here + only here, over what Customer.io records) above which a run alerts: a share (\"0.001\") or a percentage (\"0.1%\")."
  type        = string
  default     = "0.001"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?%?$", var.reconcile_drift_threshold))
    error_message = "reconcile_drift_threshold must be a share such as 0.001 or a percentage such as 0.1%."
  }
}

variable "reconcile_repair" {
  description = "RECONCILE_REPAIR: each daily run also writes what the warehouse lacks (rows with source = 'app_api'; no Track API calls)."
  type        = bool
  default     = false
}

variable "reconcile_settle_minutes" {
  description = "RECONCILE_SETTLE_MINUTES: first occurrences younger than this are not judged (their webhook may still be on its way)."
  type        = number
  default     = 60
}

variable "stall_after_minutes" {
  description = "STALL_AFTER_MINUTES: the stall alert fires when no event arrived for this long while Customer.io created deliveries."
  type        = number
  default     = 60

  validation {
    condition     = var.stall_after_minutes >= 5
    error_message = "stall_after_minutes must be at least 5."
  }
}

variable "event_lag_alert_minutes" {
  description = "Alert when the 99th percentile of event time -> receipt stays above this for 10 minutes (Customer.io retrying or holding the stream back)."
  type        = number
  default     = 15
}

variable "reconcile_timeout_seconds" {
  description = "cioReconcile's request timeout, and the schedule's attempt deadline (Cloud Scheduler allows at most 1800 s)."
  type        = number
  default     = 1800

  validation {
    condition     = var.reconcile_timeout_seconds >= 60 && var.reconcile_timeout_seconds <= 1800
    error_message = "reconcile_timeout_seconds must be between 60 and 1800 (Cloud Scheduler's limit)."
  }
}
