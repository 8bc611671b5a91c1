// cioProcessor's work for one Pub/Sub push delivery: decode → (park | claim → actions → row → done).
//
// Exactly-once effects on an at-least-once stream: the ledger claim admits one worker per event at a time; a
// duplicate of a done event is acked with no side effect; nothing is marked done before its effects succeeded;
// a retryable failure nacks (503) after recording which steps completed, so the redelivery resumes. Poison never
// loops: a message that is not a usable event is parked in the rejects table and acked; only if parking itself
// fails is it nacked (nothing is lost, the dead-letter topic ends the loop).
//
// Time: every event gets a deadline of min(40 s, DEDUPE_LEASE_SECONDS / 2). The Track client's timeouts are
// derived from it so no Track request outlives it, and the lease (at least twice as long) cannot expire under a
// working claim. The function timeout and the push ack deadline (Terraform: 60 s) must exceed the deadline, so a
// reply always arrives before Pub/Sub gives up on the delivery; the lease (120 s) must exceed both.
//
// Status: 200 = ack (processed, duplicate, parked); 503 = nack (retryable failure, lease held elsewhere,
// parking failed).

import { decideActions, token, type Policy } from '../customerio/action-policy';
import { parseEvent, type CioEvent } from '../customerio/event';
import type { TrackActions } from '../customerio/track';
import { DeadlineExceededError, classOf, errorMessage, withDeadline } from '../errors';
import type { Fields, Logger } from '../log';
import {
  eventInsertId,
  toEventRow,
  toRejectRow,
  type RejectInput,
  type RejectReason,
  type RejectRow,
} from '../warehouse/row';
import type { Expectation, WarehouseWriter } from '../warehouse/writer';
import type { Claim, FirestoreOps, Ledger } from './ledger';
import { DEFAULT_WORKSPACE, isWorkspaceLabel } from '../workspace';
import { decodePushEnvelope, receivedAtOf } from './push-envelope';

export type Outcome =
  'processed' | 'duplicate' | 'in_progress_nack' | 'rejected' | 'retryable_failure' | 'reject_failed';

/** Where in an event's processing a failure happened (the `step` field of its log line). */
export type Step = 'claim' | 'actions' | 'warehouse' | 'park_row_invalid' | 'complete';

export interface PushResult {
  status: 200 | 503;
  outcome: Outcome;
}

export interface ProcessorDeps {
  ledger: Ledger;
  /** The Track API of a workspace: each has its own credentials, rate budget and dry-run. */
  trackFor: (workspace: string) => TrackActions;
  policy: Policy;
  events: WarehouseWriter;
  rejects: WarehouseWriter;
  logger: Logger;
  deadlineMs: number;
}

export interface Budget {
  deadlineMs: number;
  trackRequestTimeoutMs: number;
  bigQueryTimeoutMs: number;
}

/** Per-event time budget, derived from the lease so that the lease always outlasts a working claim. */
export function processingBudget(leaseSeconds: number): Budget {
  const deadlineMs = Math.min(40_000, (leaseSeconds * 1000) / 2);
  return {
    deadlineMs,
    trackRequestTimeoutMs: Math.min(5_000, Math.floor(deadlineMs / 8)),
    bigQueryTimeoutMs: Math.min(15_000, Math.floor(deadlineMs / 4)),
  };
}

// Content problems (the sender's doing) are warnings; wiring problems and refused rows are errors.
const REJECT_SEVERITY: Record<RejectReason, 'warn' | 'error'> = {
  parse_error: 'warn',
  not_json: 'warn',
  not_an_object: 'warn',
  invalid_event: 'warn',
  envelope_invalid: 'error',
  data_not_base64: 'error',
  row_invalid: 'error',
};

// When BigQuery refuses a reject row as invalid, the likely cause is its size (raw_body is base64, 4/3 of a message
// of up to MAX_MESSAGE_BYTES, 9 MiB; BigQuery caps a streamed row). Refusing to park would nack the message on every
// delivery until dead-letter, so the body is cut to these sizes in turn, the detail saying so.
const REJECT_FALLBACK_BYTES = [3 * 1024 * 1024, 256 * 1024];

/** Stores a reject row; throws (RetryableError or the refusal) when it could not be stored. */
async function storeReject(deps: ProcessorDeps, input: RejectInput, deadlineAt: number): Promise<RejectRow> {
  const sizes = [Infinity, ...REJECT_FALLBACK_BYTES.filter((n) => n < input.raw.length)];
  for (let i = 0; ; i += 1) {
    const row = toRejectRow(input, sizes[i]);
    const result = await deps.rejects.insert(row.reject_id, row, deadlineAt);
    if (result.kind === 'inserted') return row;
    if (i === sizes.length - 1) throw new Error(`the rejects table refused the row: ${result.message}`);
  }
}

export async function processPush(
  deps: ProcessorDeps,
  body: unknown,
  rawBody: Buffer | undefined,
): Promise<PushResult> {
  const started = Date.now();
  const run: Run = {
    deps,
    deadlineAt: started + deps.deadlineMs,
    ops: { reads: 0, writes: 0 },
    // Announced before the claim so that concurrent invocations share one insertAll request.
    slot: deps.events.expect(),
    log: (level, outcome, fields) =>
      deps.logger[level](`event ${outcome}`, {
        outcome,
        ...fields,
        firestore_ops: run.ops,
        latency_ms: Date.now() - started,
      }),
  };
  try {
    const envelope = decodePushEnvelope(body, rawBody);
    if (!envelope.ok) {
      const { reason, detail, raw, attributes, messageId, publishTime } = envelope;
      const receivedAt = receivedAtOf(attributes, publishTime, new Date(started));
      return await park(
        run,
        { raw, reason, detail, eventId: undefined, messageId, attributes, receivedAt },
        {},
      );
    }
    const message = envelope.message;
    const receivedAt = receivedAtOf(message.attributes, message.publishTime, new Date(started));
    // Messages published before workspaces existed carry no attribute: they are the default workspace's.
    const workspace = message.attributes.workspace ?? DEFAULT_WORKSPACE;
    const delivery: Delivery = {
      raw: message.data,
      messageId: message.messageId,
      attributes: message.attributes,
      receivedAt,
      workspace,
    };
    const context: Fields = {
      event_id: message.attributes.event_id,
      workspace,
      message_id: message.messageId,
      delivery_attempt: message.deliveryAttempt,
    };
    if (workspace !== DEFAULT_WORKSPACE && !isWorkspaceLabel(workspace)) {
      // cioWebhook only publishes labels it serves: this message came from somewhere else.
      const detail = 'the workspace attribute is not a workspace label';
      return await park(
        run,
        { ...delivery, reason: 'envelope_invalid', detail, eventId: undefined },
        context,
      );
    }
    const flagged = message.attributes.parse_error;
    if (flagged !== undefined) {
      const eventId = message.attributes.event_id;
      return await park(run, { ...delivery, reason: 'parse_error', detail: flagged, eventId }, context);
    }
    const parsed = parseEvent(message.data);
    if (!parsed.ok) {
      const { reason, detail, eventId } = parsed;
      return await park(run, { ...delivery, reason, detail, eventId }, context);
    }
    const event = parsed.event;
    return await processEvent(run, event, delivery, {
      ...context,
      event_id: event.eventId,
      object_type: event.objectType,
      metric: event.metric,
    });
  } catch (err) {
    // Only a bug gets here: every expected failure is classified where it happens. Nack: nothing is lost.
    run.log('error', 'retryable_failure', {
      error: errorMessage(err),
      classification: classOf(err).classification,
    });
    return { status: 503, outcome: 'retryable_failure' };
  } finally {
    run.slot.cancel();
  }
}

type Level = 'info' | 'warn' | 'error';

/** One invocation's state. */
interface Run {
  deps: ProcessorDeps;
  deadlineAt: number;
  ops: FirestoreOps;
  slot: Expectation;
  /** The invocation's one log line. */
  log: (level: Level, outcome: Outcome, fields: Fields) => void;
}

/** What the message carried besides the event. */
interface Delivery {
  raw: Buffer;
  messageId: string | undefined;
  attributes: Readonly<Record<string, string>>;
  receivedAt: string;
  workspace: string;
}

async function park(run: Run, input: Omit<RejectInput, 'rejectedAt'>, context: Fields): Promise<PushResult> {
  const fields = { ...context, reason: input.reason, detail: input.detail };
  let row: RejectRow;
  try {
    row = await storeReject(run.deps, { ...input, rejectedAt: new Date() }, run.deadlineAt);
  } catch (err) {
    const { classification } = classOf(err);
    run.log('error', 'reject_failed', { ...fields, error: errorMessage(err), classification });
    return { status: 503, outcome: 'reject_failed' };
  }
  run.log(REJECT_SEVERITY[input.reason], 'rejected', { ...fields, reject_id: row.reject_id });
  return { status: 200, outcome: 'rejected' };
}

async function processEvent(
  run: Run,
  event: CioEvent,
  delivery: Delivery,
  context: Fields,
): Promise<PushResult> {
  const { deps, deadlineAt, ops, log } = run;
  const identity = { workspace: delivery.workspace, eventId: event.eventId };
  let claim: Claim;
  try {
    claim = await withDeadline(deps.ledger.claim(identity, ops), deadlineAt, 'ledger claim');
  } catch (err) {
    const { classification, severity } = classOf(err);
    const step: Step = 'claim';
    log(severity === 'error' ? 'error' : 'warn', 'retryable_failure', {
      ...context,
      step,
      error: errorMessage(err),
      classification,
    });
    return { status: 503, outcome: 'retryable_failure' };
  }
  if (claim.kind === 'duplicate') {
    log('info', 'duplicate', context);
    return { status: 200, outcome: 'duplicate' };
  }
  if (claim.kind === 'busy') {
    const leaseUntil = claim.leaseUntil.toISOString();
    log('warn', 'in_progress_nack', { ...context, attempts: claim.attempts, lease_until: leaseUntil });
    return { status: 503, outcome: 'in_progress_nack' };
  }

  const fields: Fields = { ...context, attempts: claim.attempts };
  const completed: Record<string, string> = { ...claim.progress.actionsCompleted };
  let warehouseDone = claim.progress.warehouseDone;
  let step: Step = 'actions';
  const tokens: string[] = [];
  const errors: Fields[] = [];
  try {
    const decision = decideActions(event, deps.policy);
    if ('skipped' in decision) tokens.push(token.skipped(decision.skipped));
    for (const action of 'actions' in decision ? decision.actions : []) {
      const recorded = completed[action.key];
      if (recorded !== undefined) {
        tokens.push(recorded);
        continue;
      }
      const result = await deps.trackFor(delivery.workspace).run(action, deadlineAt);
      completed[action.key] = result.token;
      tokens.push(result.token);
      if (result.permanentError) {
        errors.push({
          step: 'track',
          action: action.key,
          classification: 'permanent',
          ...result.permanentError,
        });
      }
    }
    if (!warehouseDone) {
      step = 'warehouse';
      const outcome = await run.slot.insert(
        eventInsertId(identity),
        toEventRow(
          event,
          {
            workspace: delivery.workspace,
            receivedAt: delivery.receivedAt,
            truncated: delivery.attributes.truncated,
          },
          tokens,
        ),
        deadlineAt,
      );
      if (outcome.kind === 'invalid') {
        // One bad row must not block the stream: keep its bytes in the rejects table and complete the event.
        step = 'park_row_invalid';
        const input = {
          ...delivery,
          reason: 'row_invalid' as const,
          detail: outcome.message,
          eventId: event.eventId,
        };
        const row = await storeReject(deps, { ...input, rejectedAt: new Date() }, deadlineAt);
        errors.push({
          step: 'warehouse',
          classification: 'permanent',
          parked: 'row_invalid',
          reject_id: row.reject_id,
          message: outcome.message,
        });
      }
      warehouseDone = true;
    }
    step = 'complete';
    await withDeadline(deps.ledger.complete(identity, tokens, ops), deadlineAt, 'ledger complete');
  } catch (err) {
    // Failure path: record what completed and release the lease, unless work may still be in flight (deadline).
    const inFlight = err instanceof DeadlineExceededError;
    let saved: boolean | string;
    try {
      const progress = { actionsCompleted: completed, warehouseDone };
      saved = await deps.ledger.saveProgress(identity, claim.claimId, progress, !inFlight, ops);
    } catch (saveErr) {
      saved = `failed: ${errorMessage(saveErr)}`;
    }
    const { classification, severity } = classOf(err);
    log(severity === 'error' ? 'error' : 'warn', 'retryable_failure', {
      ...fields,
      step,
      actions: tokens,
      error: errorMessage(err),
      classification,
      progress_saved: saved,
    });
    return { status: 503, outcome: 'retryable_failure' };
  }
  log(errors.length > 0 ? 'error' : 'info', 'processed', {
    ...fields,
    actions: tokens,
    // From when the event happened to when cioWebhook took it: the lag distribution and its alert (a growing lag is
    // Customer.io holding the stream back).
    ...(event.timestamp !== undefined && {
      event_lag_seconds: Math.max(0, Math.round(Date.parse(delivery.receivedAt) / 1000 - event.timestamp)),
    }),
    ...(errors.length > 0 && { errors }),
  });
  return { status: 200, outcome: 'processed' };
}
