// Fault injection for tests and the chaos suite: make the next N matching requests fail the way BigQuery or the
// network can fail.

/**
 * Operations the server recognises: datasets.insert|get|list|delete|patch, tables.insert|get|list|delete|patch,
 * tabledata.insertAll|list, jobs.query|getQueryResults|insert|get|cancel.
 * A fault's `match` is an operation name, its last part ('insertAll', 'query'), or '*'.
 */
export type Operation = string;

interface FaultBase {
  /** How many matching requests this fault applies to (default 1; Infinity for all). */
  times?: number;
  /** Which operation (default 'insertAll'). */
  match?: string;
  /** Only requests for this table id (or `dataset.table`). */
  table?: string;
}

export type FaultSpec = FaultBase &
  (
    | {
        /** Answer with this HTTP status and BigQuery's error JSON; nothing is stored. */
        kind: 'status';
        status: number;
        reason?: string;
        message?: string;
      }
    | {
        /**
         * insertAll only: answer 200 with insertErrors. Rows selected by `rows` (default: all) fail with `reason`;
         * like BigQuery, without skipInvalidRows the other rows fail with 'stopped' and nothing is stored, with
         * skipInvalidRows the other rows are stored.
         */
        kind: 'partial';
        reason: string;
        rows?: (row: unknown, index: number) => boolean;
      }
    | {
        /** Wait `ms`, then handle the request normally (the write lands even if the client gave up). */
        kind: 'hang';
        ms: number;
      }
    | {
        /**
         * Destroy the connection without an answer. commit=true first performs the request (the write lands,
         * the client sees a network error: the case insertId dedupe exists for).
         */
        kind: 'reset';
        commit?: boolean;
      }
  );

/** A live view of one added fault. */
export interface FaultHandle {
  readonly hits: number;
  readonly remaining: number;
}

interface Entry {
  spec: FaultSpec;
  remaining: number;
  hits: number;
}

export class Faults {
  private entries: Entry[] = [];

  add(spec: FaultSpec): FaultHandle {
    const entry: Entry = { spec, remaining: spec.times ?? 1, hits: 0 };
    this.entries.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      get remaining() {
        return entry.remaining;
      },
    };
  }

  clear(): void {
    this.entries = [];
  }

  /** The first pending fault matching this request, consumed. */
  take(op: Operation, dataset?: string, table?: string): FaultSpec | undefined {
    const entry = this.entries.find(
      (e) =>
        e.remaining > 0 &&
        matchesOp(e.spec, op) &&
        (e.spec.table === undefined || e.spec.table === table || e.spec.table === `${dataset}.${table}`),
    );
    if (!entry) return undefined;
    entry.remaining--;
    entry.hits++;
    if (entry.remaining <= 0) this.entries = this.entries.filter((e) => e !== entry);
    return entry.spec;
  }
}

function matchesOp(spec: FaultSpec, op: Operation): boolean {
  if (spec.kind === 'partial') return op === 'tabledata.insertAll';
  const m = spec.match ?? 'insertAll';
  return m === '*' || m === op || op.endsWith(`.${m}`);
}
