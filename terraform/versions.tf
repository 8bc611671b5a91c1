# Terraform 1.11 is the floor: the signing key and Track credentials are written through write-only arguments
# (secret_data_wo), which keep secret values out of the state, and variables.tf validates across variables.
terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
    # google_project_service_identity (the Pub/Sub service agent) exists only in google-beta.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
    # time_sleep waits out API enablement, IAM propagation and log-based metric creation, the eventual-consistency
    # gaps that otherwise fail a first apply in a new project.
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
  }
}
