// The analytics views (shared/warehouse/views/*.sql) on an embedded DuckDB holding rows made by the processor's own row
// mapping: exact numbers for each view, on the fixture events and on generated cases built to hit the edges.
import { PERMANENT_SMTP_CODE, TEMPORARY_SMTP_CODE, bounceClass } from '../../shared/customerio/bounce';
import { EVENTS_TABLE } from '../../shared/warehouse/schema';
import {
  loadViewTemplates,
  orderByDependency,
  parseTemplate,
  renderViews,
} from '../../shared/warehouse/views';
import type { EventRow } from '../../shared/warehouse/row';
import { parseDelivery, type Delivery } from '../../shared/customerio/app-api/deliveries';
import { factsOf } from '../../shared/reconcile/facts';
import { backfillRow } from '../../shared/reconcile/rows';
import { fixtureRows, openDuckWarehouse, rowFromBody, type DuckWarehouse } from '../support/duckdb-warehouse';

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();
const HOUR = 3600;
const DAY = 86400;

let seq = 0;
interface EventSpec {
  metric: string;
  at: number;
  data: Record<string, unknown>;
  objectType?: string;
  receivedAt?: number;
  eventId?: string;
  actions?: string[];
}
function row(spec: EventSpec): EventRow {
  return rowFromBody(
    {
      event_id: spec.eventId ?? `evt-${String(++seq).padStart(6, '0')}`,
      object_type: spec.objectType ?? 'email',
      metric: spec.metric,
      timestamp: spec.at,
      data: spec.data,
    },
    spec.receivedAt === undefined ? undefined : iso(spec.receivedAt),
    spec.actions,
  );
}

async function withWarehouse(rows: EventRow[], fn: (w: DuckWarehouse) => Promise<void>): Promise<void> {
  const w = await openDuckWarehouse();
  try {
    await w.insert(rows);
    await fn(w);
  } finally {
    w.close();
  }
}

describe('view definitions', () => {
  test('one file per view; events_unique reads the table and every other view reads events_unique', () => {
    const views = loadViewTemplates();
    expect(views.map((v) => v.name)).toEqual([
      'events_unique',
      'deliverability_daily',
      'delivery_funnel',
      'person_channel_state',
    ]);
    expect(views.map((v) => v.dependsOn)).toEqual([
      [],
      ['events_unique'],
      ['events_unique'],
      ['events_unique'],
    ]);
    expect(views[0]!.template).toContain('${events}');
    for (const v of views.slice(1)) expect(v.template).not.toContain('${events}');
  });

  test('Terraform-style qualified names replace every placeholder', () => {
    const rendered = renderViews((id) => `\`proj.analytics.${id}\``, 'cio_events');
    for (const v of rendered) expect(v.sql).not.toMatch(/\$\{|%\{/);
    expect(rendered[0]!.sql).toContain('FROM `proj.analytics.cio_events`');
    expect(rendered[1]!.sql).toContain('FROM `proj.analytics.events_unique`');
  });

  test('template syntax other than placeholders, unknown views and cycles are refused', () => {
    expect(() => parseTemplate('v', "SELECT '${x' AS a FROM ${events}")).toThrow(/templatefile/);
    expect(() => parseTemplate('v', "SELECT '%{ if }' FROM ${events}")).toThrow(/templatefile/);
    expect(() => parseTemplate('v', 'SELECT * FROM ${v}')).toThrow(/reads itself/);
    expect(() => orderByDependency([parseTemplate('a', 'SELECT * FROM ${nope}')])).toThrow(
      /unknown view.*nope/,
    );
    expect(() =>
      orderByDependency([parseTemplate('a', 'SELECT * FROM ${b}'), parseTemplate('b', 'SELECT * FROM ${a}')]),
    ).toThrow(/cycle: a, b/);
  });

  test('events_unique exposes every column of the events table, plus its derived columns', async () => {
    await withWarehouse([], async (w) => {
      const columns = await w.query(`SELECT column_name FROM information_schema.columns
        WHERE table_name = 'events_unique' ORDER BY ordinal_position`);
      expect(columns.map((c) => c.column_name)).toEqual([
        ...EVENTS_TABLE.fields.map((f) => f.name),
        'occurred_at',
        'person_key',
        'bounce_type',
        'unsubscribe_source',
      ]);
    });
  });
});

describe('views on the fixture events', () => {
  let w: DuckWarehouse;
  beforeAll(async () => {
    w = await openDuckWarehouse();
    await w.insert(fixtureRows());
  });
  afterAll(() => w.close());

  test('delivery_funnel: one row per origin with funnel events; failed, replied and webhook deliveries have none', async () => {
    const rows =
      await w.query(`SELECT day, object_type, origin_type, origin_id, action_id, sent, delivered, opened,
        human_opened, clicked, human_clicked, converted, bounced, spammed, unsubscribed
      FROM delivery_funnel ORDER BY object_type, origin_type, origin_id`);
    const base = { day: '2024-11-25', converted: 0 };
    expect(rows).toEqual([
      // dlv-Rb2: delivered only.
      {
        ...base,
        object_type: 'email',
        origin_type: 'broadcast',
        origin_id: 4,
        action_id: 88,
        sent: 1,
        delivered: 1,
        opened: 0,
        human_opened: 0,
        clicked: 0,
        human_clicked: 0,
        bounced: 0,
        spammed: 0,
        unsubscribed: 0,
      },
      // dlv-Qk1 (sent, prefetched open, human click), dlv-Td4 (spammed only), dlv-Ue5 (unsubscribed only).
      {
        ...base,
        object_type: 'email',
        origin_type: 'campaign',
        origin_id: 27,
        action_id: 311,
        sent: 3,
        delivered: 3,
        opened: 1,
        human_opened: 1,
        clicked: 1,
        human_clicked: 1,
        bounced: 0,
        spammed: 1,
        unsubscribed: 1,
      },
      // dlv-Sc3: hard bounce; newsletters have no action_id.
      {
        ...base,
        object_type: 'email',
        origin_type: 'newsletter',
        origin_id: 519,
        action_id: null,
        sent: 1,
        delivered: 0,
        opened: 0,
        human_opened: 0,
        clicked: 0,
        human_clicked: 0,
        bounced: 1,
        spammed: 0,
        unsubscribed: 0,
      },
      {
        ...base,
        object_type: 'in_app',
        origin_type: 'campaign',
        origin_id: 33,
        action_id: 92,
        sent: 1,
        delivered: 1,
        opened: 1,
        human_opened: 1,
        clicked: 1,
        human_clicked: 1,
        bounced: 0,
        spammed: 0,
        unsubscribed: 0,
      },
      {
        ...base,
        object_type: 'push',
        origin_type: 'campaign',
        origin_id: 31,
        action_id: 90,
        sent: 1,
        delivered: 0,
        opened: 0,
        human_opened: 0,
        clicked: 0,
        human_clicked: 0,
        bounced: 0,
        spammed: 0,
        unsubscribed: 0,
      },
    ]);
  });

  test('deliverability_daily: email events per recipient domain', async () => {
    const rows = await w.query(`SELECT recipient_domain, sent, delivered, bounced, hard_bounced, soft_bounced,
        complaints, unsubscribed, bounce_rate, complaint_rate, complaint_flag
      FROM deliverability_daily WHERE day = DATE '2024-11-25' ORDER BY recipient_domain`);
    expect(rows).toEqual([
      // cy bounced (550 5.1.1), di complained, ed unsubscribed, fi's transactional email failed (not counted).
      {
        recipient_domain: 'example.com',
        sent: 0,
        delivered: 0,
        bounced: 1,
        hard_bounced: 1,
        soft_bounced: 0,
        complaints: 1,
        unsubscribed: 1,
        bounce_rate: null,
        complaint_rate: null,
        complaint_flag: null,
      },
      {
        recipient_domain: 'example.net',
        sent: 0,
        delivered: 1,
        bounced: 0,
        hard_bounced: 0,
        soft_bounced: 0,
        complaints: 0,
        unsubscribed: 0,
        bounce_rate: null,
        complaint_rate: 0,
        complaint_flag: 'ok',
      },
      {
        recipient_domain: 'example.org',
        sent: 1,
        delivered: 0,
        bounced: 0,
        hard_bounced: 0,
        soft_bounced: 0,
        complaints: 0,
        unsubscribed: 0,
        bounce_rate: 0,
        complaint_rate: null,
        complaint_flag: null,
      },
    ]);
  });

  test('person_channel_state: one row per person and channel, keyed by cio_ id, else id', async () => {
    const rows = await w.query(`SELECT person_key, channel, last_sent_at, last_delivered_at, last_opened_at,
        last_clicked_at, hard_bounced_at, complained_at, unsubscribed_at, soft_bounces_7d
      FROM person_channel_state ORDER BY person_key, channel`);
    const none = {
      last_sent_at: null,
      last_delivered_at: null,
      last_opened_at: null,
      last_clicked_at: null,
      hard_bounced_at: null,
      complained_at: null,
      unsubscribed_at: null,
      soft_bounces_7d: 0,
    };
    expect(rows).toEqual([
      // u-1001's events carry a cio_id: the processor acts on cio_a1b2c3000001, and so does the key.
      { ...none, person_key: 'cio_a1b2c3000001', channel: 'customer' },
      // The open was prefetched; the human click stands for it.
      {
        ...none,
        person_key: 'cio_a1b2c3000001',
        channel: 'email',
        last_sent_at: '2024-11-25T16:01:00.000Z',
        last_opened_at: '2024-11-25T16:10:00.000Z',
        last_clicked_at: '2024-11-25T16:10:00.000Z',
      },
      {
        ...none,
        person_key: 'cio_a1b2c3000004',
        channel: 'email',
        complained_at: '2024-11-25T16:13:20.000Z',
      },
      { ...none, person_key: 'u-1002', channel: 'email', last_delivered_at: '2024-11-25T16:01:10.000Z' },
      { ...none, person_key: 'u-1003', channel: 'email', hard_bounced_at: '2024-11-25T16:11:40.000Z' },
      { ...none, person_key: 'u-1005', channel: 'email', unsubscribed_at: '2024-11-25T16:15:00.000Z' },
      { ...none, person_key: 'u-1006', channel: 'email' },
      { ...none, person_key: 'u-1007', channel: 'push', last_sent_at: '2024-11-25T16:18:20.000Z' },
      { ...none, person_key: 'u-1008', channel: 'sms' },
      {
        ...none,
        person_key: 'u-1009',
        channel: 'in_app',
        last_opened_at: '2024-11-25T16:21:40.000Z',
        last_clicked_at: '2024-11-25T16:21:40.000Z',
      },
      { ...none, person_key: 'u-1010', channel: 'customer' },
      { ...none, person_key: 'u-1011', channel: 'webhook' },
    ]);
  });
});

describe('delivery_funnel and events_unique on the tricky cases', () => {
  const T0 = Date.parse('2024-12-02T10:00:00Z') / 1000;
  const email = (delivery: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    delivery_id: delivery,
    campaign_id: 100,
    action_id: 1000,
    recipient: `${delivery}@a.test`,
    identifiers: { id: `person-${delivery}`, email: `${delivery}@a.test` },
    ...extra,
  });
  const sentAndDelivered = (d: string): EventSpec[] => [
    { metric: 'sent', at: T0, data: email(d) },
    { metric: 'delivered', at: T0 + 60, data: email(d) },
  ];
  const dupSentId = 'evt-dup-sent-d10';
  const specs: EventSpec[] = [
    // d1: two opens (two event_ids, "every time" mode) and a click: counted once each.
    ...sentAndDelivered('d1'),
    { metric: 'opened', at: T0 + HOUR, data: email('d1') },
    { metric: 'opened', at: T0 + 2 * HOUR, data: email('d1') },
    { metric: 'clicked', at: T0 + 3 * HOUR, data: email('d1', { machine: false }) },
    // d2: a click without any open event: opened anyway.
    ...sentAndDelivered('d2'),
    { metric: 'clicked', at: T0 + HOUR, data: email('d2') },
    // d3: a prefetched open (nobody) and a proxied one (a person behind a proxy).
    ...sentAndDelivered('d3'),
    { metric: 'opened', at: T0 + 120, data: email('d3', { prefetched: true }) },
    { metric: 'opened', at: T0 + HOUR, data: email('d3', { proxied: true, prefetched: false }) },
    // d4: only a machine click (link scanner): opened and clicked, but by nobody.
    ...sentAndDelivered('d4'),
    { metric: 'clicked', at: T0 + 30, data: email('d4', { machine: true }) },
    // d5: out of order: the next-day open arrives first, the sent event last; an unknown metric from before.
    { metric: 'opened', at: T0 + 15 * HOUR, receivedAt: T0 + 15 * HOUR + 1, data: email('d5') },
    { metric: 'future_metric', at: T0 - 2 * DAY, receivedAt: T0 + 16 * HOUR, data: email('d5') },
    { metric: 'sent', at: T0 + 13 * HOUR, receivedAt: T0 + 17 * HOUR, data: email('d5') },
    // d6: no sent event: its day is its first event's.
    { metric: 'delivered', at: T0 + 23 * HOUR, data: email('d6') },
    { metric: 'opened', at: T0 + 24 * HOUR, data: email('d6') },
    // d7 soft bounce, d8 hard bounce.
    { metric: 'sent', at: T0, data: email('d7') },
    { metric: 'bounced', at: T0 + 300, data: email('d7', { failure_message: '452 4.2.2 Mailbox full' }) },
    { metric: 'sent', at: T0, data: email('d8') },
    {
      metric: 'bounced',
      at: T0 + 300,
      data: email('d8', { failure_message: '550 5.1.1 <d8@a.test>: Recipient address rejected' }),
    },
    // d9: only metrics outside the funnel: no row, no count.
    { metric: 'future_metric', at: T0, data: email('d9') },
    { metric: 'deferred', at: T0, data: email('d9') },
    // d10: its sent row landed twice (same event_id; the later copy inserted first), then a conversion.
    {
      metric: 'sent',
      at: T0,
      eventId: dupSentId,
      receivedAt: T0 + 600,
      actions: ['second-copy'],
      data: email('d10'),
    },
    { metric: 'sent', at: T0, eventId: dupSentId, receivedAt: T0 + 5, data: email('d10') },
    { metric: 'converted', at: T0 + 2 * HOUR, data: email('d10') },
    // d11: complaint and unsubscribe.
    ...sentAndDelivered('d11'),
    { metric: 'spammed', at: T0 + 5 * HOUR, data: email('d11') },
    { metric: 'unsubscribed', at: T0 + 5 * HOUR + 60, data: email('d11') },
    // A transactional message: no action_id.
    {
      metric: 'sent',
      at: T0,
      data: { delivery_id: 't1', transactional_message_id: 5, recipient: 't1@b.test' },
    },
    {
      metric: 'delivered',
      at: T0 + 60,
      data: { delivery_id: 't1', transactional_message_id: 5, recipient: 't1@b.test' },
    },
  ];

  let w: DuckWarehouse;
  beforeAll(async () => {
    w = await openDuckWarehouse();
    await w.insert(specs.map(row));
  });
  afterAll(() => w.close());

  test('events_unique keeps one row per event_id: the earliest received copy', async () => {
    const [counts] = await w.query(`SELECT (SELECT COUNT(*) FROM events) AS stored,
      (SELECT COUNT(*) FROM events_unique) AS unique_rows,
      (SELECT COUNT(DISTINCT event_id) FROM events) AS distinct_ids`);
    expect(counts).toEqual({
      stored: specs.length,
      unique_rows: specs.length - 1,
      distinct_ids: specs.length - 1,
    });
    const dup = await w.query(
      `SELECT received_at, actions FROM events_unique WHERE event_id = '${dupSentId}'`,
    );
    expect(dup).toEqual([{ received_at: iso(T0 + 5), actions: [] }]);
  });

  test('delivery_funnel counts each delivery once per stage, on the day it was sent', async () => {
    const rows = await w.query(`SELECT * FROM delivery_funnel ORDER BY day, origin_type`);
    expect(rows).toHaveLength(3);
    const [day1, transactional, day2] = rows;
    expect(day1).toMatchObject({
      day: '2024-12-02',
      object_type: 'email',
      origin_type: 'campaign',
      origin_id: 100,
      action_id: 1000,
      sent: 9,
      delivered: 6,
      // Raw: d1, d2 (a click implies an open), d3 (prefetched and proxied opens), d4 (a machine click), d5.
      opened: 5,
      // Human: d3's proxied open is a person; d4's machine click is not.
      human_opened: 4,
      clicked: 3,
      human_clicked: 2,
      converted: 1,
      bounced: 2,
      spammed: 1,
      unsubscribed: 1,
    });
    expect(day1!.delivered_per_sent).toBeCloseTo(6 / 9, 12);
    expect(day1!.opened_per_sent).toBeCloseTo(5 / 9, 12);
    expect(day1!.human_opened_per_sent).toBeCloseTo(4 / 9, 12);
    expect(day1!.clicked_per_sent).toBeCloseTo(3 / 9, 12);
    expect(day1!.human_clicked_per_sent).toBeCloseTo(2 / 9, 12);
    expect(day1!.bounced_per_sent).toBeCloseTo(2 / 9, 12);
    expect(day1!.opened_per_delivered).toBeCloseTo(5 / 6, 12);
    expect(day1!.human_opened_per_delivered).toBeCloseTo(4 / 6, 12);
    expect(day1!.clicked_per_delivered).toBeCloseTo(3 / 6, 12);
    expect(day1!.human_clicked_per_delivered).toBeCloseTo(2 / 6, 12);
    expect(day1!.converted_per_delivered).toBeCloseTo(1 / 6, 12);
    expect(day1!.spammed_per_delivered).toBeCloseTo(1 / 6, 12);
    expect(day1!.unsubscribed_per_delivered).toBeCloseTo(1 / 6, 12);
    expect(transactional).toMatchObject({
      day: '2024-12-02',
      origin_type: 'transactional',
      origin_id: 5,
      action_id: null,
      sent: 1,
      delivered: 1,
      opened: 0,
      delivered_per_sent: 1,
      opened_per_delivered: 0,
    });
    expect(day2).toMatchObject({
      day: '2024-12-03',
      origin_type: 'campaign',
      origin_id: 100,
      sent: 1,
      delivered: 1,
      opened: 1,
      clicked: 0,
      opened_per_delivered: 1,
    });
  });

  test('deliverability_daily counts the events of each day, soft and hard bounces apart', async () => {
    const rows =
      await w.query(`SELECT day, recipient_domain, sent, delivered, bounced, hard_bounced, soft_bounced,
        complaints, unsubscribed, bounce_rate, hard_bounce_rate, complaint_rate, unsubscribe_rate, complaint_flag
      FROM deliverability_daily ORDER BY day, recipient_domain`);
    expect(rows).toEqual([
      // d5's unknown metric of 2024-11-30 makes a row of zeros on its day.
      {
        day: '2024-11-30',
        recipient_domain: 'a.test',
        sent: 0,
        delivered: 0,
        bounced: 0,
        hard_bounced: 0,
        soft_bounced: 0,
        complaints: 0,
        unsubscribed: 0,
        bounce_rate: null,
        hard_bounce_rate: null,
        complaint_rate: null,
        unsubscribe_rate: null,
        complaint_flag: null,
      },
      {
        day: '2024-12-02',
        recipient_domain: 'a.test',
        sent: 9,
        delivered: 5,
        bounced: 2,
        hard_bounced: 1,
        soft_bounced: 1,
        complaints: 1,
        unsubscribed: 1,
        bounce_rate: 2 / 9,
        hard_bounce_rate: 1 / 9,
        complaint_rate: 0.2,
        unsubscribe_rate: 0.2,
        complaint_flag: 'limit',
      },
      {
        day: '2024-12-02',
        recipient_domain: 'b.test',
        sent: 1,
        delivered: 1,
        bounced: 0,
        hard_bounced: 0,
        soft_bounced: 0,
        complaints: 0,
        unsubscribed: 0,
        bounce_rate: 0,
        hard_bounce_rate: 0,
        complaint_rate: 0,
        unsubscribe_rate: 0,
        complaint_flag: 'ok',
      },
      {
        day: '2024-12-03',
        recipient_domain: 'a.test',
        sent: 0,
        delivered: 1,
        bounced: 0,
        hard_bounced: 0,
        soft_bounced: 0,
        complaints: 0,
        unsubscribed: 0,
        bounce_rate: null,
        hard_bounce_rate: null,
        complaint_rate: 0,
        unsubscribe_rate: 0,
        complaint_flag: 'ok',
      },
    ]);
  });
});

describe('bounce_type: the action policy’s classifier, in SQL', () => {
  const cases: [string | null, 'soft' | 'hard'][] = [
    ['550 5.1.1 The email account that you tried to reach does not exist', 'hard'],
    ['452 4.2.2 The email account that you tried to reach is over quota', 'soft'],
    ['421-4.7.0 Try again later, closing connection.', 'soft'],
    ['smtp;554 5.7.1 Message rejected as spam', 'hard'],
    ['4.4.7 Delivery time expired.', 'soft'],
    ['Temporary failure, code 451', 'soft'],
    // Digits in an IP address are not an SMTP code.
    ['Relay 10.4.5.6 said: 550 5.7.1 Relaying denied', 'hard'],
    // A temporary code before a permanent one: the permanent one decides.
    ['452 4.2.2 over quota; then 550 5.2.2 mailbox disabled', 'hard'],
    ['message of 45000 bytes refused', 'hard'],
    ['Mailbox unavailable', 'hard'],
    ['', 'hard'],
    [null, 'hard'],
  ];

  test('the view holds the action policy’s two patterns, verbatim', () => {
    const sql = loadViewTemplates().find((v) => v.name === 'events_unique')!.template;
    expect(sql).toContain(`'${TEMPORARY_SMTP_CODE}'`);
    expect(sql).toContain(`'${PERMANENT_SMTP_CODE}'`);
  });

  test('the view and the action policy agree on every message; other metrics, and no metric, have none', async () => {
    const rows = cases.map(([message], i) => {
      const data: Record<string, unknown> = { delivery_id: `b${i}`, recipient: 'x@a.test' };
      if (message !== null) data.failure_message = message;
      return row({ metric: 'bounced', at: 1733000000, data, eventId: `bounce-${i}` });
    });
    const data = { delivery_id: 'o', failure_message: '550 5.1.1 no such user' };
    rows.push(row({ metric: 'dropped', at: 1733000000, data, eventId: 'dropped' }));
    rows.push(rowFromBody({ event_id: 'no-metric', object_type: 'email', data }));
    await withWarehouse(rows, async (w) => {
      const types = await w.query(`SELECT event_id, bounce_type FROM events_unique ORDER BY event_id`);
      const byId = new Map(types.map((t) => [t.event_id, t.bounce_type]));
      const viewSays = cases.map((_, i) => byId.get(`bounce-${i}`));
      expect(viewSays).toEqual(cases.map(([, expected]) => expected));
      expect(viewSays).toEqual(cases.map(([message]) => bounceClass(message ?? undefined)));
      // Before: a row without a metric fell through to 'hard', counting a bounce that never happened.
      expect([byId.get('dropped'), byId.get('no-metric')]).toEqual([null, null]);
    });
  });

  test('an event without a metric is no bounce, whatever its failure message says', async () => {
    const body = {
      event_id: 'no-metric',
      object_type: 'email',
      timestamp: 1733000000,
      data: {
        delivery_id: 'nm-1',
        recipient: 'x@a.test',
        identifiers: { id: 'u-nm' },
        failure_message: '550 5.1.1 The email account that you tried to reach does not exist',
      },
    };
    await withWarehouse([rowFromBody(body)], async (w) => {
      expect(await w.query(`SELECT metric, bounce_type FROM events_unique`)).toEqual([
        { metric: null, bounce_type: null },
      ]);
      expect(await w.query(`SELECT bounced, hard_bounced, soft_bounced FROM deliverability_daily`)).toEqual([
        { bounced: 0, hard_bounced: 0, soft_bounced: 0 },
      ]);
      expect(await w.query(`SELECT person_key, hard_bounced_at FROM person_channel_state`)).toEqual([
        { person_key: 'u-nm', hard_bounced_at: null },
      ]);
    });
  });
});

describe('deliverability_daily complaint thresholds (Gmail/Yahoo bulk-sender rules)', () => {
  const DAY_T = Date.parse('2024-12-10T08:00:00Z') / 1000;
  function domainVolume(
    domain: string,
    deliveries: number,
    complaints: number,
    recipientDomain = domain,
  ): EventSpec[] {
    const out: EventSpec[] = [];
    for (let i = 0; i < deliveries; i++) {
      const data = {
        delivery_id: `${domain}-${i}`,
        campaign_id: 7,
        action_id: 70,
        recipient: `User${i}@${recipientDomain}`,
      };
      out.push({ metric: 'sent', at: DAY_T, data }, { metric: 'delivered', at: DAY_T + 30, data });
      if (i < complaints) out.push({ metric: 'spammed', at: DAY_T + HOUR, data });
    }
    return out;
  }
  const specs: EventSpec[] = [
    ...domainVolume('ok.test', 1001, 1), // 0.0999%
    ...domainVolume('warn.test', 1000, 1), // exactly 0.1%
    ...domainVolume('warn2.test', 1001, 3), // 0.2997%
    ...domainVolume('limit.test', 1000, 3, 'Limit.TEST'), // exactly 0.3%; domains are lower-cased
    ...domainVolume('gmail.com', 10, 0),
    // A repeated complaint about the same delivery counts once.
    {
      metric: 'spammed',
      at: DAY_T + 2 * HOUR,
      data: { delivery_id: 'limit.test-0', recipient: 'User0@Limit.TEST' },
    },
    // Complaints arrive days late: counted on the day they happen, where nothing was delivered.
    {
      metric: 'spammed',
      at: DAY_T + 2 * DAY,
      data: { delivery_id: 'warn.test-500', recipient: 'User500@warn.test' },
    },
    // No recipient: the person's email gives the domain.
    {
      metric: 'unsubscribed',
      at: DAY_T,
      data: { delivery_id: 'u-1', identifiers: { id: 'u-1', email: 'someone@Fallback.test' } },
    },
    // Other channels are not email deliverability.
    {
      metric: 'delivered',
      at: DAY_T,
      objectType: 'sms',
      data: { delivery_id: 's-1', recipient: 'x@ok.test' },
    },
  ];

  test('0.1% and above warns, 0.3% and above is over the limit, below 0.1% is ok', async () => {
    await withWarehouse(specs.map(row), async (w) => {
      const rows = await w.query(`SELECT day, recipient_domain, sent, delivered, complaints, unsubscribed,
          complaint_rate, complaint_flag, complaint_note
        FROM deliverability_daily ORDER BY day, recipient_domain`);
      const on = (day: string, domain: string, sent: number, complaints: number, flag: string | null) => ({
        day,
        recipient_domain: domain,
        sent,
        delivered: sent,
        complaints,
        unsubscribed: 0,
        complaint_rate: sent === 0 ? null : complaints / sent,
        complaint_flag: flag,
        complaint_note: null,
      });
      expect(rows).toEqual([
        {
          day: '2024-12-10',
          recipient_domain: 'fallback.test',
          sent: 0,
          delivered: 0,
          complaints: 0,
          unsubscribed: 1,
          complaint_rate: null,
          complaint_flag: null,
          complaint_note: null,
        },
        {
          ...on('2024-12-10', 'gmail.com', 10, 0, 'ok'),
          complaint_note: expect.stringContaining('only fully visible in Google Postmaster Tools'),
        },
        on('2024-12-10', 'limit.test', 1000, 3, 'limit'),
        on('2024-12-10', 'ok.test', 1001, 1, 'ok'),
        on('2024-12-10', 'warn.test', 1000, 1, 'warn'),
        on('2024-12-10', 'warn2.test', 1001, 3, 'warn'),
        { ...on('2024-12-12', 'warn.test', 0, 1, null), complaint_rate: null },
      ]);
    });
  });

  test('bounce and unsubscribe rates over sent and delivered', async () => {
    const specsB: EventSpec[] = [];
    for (let i = 0; i < 200; i++) {
      const data = { delivery_id: `b-${i}`, broadcast_id: 3, action_id: 30, recipient: `r${i}@bounce.test` };
      specsB.push({ metric: 'sent', at: DAY_T, data });
      if (i < 6)
        specsB.push({
          metric: 'bounced',
          at: DAY_T + 60,
          data: { ...data, failure_message: '550 5.1.1 unknown user' },
        });
      else if (i < 10)
        specsB.push({
          metric: 'bounced',
          at: DAY_T + 60,
          data: { ...data, failure_message: '421 4.7.0 Try later' },
        });
      else specsB.push({ metric: 'delivered', at: DAY_T + 60, data });
      if (i >= 10 && i < 12) specsB.push({ metric: 'unsubscribed', at: DAY_T + HOUR, data });
    }
    await withWarehouse(specsB.map(row), async (w) => {
      const rows = await w.query(`SELECT sent, delivered, bounced, hard_bounced, soft_bounced, unsubscribed,
          bounce_rate, hard_bounce_rate, unsubscribe_rate FROM deliverability_daily`);
      expect(rows).toEqual([
        {
          sent: 200,
          delivered: 190,
          bounced: 10,
          hard_bounced: 6,
          soft_bounced: 4,
          unsubscribed: 2,
          bounce_rate: 0.05,
          hard_bounce_rate: 0.03,
          unsubscribe_rate: 2 / 190,
        },
      ]);
    });
  });
});

describe('person_channel_state', () => {
  // Relative to the real clock: soft_bounces_7d looks back 7 days from when the query runs. The events sit days
  // away from the window's edge.
  const NOW = Math.floor(Date.now() / 1000);
  const p1 = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    delivery_id: 'p1-d',
    campaign_id: 1,
    action_id: 10,
    recipient: 'p1@x.test',
    identifiers: { id: 'p-1', email: 'p1@x.test' },
    ...extra,
  });
  const p2 = { delivery_id: 'p2-d', campaign_id: 1, action_id: 10, identifiers: { id: 'p-2' } };
  const specs: EventSpec[] = [
    { metric: 'sent', at: NOW - 10 * DAY, data: p1() },
    { metric: 'delivered', at: NOW - 10 * DAY + 60, data: p1() },
    { metric: 'opened', at: NOW - 9 * DAY, data: p1() },
    { metric: 'opened', at: NOW - 8 * DAY, data: p1({ proxied: true }) },
    { metric: 'opened', at: NOW - 7 * DAY, data: p1({ proxied: true, prefetched: true }) },
    { metric: 'clicked', at: NOW - 2 * DAY, data: p1({ machine: true }) },
    { metric: 'bounced', at: NOW - 10 * DAY, data: p1({ failure_message: '452 4.2.2 Mailbox full' }) },
    { metric: 'bounced', at: NOW - 3 * DAY, data: p1({ failure_message: '452 4.2.2 Mailbox full' }) },
    { metric: 'deferred', at: NOW - DAY, data: p1() },
    { metric: 'bounced', at: NOW - DAY + 60, data: p1({ failure_message: '550 5.1.1 No such user' }) },
    { metric: 'dropped', at: NOW - 600, data: p1({ failure_message: 'Address suppressed' }) },
    { metric: 'spammed', at: NOW - HOUR, data: p1() },
    { metric: 'unsubscribed', at: NOW - 1800, data: p1() },
    {
      metric: 'sent',
      at: NOW - 5 * DAY,
      objectType: 'push',
      data: { delivery_id: 'p1-push', identifiers: { id: 'p-1' } },
    },
    { metric: 'unsubscribed', at: NOW - 1700, objectType: 'customer', data: { identifiers: { id: 'p-1' } } },
    // Out of order: the later open arrives first.
    { metric: 'opened', at: NOW - 6 * DAY, receivedAt: NOW - 60, data: p2 },
    { metric: 'opened', at: NOW - 8 * DAY, receivedAt: NOW - 30, data: p2 },
    { metric: 'clicked', at: NOW - 7 * DAY, data: p2 },
    { metric: 'spammed', at: NOW - DAY, data: { delivery_id: 'c-d', identifiers: { cio_id: 'abc' } } },
    // Names only an email: no person (the processor would not act on it either).
    {
      metric: 'unsubscribed',
      at: NOW - DAY,
      data: { delivery_id: 'e-d', identifiers: { email: 'e@x.test' } },
    },
    // p-3's complaint was written back with unsubscribed: true; Customer.io then sent the customer unsubscribe.
    {
      metric: 'spammed',
      at: NOW - 2 * DAY,
      receivedAt: NOW - 2 * DAY + 5,
      actions: ['identify:email_complained_unsubscribed'],
      data: { delivery_id: 'p3-d', identifiers: { id: 'p-3', cio_id: 'c3' } },
    },
    {
      metric: 'unsubscribed',
      at: NOW - 2 * DAY + 40,
      objectType: 'customer',
      data: { identifiers: { id: 'p-3', cio_id: 'c3' } },
    },
    // p-4's write-back was only a dry run: its later unsubscribe is the person's own.
    {
      metric: 'spammed',
      at: NOW - 2 * DAY,
      actions: ['dry_run:identify:email_complained_unsubscribed'],
      data: { delivery_id: 'p4-d', identifiers: { id: 'p-4' } },
    },
    {
      metric: 'unsubscribed',
      at: NOW - 2 * DAY + 40,
      objectType: 'customer',
      data: { identifiers: { id: 'p-4' } },
    },
    // Names no person: no row.
    {
      metric: 'failed',
      at: NOW - DAY,
      objectType: 'webhook',
      data: { delivery_id: 'w-d', failure_message: 'HTTP 502' },
    },
  ];

  test('latest event of each kind per person and channel; soft bounces of the last 7 days', async () => {
    await withWarehouse(specs.map(row), async (w) => {
      const rows = await w.query(`SELECT person_key, channel, person_id, cio_id, person_email, last_sent_at,
          last_delivered_at, last_opened_at, last_clicked_at, hard_bounced_at, complained_at, unsubscribed_at,
          unsubscribed_by_writeback_at, soft_bounces_7d
        FROM person_channel_state ORDER BY person_key, channel`);
      const none = {
        person_id: null,
        cio_id: null,
        person_email: null,
        last_sent_at: null,
        last_delivered_at: null,
        last_opened_at: null,
        last_clicked_at: null,
        hard_bounced_at: null,
        complained_at: null,
        unsubscribed_at: null,
        unsubscribed_by_writeback_at: null,
        soft_bounces_7d: 0,
      };
      expect(rows).toEqual([
        { ...none, person_key: 'cio_abc', channel: 'email', cio_id: 'abc', complained_at: iso(NOW - DAY) },
        {
          ...none,
          person_key: 'cio_c3',
          channel: 'customer',
          person_id: 'p-3',
          cio_id: 'c3',
          unsubscribed_by_writeback_at: iso(NOW - 2 * DAY + 40),
        },
        {
          ...none,
          person_key: 'cio_c3',
          channel: 'email',
          person_id: 'p-3',
          cio_id: 'c3',
          complained_at: iso(NOW - 2 * DAY),
        },
        {
          ...none,
          person_key: 'p-1',
          channel: 'customer',
          person_id: 'p-1',
          unsubscribed_at: iso(NOW - 1700),
        },
        {
          ...none,
          person_key: 'p-1',
          channel: 'email',
          person_id: 'p-1',
          person_email: 'p1@x.test',
          last_sent_at: iso(NOW - 10 * DAY),
          last_delivered_at: iso(NOW - 10 * DAY + 60),
          // The proxied open is a person; the prefetched open and the machine click are not.
          last_opened_at: iso(NOW - 8 * DAY),
          hard_bounced_at: iso(NOW - DAY + 60),
          complained_at: iso(NOW - HOUR),
          unsubscribed_at: iso(NOW - 1800),
          // The 4xx bounce 3 days ago and the deferral yesterday; not the one 10 days ago, not the drop.
          soft_bounces_7d: 2,
        },
        { ...none, person_key: 'p-1', channel: 'push', person_id: 'p-1', last_sent_at: iso(NOW - 5 * DAY) },
        {
          ...none,
          person_key: 'p-2',
          channel: 'email',
          person_id: 'p-2',
          last_opened_at: iso(NOW - 6 * DAY),
          last_clicked_at: iso(NOW - 7 * DAY),
        },
        {
          ...none,
          person_key: 'p-4',
          channel: 'customer',
          person_id: 'p-4',
          unsubscribed_at: iso(NOW - 2 * DAY + 40),
        },
        { ...none, person_key: 'p-4', channel: 'email', person_id: 'p-4', complained_at: iso(NOW - 2 * DAY) },
      ]);
    });
  });
});

describe('several workspaces', () => {
  const at = Date.parse('2024-12-02T10:00:00Z') / 1000;
  const body = (metric: string, delivery: string, extra: Record<string, unknown> = {}) => ({
    event_id: `ws-${metric}-${delivery}`,
    object_type: 'email',
    metric,
    timestamp: at,
    data: { delivery_id: delivery, campaign_id: 7, action_id: 70, identifiers: { cio_id: 'c1' }, ...extra },
  });

  test('the same event_id in two workspaces is two events; a row from before workspaces is the default one', async () => {
    const before = { ...rowFromBody(body('sent', 'd1')), workspace: null as unknown as string };
    const rows = [
      before,
      rowFromBody(body('sent', 'd1'), undefined, [], 'default'), // the same event again, now labelled
      rowFromBody(body('sent', 'd1'), undefined, [], 'eu'),
      rowFromBody(body('delivered', 'd1'), undefined, [], 'eu'),
      rowFromBody(body('spammed', 'd1'), undefined, [], 'eu'),
    ];
    await withWarehouse(rows, async (w) => {
      expect(
        await w.query(`SELECT workspace, event_id FROM events_unique ORDER BY workspace, event_id`),
      ).toEqual([
        { workspace: 'default', event_id: 'ws-sent-d1' },
        { workspace: 'eu', event_id: 'ws-delivered-d1' },
        { workspace: 'eu', event_id: 'ws-sent-d1' },
        { workspace: 'eu', event_id: 'ws-spammed-d1' },
      ]);
      expect(
        await w.query(`SELECT workspace, sent, delivered, spammed FROM delivery_funnel ORDER BY workspace`),
      ).toEqual([
        { workspace: 'default', sent: 1, delivered: 0, spammed: 0 },
        { workspace: 'eu', sent: 1, delivered: 1, spammed: 1 },
      ]);
      expect(
        await w.query(`SELECT workspace, sent, complaints FROM deliverability_daily ORDER BY workspace`),
      ).toEqual([
        { workspace: 'default', sent: 1, complaints: 0 },
        { workspace: 'eu', sent: 1, complaints: 1 },
      ]);
      // The same cio_id in two workspaces is two people.
      expect(
        await w.query(
          `SELECT workspace, person_key, complained_at FROM person_channel_state ORDER BY workspace`,
        ),
      ).toEqual([
        { workspace: 'default', person_key: 'cio_c1', complained_at: null },
        { workspace: 'eu', person_key: 'cio_c1', complained_at: iso(at) },
      ]);
    });
  });
});

describe('rows from the App API (backfill, reconcile --repair): each (delivery, metric) counts once', () => {
  // The same deliveries three ways: every webhook arrived; some never arrived and were repaired from Customer.io's
  // record; and repaired ones whose webhook came late after all. Every view must read the same numbers.
  const NOW = Math.floor(Date.now() / 1000);
  const T = NOW - 2 * DAY;
  interface Truth {
    id: string;
    events: Array<{ metric: string; at: number; data?: Record<string, unknown> }>;
  }
  const who = (id: string) => ({ id: `p-${id}`, email: `${id}@x.test`, cio_id: `c-${id}` });
  const truths: Truth[] = [
    {
      id: 'a1',
      events: [
        { metric: 'sent', at: T },
        { metric: 'delivered', at: T + 60 },
        { metric: 'opened', at: T + 600, data: { prefetched: false } },
      ],
    },
    {
      id: 'a2',
      events: [
        { metric: 'sent', at: T },
        { metric: 'delivered', at: T + 60 },
        { metric: 'clicked', at: T + 900, data: { machine: false } },
      ],
    },
    // The first open was a prefetch, a person opened later: two kinds of open.
    {
      id: 'a3',
      events: [
        { metric: 'sent', at: T },
        { metric: 'opened', at: T + 100, data: { prefetched: true } },
        { metric: 'opened', at: T + 7200, data: { prefetched: false } },
      ],
    },
    {
      id: 'a4',
      events: [
        { metric: 'sent', at: T },
        { metric: 'bounced', at: T + 30, data: { failure_message: '452 4.2.2 Mailbox full' } },
      ],
    },
    {
      id: 'a5',
      events: [
        { metric: 'sent', at: T },
        { metric: 'delivered', at: T + 5 },
        { metric: 'spammed', at: T + 3600 },
      ],
    },
  ];
  const webhookRow = (t: Truth, i: number): EventRow => {
    const e = t.events[i]!;
    return row({
      metric: e.metric,
      at: e.at,
      eventId: `wh-${t.id}-${i}`,
      data: {
        delivery_id: t.id,
        campaign_id: 9,
        action_id: 90,
        recipient: `${t.id}@x.test`,
        identifiers: who(t.id),
        ...e.data,
      },
    });
  };
  const delivery = (t: Truth): Delivery => {
    const metrics: Record<string, number> = { created: T - 1 };
    for (const e of t.events) {
      metrics[e.metric] = Math.min(metrics[e.metric] ?? Infinity, e.at);
      if (e.metric === 'opened') {
        const key = e.data?.prefetched === true ? 'prefetch_opened' : 'human_opened';
        metrics[key] = Math.min(metrics[key] ?? Infinity, e.at);
      }
      if (e.metric === 'clicked')
        metrics[e.data?.machine === true ? 'prefetch_clicked' : 'human_clicked'] = e.at;
    }
    return parseDelivery(
      {
        id: t.id,
        created: T - 1,
        type: 'email',
        campaign_id: 9,
        action_id: 90,
        customer_identifiers: who(t.id),
        recipient: `${t.id}@x.test`,
        failure_message: t.events.find((e) => e.data?.failure_message)?.data?.failure_message,
        metrics,
      },
      'test',
    );
  };
  /** The repair rows for the facts of `t` whose webhook rows are not among `kept`. */
  const repairRows = (t: Truth, lost: number[]): EventRow[] => {
    const { facts } = factsOf(delivery(t), { settledBefore: NOW, subscribed: undefined });
    const keptRows = t.events
      .map((_, i) => i)
      .filter((i) => !lost.includes(i))
      .map((i) => webhookRow(t, i));
    const present = (metric: string, machine: boolean | undefined) =>
      keptRows.some(
        (r) =>
          r.metric === metric &&
          (machine === undefined ||
            (JSON.parse(r.data) as Record<string, unknown>)[
              metric === 'opened' ? 'prefetched' : 'machine'
            ] === machine),
      );
    return facts
      .filter((f) => !present(f.metric, f.machine))
      .map((f) => backfillRow('default', delivery(t), f, new Date()).row);
  };
  const views = async (rows: EventRow[]) => {
    const w = await openDuckWarehouse();
    try {
      await w.insert(rows);
      return {
        funnel: await w.query(`SELECT * FROM delivery_funnel ORDER BY day, origin_id`),
        daily: await w.query(`SELECT * FROM deliverability_daily ORDER BY day, recipient_domain`),
        people: await w.query(
          `SELECT * EXCLUDE (person_email) FROM person_channel_state ORDER BY person_key`,
        ),
        unique: await w.query(
          `SELECT source, COUNT(*) AS n FROM events_unique GROUP BY source ORDER BY source`,
        ),
      };
    } finally {
      w.close();
    }
  };
  const complete = truths.flatMap((t) => t.events.map((_, i) => webhookRow(t, i)));
  // Lost webhooks: a1's open, a2's delivered and click, a3's person's open, a4's bounce, all of a5.
  const lost: Record<string, number[]> = { a1: [2], a2: [1, 2], a3: [2], a4: [1], a5: [0, 1, 2] };
  const kept = truths.flatMap((t) =>
    t.events
      .map((_, i) => i)
      .filter((i) => !(lost[t.id] ?? []).includes(i))
      .map((i) => webhookRow(t, i)),
  );
  const repaired = truths.flatMap((t) => repairRows(t, lost[t.id] ?? []));

  test('a repair writes exactly the lost first occurrences, marked app_api, without actions', () => {
    expect(repaired.map((r) => [r.delivery_id, r.metric, r.event_id]).sort()).toEqual(
      [
        ['a1', 'opened', 'app_api:a1:opened'],
        ['a1', 'opened', 'app_api:a1:human_opened'],
        ['a2', 'clicked', 'app_api:a2:clicked'],
        ['a2', 'clicked', 'app_api:a2:human_clicked'],
        ['a2', 'delivered', 'app_api:a2:delivered'],
        ['a3', 'opened', 'app_api:a3:human_opened'],
        ['a4', 'bounced', 'app_api:a4:bounced'],
        ['a5', 'delivered', 'app_api:a5:delivered'],
        ['a5', 'sent', 'app_api:a5:sent'],
        ['a5', 'spammed', 'app_api:a5:spammed'],
      ].sort(),
    );
    expect(repaired.every((r) => r.source === 'app_api' && r.actions.length === 0)).toBe(true);
    expect(repaired.find((r) => r.delivery_id === 'a4')!.failure_message).toBe('452 4.2.2 Mailbox full');
  });

  test('the views read the same numbers from webhooks alone, from webhooks and repairs, and with late webhooks too', async () => {
    const truth = await views(complete);
    const mixed = await views([...kept, ...repaired]);
    const late = await views([...complete, ...repaired]);
    for (const v of [mixed, late]) {
      expect(v.funnel).toEqual(truth.funnel);
      expect(v.daily).toEqual(truth.daily);
      expect(v.people).toEqual(truth.people);
    }
    expect(truth.funnel).toEqual([
      expect.objectContaining({
        sent: 5,
        delivered: 4,
        opened: 3,
        human_opened: 3,
        clicked: 1,
        bounced: 1,
        spammed: 1,
      }),
    ]);
    expect(truth.people.find((p) => p.person_key === 'cio_c-a4')).toMatchObject({ soft_bounces_7d: 1 });
    // Once the late webhooks are in, no repair row is left in the views.
    expect(late.unique).toEqual([{ source: 'webhook', n: complete.length }]);
    expect(mixed.unique).toEqual([
      { source: 'app_api', n: repaired.length },
      { source: 'webhook', n: kept.length },
    ]);
  });
});
