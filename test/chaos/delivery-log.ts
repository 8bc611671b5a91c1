// What the processor did with each push delivery, read from its structured log: every invocation writes exactly one
// `event <outcome>` line (shared/processor/process-push.ts) with the workspace, the event_id and the Pub/Sub message
// id, just before it answers. 200 outcomes ack the message; the others nack it (Pub/Sub redelivers). Events are keyed
// by `<workspace>/<event_id>`, their identity.

const ACK = new Set(['processed', 'duplicate', 'rejected']);

export class DeliveryLog {
  /** Outcome → invocations. */
  readonly outcomes = new Map<string, number>();
  /** event_id → Pub/Sub message ids the processor answered 200 for. */
  readonly acked = new Map<string, Set<string>>();
  /** event_id → how many invocations completed it (`processed`); more than one would be a double effect. */
  readonly processed = new Map<string, number>();
  /**
   * event_id → ledger claims that ended with a log line (processed, or a failure after the claim). A claim the
   * ledger counted without such a line was lost with its process (SIGKILL).
   */
  readonly claimsLogged = new Map<string, number>();
  /** event_id → `outcome message_id attempts step` per invocation, for failure messages. */
  readonly trail = new Map<string, string[]>();
  /** Lines at ERROR that are not an event outcome (a crash, a bug): listed by the suite. */
  readonly errors: string[] = [];
  /**
   * The emulator numbers messages from 1 again when it restarts (the Pub/Sub outage): ids are counted per run of it,
   * or a copy published after the restart would be taken for a redelivery of one published before.
   */
  private generation = 0;
  /** Workspace → every outcome line of its events, when it was read, and its failure class. */
  readonly byWorkspace = new Map<string, Array<{ at: number; outcome: string; classification?: string }>>();

  add(line: string): void {
    if (!line.startsWith('{')) return;
    let entry: {
      outcome?: unknown;
      event_id?: unknown;
      workspace?: unknown;
      message_id?: unknown;
      severity?: unknown;
      attempts?: unknown;
      step?: unknown;
      classification?: unknown;
    };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    const { outcome, message_id: messageId } = entry;
    if (typeof outcome !== 'string') {
      if (entry.severity === 'ERROR' || entry.severity === 'CRITICAL') this.errors.push(line);
      return;
    }
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    if (typeof entry.event_id !== 'string') return;
    const eventId = `${typeof entry.workspace === 'string' ? entry.workspace : 'default'}/${entry.event_id}`;
    this.byWorkspace.set(eventId.split('/')[0]!, [
      ...(this.byWorkspace.get(eventId.split('/')[0]!) ?? []),
      {
        at: Date.now(),
        outcome,
        classification: typeof entry.classification === 'string' ? entry.classification : undefined,
      },
    ]);
    const detail = [outcome, `msg ${String(messageId)}`, `attempt ${String(entry.attempts ?? '-')}`];
    if (entry.step !== undefined) detail.push(`${String(entry.step)}: ${String(entry.classification)}`);
    this.trail.set(eventId, [...(this.trail.get(eventId) ?? []), detail.join(' ')]);
    if (outcome === 'processed') this.processed.set(eventId, (this.processed.get(eventId) ?? 0) + 1);
    if (outcome === 'processed' || (outcome === 'retryable_failure' && entry.step !== 'claim')) {
      this.claimsLogged.set(eventId, (this.claimsLogged.get(eventId) ?? 0) + 1);
    }
    if (ACK.has(outcome) && typeof messageId === 'string') {
      const ids = this.acked.get(eventId) ?? new Set<string>();
      ids.add(`${this.generation}:${messageId}`);
      this.acked.set(eventId, ids);
    }
  }

  /** Pub/Sub was stopped: message ids seen from now on are another run's. */
  newPubsubRun(): void {
    this.generation++;
  }

  count(outcome: string): number {
    return this.outcomes.get(outcome) ?? 0;
  }

  ackedMessages(eventId: string): number {
    return this.acked.get(eventId)?.size ?? 0;
  }
}
