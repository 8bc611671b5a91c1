// Synthetic events (`cio-webhooks smoke`): the whole path, but no Track action, and never in the views or the report.
import fs from 'node:fs';
import path from 'node:path';
import { decideActions } from '../../shared/customerio/action-policy';
import { SYNTHETIC_EVENT_ID_PREFIX, isSyntheticEvent, parseEvent } from '../../shared/customerio/event';
import { loadReportData, parsePeriod } from '../../scripts/cli/report/data';
import { openDuckWarehouse, rowFromBody } from '../support/duckdb-warehouse';

const NOW = new Date('2026-11-20T12:00:00Z');
const AT = Math.floor(NOW.getTime() / 1000) - 3600;

const bounce = (eventId: string) => ({
  event_id: eventId,
  object_type: 'email',
  metric: 'bounced',
  timestamp: AT,
  data: {
    identifiers: { id: 'u-1', email: 'ana@example.org' },
    recipient: 'ana@example.org',
    delivery_id: `d-${eventId}`,
    failure_message: '550 5.1.1 no such user',
  },
});
const delivered = (eventId: string) => ({
  event_id: eventId,
  object_type: 'email',
  metric: 'delivered',
  timestamp: AT,
  data: { recipient: 'ana@example.org', delivery_id: `d-${eventId}`, newsletter_id: 7 },
});
const synthetic = `${SYNTHETIC_EVENT_ID_PREFIX}1763640000000-0a1b2c3d`;

function parsed(body: object) {
  const result = parseEvent(Buffer.from(JSON.stringify(body)));
  if (!result.ok) throw new Error(result.detail);
  return result.event;
}

describe('synthetic events', () => {
  it('take no Track action, whatever the metric and the suppression policy', () => {
    const policy = { suppressOn: ['bounced' as const], engagementAttributes: true, spamUnsubscribe: true };
    const real = '01JD2KB17F8G9H0J1K2M3N4P5Q';
    // What an event that asks for no call gets (an SMS bounce: warehouse only).
    const nothing = decideActions(parsed({ ...bounce(real), object_type: 'sms' }), policy);
    expect(isSyntheticEvent(parsed(bounce(synthetic)))).toBe(true);
    expect(decideActions(parsed(bounce(synthetic)), policy)).toEqual(nothing);
    // The same bounce with a Customer.io id identifies (and, by this policy, suppresses) the person.
    expect(decideActions(parsed(bounce(real)), policy)).not.toEqual(nothing);
  });

  it('are left out of events_unique, hence of every view and of the report', async () => {
    const w = await openDuckWarehouse();
    try {
      await w.insert([
        rowFromBody(delivered('01JD2KB17F8G9H0J1K2M3N4P5Q')),
        rowFromBody(delivered(synthetic)),
        rowFromBody(bounce(`${synthetic}-b`)),
      ]);
      expect((await w.query('SELECT count(*) AS n FROM events'))[0]!.n).toBe(3);
      expect((await w.query('SELECT event_id FROM events_unique')).map((r) => r.event_id)).toEqual([
        '01JD2KB17F8G9H0J1K2M3N4P5Q',
      ]);
      const funnel = await w.query(
        'SELECT SUM(delivered) AS delivered, SUM(bounced) AS bounced FROM delivery_funnel',
      );
      expect(funnel[0]).toEqual({ delivered: 1, bounced: 0 });
      const report = await loadReportData(w.source, parsePeriod('7d', NOW), NOW);
      expect([report.emailFunnel.delivered, report.emailFunnel.bounced, report.bounceReasons]).toEqual([
        1,
        0,
        [],
      ]);
    } finally {
      w.close();
    }
  });

  it('are recognised by the view with the same prefix the code uses', () => {
    const sql = fs.readFileSync(
      path.join(__dirname, '..', '..', 'shared', 'warehouse', 'views', 'events_unique.sql'),
      'utf8',
    );
    expect(sql).toContain(`NOT STARTS_WITH(event_id, '${SYNTHETIC_EVENT_ID_PREFIX}')`);
  });
});
