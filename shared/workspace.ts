// Several Customer.io workspaces in one deployment (README, "Several workspaces"). Payloads carry no workspace id,
// so the webhook URL names it: `POST /` is the `default` workspace, `POST /<label>` workspace `<label>`. The label
// travels with the event (message attribute `workspace`, row column `workspace`), and an event's identity is
// (workspace, event_id): two workspaces may send the same event_id, and those are two events.

import { createHash } from 'node:crypto';

export const DEFAULT_WORKSPACE = 'default';

/** A workspace label: lower-case letters, digits and hyphens, as a URL path segment and a BigQuery value carry it. */
export const WORKSPACE_LABEL = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isWorkspaceLabel(text: string): boolean {
  return WORKSPACE_LABEL.test(text) && text !== DEFAULT_WORKSPACE;
}

export interface EventIdentity {
  workspace: string;
  eventId: string;
}

/**
 * The text an event's identity is hashed from: the event_id itself for the default workspace (so a deployment that
 * gains a second workspace keeps every ledger entry and insertId it had), `<label>\n<event_id>` for the others (a
 * label cannot hold a newline, so no two identities share a text).
 */
export function identityText({ workspace, eventId }: EventIdentity): string {
  return workspace === DEFAULT_WORKSPACE ? eventId : `${workspace}\n${eventId}`;
}

/** sha256 hex of the identity: the ledger document id. */
export function identityHash(identity: EventIdentity): string {
  return createHash('sha256').update(identityText(identity), 'utf8').digest('hex');
}
