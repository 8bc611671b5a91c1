// Collects the processor's per-event outcomes (processed, duplicate, ...) from a local stack's log stream.
import type { StackOptions } from '../../scripts/local/stack';

export function collectOutcomes(outcomes: Map<string, string[]>): NonNullable<StackOptions['onLog']> {
  return (source, line) => {
    if (source !== 'processor' || !line.startsWith('{')) return;
    const entry = JSON.parse(line) as { event_id?: unknown; outcome?: unknown };
    if (typeof entry.event_id === 'string' && typeof entry.outcome === 'string') {
      outcomes.set(entry.event_id, [...(outcomes.get(entry.event_id) ?? []), entry.outcome]);
    }
  };
}
