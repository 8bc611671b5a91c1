// What a reconciliation found, added up per group (UTC day the deliveries were created, channel, metric, parent
// type), with a few delivery ids per group to look at, and the reasons some metrics could not be judged.

export const SAMPLES_PER_GROUP = 5;

export interface GroupKey {
  /** YYYY-MM-DD (UTC). */
  day: string;
  channel: string;
  metric: string;
  parentType: string;
}

export interface GroupCounts {
  /** First occurrences Customer.io records. */
  customerio: number;
  matched: number;
  missingHere: number;
  onlyHere: number;
  repaired: number;
  sampleMissing: string[];
  sampleOnlyHere: string[];
}

export interface Totals {
  deliveries: number;
  judged: number;
  matched: number;
  missingHere: number;
  onlyHere: number;
  repaired: number;
}

export class DriftTally {
  readonly groups = new Map<string, GroupKey & GroupCounts>();
  readonly notJudged = new Map<string, number>();
  readonly totals: Totals = {
    deliveries: 0,
    judged: 0,
    matched: 0,
    missingHere: 0,
    onlyHere: 0,
    repaired: 0,
  };

  private group(key: GroupKey): GroupKey & GroupCounts {
    const id = `${key.day}|${key.channel}|${key.metric}|${key.parentType}`;
    let g = this.groups.get(id);
    if (g === undefined) {
      g = {
        ...key,
        customerio: 0,
        matched: 0,
        missingHere: 0,
        onlyHere: 0,
        repaired: 0,
        sampleMissing: [],
        sampleOnlyHere: [],
      };
      this.groups.set(id, g);
    }
    return g;
  }

  matched(key: GroupKey): void {
    const g = this.group(key);
    g.customerio += 1;
    g.matched += 1;
    this.totals.judged += 1;
    this.totals.matched += 1;
  }

  missing(key: GroupKey, deliveryId: string): void {
    const g = this.group(key);
    g.customerio += 1;
    g.missingHere += 1;
    if (g.sampleMissing.length < SAMPLES_PER_GROUP) g.sampleMissing.push(deliveryId);
    this.totals.judged += 1;
    this.totals.missingHere += 1;
  }

  onlyHere(key: GroupKey, deliveryId: string): void {
    const g = this.group(key);
    g.onlyHere += 1;
    if (g.sampleOnlyHere.length < SAMPLES_PER_GROUP) g.sampleOnlyHere.push(deliveryId);
    this.totals.onlyHere += 1;
  }

  repaired(key: GroupKey, rows: number): void {
    this.group(key).repaired += rows;
    this.totals.repaired += rows;
  }

  notJudgedBecause(reason: string, count = 1): void {
    this.notJudged.set(reason, (this.notJudged.get(reason) ?? 0) + count);
  }

  /** (missing here + only here) / judged; undefined when nothing was judged. */
  get drift(): number | undefined {
    const { judged, missingHere, onlyHere } = this.totals;
    return judged === 0 ? (onlyHere === 0 ? undefined : 1) : (missingHere + onlyHere) / judged;
  }

  /** Groups in a stable order: day, channel, metric, parent. */
  sortedGroups(): Array<GroupKey & GroupCounts> {
    return [...this.groups.values()].sort(
      (a, b) =>
        a.day.localeCompare(b.day) ||
        a.channel.localeCompare(b.channel) ||
        a.metric.localeCompare(b.metric) ||
        a.parentType.localeCompare(b.parentType),
    );
  }
}

export const utcDay = (unixSeconds: number): string =>
  new Date(unixSeconds * 1000).toISOString().slice(0, 10);
