// The numbers behind the report: a handful of aggregate queries over the analytics views, written in the SQL subset
// BigQuery and DuckDB share, and their results as typed values. Rates are computed here from summed counts (rates
// of several days or domains cannot be summed or averaged).
import { DEFAULT_WORKSPACE, WORKSPACE_LABEL, isWorkspaceLabel } from '../../../shared/workspace';
import { UsageError } from '../args';
import {
  completenessQueries,
  loadCompleteness,
  type Completeness,
  type CompletenessQueries,
} from './completeness';
import type { Row, WarehouseSource } from './source';

/** A range of UTC days, both ends included, as YYYY-MM-DD. */
export interface Period {
  from: string;
  to: string;
  /** Every day of the period, in order. */
  days: string[];
}

export interface FunnelCounts {
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  converted: number;
  bounced: number;
  spammed: number;
  unsubscribed: number;
  /** Deliveries opened by a person: not prefetched (a proxied open is a person), or clicked by one. */
  humanOpened: number;
  /** Deliveries clicked by a person, not a link scanner. */
  humanClicked: number;
}

export interface OriginFunnel extends FunnelCounts {
  originType: string;
  originId: number | null;
  channel: string;
}

export interface DailyCounts {
  day: string;
  sent: number;
  delivered: number;
  bounced: number;
  hardBounced: number;
  complaints: number;
  unsubscribed: number;
}

/** Email engagement per day of sending (delivery_funnel), raw and human. */
export interface DailyEngagement {
  day: string;
  delivered: number;
  opened: number;
  humanOpened: number;
  clicked: number;
  humanClicked: number;
}

export interface BounceReason {
  /** The failure message with addresses masked and whitespace collapsed. */
  reason: string;
  bounceType: 'hard' | 'soft';
  bounces: number;
}

export interface DomainCounts {
  domain: string | null;
  sent: number;
  delivered: number;
  bounced: number;
  complaints: number;
  unsubscribed: number;
}

export interface ReportData {
  period: Period;
  /** The one workspace reported on; undefined: every workspace together. */
  workspace: string | undefined;
  generatedAt: Date;
  sourceLabel: string;
  /** Email deliveries of the period (delivery_funnel). */
  emailFunnel: FunnelCounts;
  /** Per origin and channel, the largest first. */
  funnels: OriginFunnel[];
  /** Email, one entry per day of the period (zeros on days without events). */
  daily: DailyCounts[];
  /** Email opens and clicks by day of sending, one entry per day of the period. */
  engagement: DailyEngagement[];
  bounceReasons: BounceReason[];
  /** Recipient domains with complaints in the period, the most first. */
  complaintDomains: DomainCounts[];
  /** Reconciliation with Customer.io's record, and how late events arrive. */
  completeness: Completeness;
}

export const TOP_FUNNELS = 10;
export const TOP_BOUNCE_REASONS = 8;
export const TOP_DOMAINS = 10;
const MAX_DAYS = 400;
const DAY_MS = 86_400_000;

const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

/** `7d` = the last 7 UTC days including today; `YYYY-MM-DD` = from that day through today. */
export function parsePeriod(since: string, now: Date): Period {
  const to = isoDay(now);
  const value = since.trim();
  let from: string;
  const relative = /^(\d{1,3})d$/.exec(value);
  if (relative) {
    const n = Number(relative[1]);
    if (n < 1 || n > MAX_DAYS) throw new UsageError(`--since ${since}: between 1d and ${MAX_DAYS}d`);
    from = isoDay(new Date(Date.parse(to) - (n - 1) * DAY_MS));
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))) {
    from = isoDay(new Date(value));
    if (from !== value) throw new UsageError(`--since ${since} is not a calendar date`);
    if (from > to) throw new UsageError(`--since ${since} is in the future`);
    if ((Date.parse(to) - Date.parse(from)) / DAY_MS >= MAX_DAYS)
      throw new UsageError(`--since ${since}: at most ${MAX_DAYS} days`);
  } else {
    throw new UsageError(`--since must be a number of days (e.g. 7d) or a date (YYYY-MM-DD), got "${since}"`);
  }
  const days: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) days.push(isoDay(new Date(t)));
  return { from, to, days };
}

export type ComplaintFlag = 'ok' | 'warn' | 'limit';

/**
 * The Gmail/Yahoo bulk-sender complaint thresholds (0.1% warn, 0.3% limit), in integers like the
 * deliverability_daily view, so the boundaries are exact. undefined without deliveries.
 */
export function complaintFlag(complaints: number, delivered: number): ComplaintFlag | undefined {
  if (delivered === 0) return undefined;
  if (complaints * 1000 >= delivered * 3) return 'limit';
  if (complaints * 1000 >= delivered) return 'warn';
  return 'ok';
}

/** The report's queries, by what they read: one SQL text each, in the dialect BigQuery and DuckDB share. */
export interface ReportQueries extends CompletenessQueries {
  emailFunnel: string;
  funnels: string;
  daily: string;
  engagement: string;
  bounceReasons: string;
  complaintDomains: string;
}

const FUNNEL_COLUMNS = [
  'sent',
  'delivered',
  'opened',
  'clicked',
  'converted',
  'bounced',
  'spammed',
  'unsubscribed',
  'human_opened',
  'human_clicked',
];

/**
 * `table` turns a view's id into its SQL reference. The per-group sums keep the views' column names (`SUM(sent) AS
 * sent`), so the queries that filter or sort on them do it in an outer query: inside the grouping query BigQuery
 * would read `sent` in `ORDER BY SUM(sent)` as the alias ("Aggregations of aggregations are not allowed"), DuckDB as
 * the column.
 */
export function reportQueries(
  table: (id: string) => string,
  period: Period,
  workspace?: string,
): ReportQueries {
  // `workspace` is a validated label (parseWorkspace): safe to quote.
  const only = workspace === undefined ? '' : ` AND workspace = '${workspace}'`;
  const inPeriod = (column: string): string =>
    `${column} >= DATE '${period.from}' AND ${column} <= DATE '${period.to}'${only}`;
  const funnel = table('delivery_funnel');
  const daily = table('deliverability_daily');
  const sums = (cols: string[]): string => cols.map((c) => `SUM(${c}) AS ${c}`).join(', ');
  return {
    emailFunnel: `SELECT ${sums(FUNNEL_COLUMNS)} FROM ${funnel} WHERE object_type = 'email' AND ${inPeriod('day')}`,
    funnels: `SELECT * FROM (
         SELECT origin_type, origin_id, object_type, ${sums(FUNNEL_COLUMNS)} FROM ${funnel} WHERE ${inPeriod('day')}
         GROUP BY origin_type, origin_id, object_type
       ) AS per_origin
       ORDER BY sent DESC, origin_type, origin_id, object_type LIMIT ${TOP_FUNNELS}`,
    daily: `SELECT day, ${sums(['sent', 'delivered', 'bounced', 'hard_bounced', 'complaints', 'unsubscribed'])}
       FROM ${daily} WHERE ${inPeriod('day')} GROUP BY day`,
    engagement: `SELECT day, ${sums(['delivered', 'opened', 'human_opened', 'clicked', 'human_clicked'])}
       FROM ${funnel} WHERE object_type = 'email' AND ${inPeriod('day')} GROUP BY day`,
    // Raw messages differ per address: group the top few hundred here, then again once addresses are masked.
    bounceReasons: `SELECT failure_message, bounce_type, COUNT(DISTINCT COALESCE(delivery_id, event_id)) AS bounces
       FROM ${table('events_unique')}
       WHERE object_type = 'email' AND metric = 'bounced' AND ${inPeriod('DATE(occurred_at)')}
       GROUP BY failure_message, bounce_type ORDER BY bounces DESC LIMIT 500`,
    complaintDomains: `SELECT * FROM (
         SELECT recipient_domain, ${sums(['sent', 'delivered', 'bounced', 'complaints', 'unsubscribed'])}
         FROM ${daily} WHERE ${inPeriod('day')} GROUP BY recipient_domain
       ) AS per_domain
       WHERE complaints > 0 ORDER BY complaints DESC, delivered DESC LIMIT ${TOP_DOMAINS}`,
    ...completenessQueries(table, period, workspace),
  };
}

/** `--workspace`: `default` or a workspace label; anything else is a usage error. */
export function parseWorkspace(workspace: string | undefined): string | undefined {
  if (workspace === undefined || workspace === DEFAULT_WORKSPACE || isWorkspaceLabel(workspace))
    return workspace;
  throw new UsageError(
    `--workspace must be default or a workspace label (${WORKSPACE_LABEL.source}), got "${workspace}"`,
  );
}

export async function loadReportData(
  source: WarehouseSource,
  period: Period,
  generatedAt: Date,
  workspace?: string,
): Promise<ReportData> {
  const only = parseWorkspace(workspace);
  const sql = reportQueries((id) => source.table(id), period, only);
  const [emailFunnel, funnels, days, engagement, reasons, domains, completeness] = await Promise.all([
    source.query(sql.emailFunnel),
    source.query(sql.funnels),
    source.query(sql.daily),
    source.query(sql.engagement),
    source.query(sql.bounceReasons),
    source.query(sql.complaintDomains),
    loadCompleteness(source, period, only),
  ]);

  const byDay = new Map(days.map((r) => [text(r.day), r]));
  const engagementByDay = new Map(engagement.map((r) => [text(r.day), r]));
  return {
    period,
    workspace,
    generatedAt,
    sourceLabel: source.label,
    emailFunnel: funnelCounts(emailFunnel[0] ?? {}),
    funnels: funnels
      .map((r) => ({
        originType: text(r.origin_type) ?? 'unknown',
        originId: r.origin_id === null || r.origin_id === undefined ? null : num(r.origin_id),
        channel: text(r.object_type) ?? 'unknown',
        ...funnelCounts(r),
      }))
      .sort((a, b) => b.sent - a.sent || originKey(a).localeCompare(originKey(b))),
    daily: period.days.map((day) => {
      const r = byDay.get(day) ?? {};
      return {
        day,
        sent: num(r.sent),
        delivered: num(r.delivered),
        bounced: num(r.bounced),
        hardBounced: num(r.hard_bounced),
        complaints: num(r.complaints),
        unsubscribed: num(r.unsubscribed),
      };
    }),
    engagement: period.days.map((day) => {
      const r = engagementByDay.get(day) ?? {};
      return {
        day,
        delivered: num(r.delivered),
        opened: num(r.opened),
        humanOpened: num(r.human_opened),
        clicked: num(r.clicked),
        humanClicked: num(r.human_clicked),
      };
    }),
    bounceReasons: groupReasons(reasons),
    complaintDomains: domains
      .map((r) => ({
        domain: text(r.recipient_domain),
        sent: num(r.sent),
        delivered: num(r.delivered),
        bounced: num(r.bounced),
        complaints: num(r.complaints),
        unsubscribed: num(r.unsubscribed),
      }))
      .sort((a, b) => b.complaints - a.complaints || b.delivered - a.delivered),
    completeness,
  };
}

function funnelCounts(r: Row): FunnelCounts {
  return {
    sent: num(r.sent),
    delivered: num(r.delivered),
    opened: num(r.opened),
    clicked: num(r.clicked),
    converted: num(r.converted),
    bounced: num(r.bounced),
    spammed: num(r.spammed),
    unsubscribed: num(r.unsubscribed),
    humanOpened: num(r.human_opened),
    humanClicked: num(r.human_clicked),
  };
}

const originKey = (o: OriginFunnel): string => `${o.originType}:${o.originId ?? ''}:${o.channel}`;

// An address, with the angle brackets SMTP replies often put around it.
const EMAIL = /<?[^\s<>()[\]{}"',;:]+@[^\s<>()[\]{}"',;:]+>?/g;
const MAX_REASON = 160;

/** Masks addresses (a report gets shared; the reason matters, not whose), then regroups what became equal. */
export function normaliseReason(message: string | null): string {
  if (message === null || message.trim() === '') return '(no failure message)';
  const clean = message.replace(EMAIL, '<address>').replace(/\s+/g, ' ').trim();
  return clean.length > MAX_REASON ? `${clean.slice(0, MAX_REASON - 1)}…` : clean;
}

function groupReasons(rows: Row[]): BounceReason[] {
  const grouped = new Map<string, BounceReason>();
  for (const r of rows) {
    const reason = normaliseReason(text(r.failure_message));
    const bounceType = text(r.bounce_type) === 'soft' ? 'soft' : 'hard';
    const key = `${bounceType}\u0000${reason}`;
    const entry = grouped.get(key) ?? { reason, bounceType, bounces: 0 };
    entry.bounces += num(r.bounces);
    grouped.set(key, entry);
  }
  return [...grouped.values()]
    .sort((a, b) => b.bounces - a.bounces || a.reason.localeCompare(b.reason))
    .slice(0, TOP_BOUNCE_REASONS);
}

// Warehouse values arrive as numbers, numeric strings or bigints depending on the engine and client.
function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  const n = typeof value === 'bigint' ? Number(value) : Number(value as string | number);
  if (!Number.isFinite(n)) throw new Error(`Expected a number from the warehouse, got ${String(value)}`);
  return n;
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
