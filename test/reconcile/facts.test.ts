// Which first occurrences of a delivery can be compared with the webhooks', and why the others cannot.
import { parseDelivery } from '../../shared/customerio/app-api/deliveries';
import { factsOf, NOT_JUDGED, parentOf } from '../../shared/reconcile/facts';

const at = Date.UTC(2025, 5, 1) / 1000;
const delivery = (type: string, metrics: Record<string, number>, created = at) =>
  parseDelivery({ id: 'd1', created, type, campaign_id: 3, metrics }, 'test');
const all = { settledBefore: at + 86400, subscribed: undefined };

test('SMS is twilio in the App API and sms in webhooks; the parent is the one that is set', () => {
  const f = factsOf(delivery('twilio', { sent: at + 1, delivered: at + 5 }), all);
  expect(f.channel).toBe('sms');
  expect(f.parentType).toBe('campaign');
  expect(f.facts.map((x) => x.metric)).toEqual(['sent', 'delivered']);
  expect(
    parentOf({ campaignId: null, broadcastId: null, newsletterId: null, transactionalMessageId: 9 }),
  ).toBe('transactional');
});

test('a metric no webhook event exists for, or that the webhook is not subscribed to, is not judged and says why', () => {
  const inApp = factsOf(delivery('in_app', { sent: at, delivered: at + 1, opened: at + 2 }), all);
  expect(inApp.facts.map((x) => x.key)).toEqual(['sent', 'opened']);
  expect(inApp.notJudged).toEqual([NOT_JUDGED.noWebhookEvent('in_app', 'delivered')]);
  const push = factsOf(delivery('push', { sent: at, unsubscribed: at + 9 }), all);
  expect(push.notJudged).toEqual(['push unsubscribed: no reporting webhook event exists for it']);
  const subscribed = factsOf(delivery('email', { sent: at, opened: at + 9 }), {
    ...all,
    subscribed: new Set(['email_sent']),
  });
  expect(subscribed.facts.map((x) => x.key)).toEqual(['sent']);
  expect(subscribed.notJudged).toEqual(['email opened: your reporting webhook does not send email_opened']);
});

test('first occurrences after the settle cutoff are not judged yet', () => {
  const f = factsOf(delivery('email', { sent: at, opened: at + 7200 }), { ...all, settledBefore: at + 3600 });
  expect(f.facts.map((x) => x.key)).toEqual(['sent']);
  expect(f.notJudged).toEqual([NOT_JUDGED.tooRecent('opened')]);
});

test("opens and clicks by people are judged from Customer.io's reliable dates, and say whether the first was a machine's", () => {
  const recent = factsOf(
    delivery('email', {
      opened: at + 10,
      prefetch_opened: at + 10,
      human_opened: at + 600,
      clicked: at + 700,
      human_clicked: at + 700,
    }),
    all,
  );
  expect(recent.facts.map((x) => [x.key, x.metric, x.at, x.machine])).toEqual([
    ['opened', 'opened', at + 10, true],
    ['clicked', 'clicked', at + 700, false],
    ['human_opened', 'opened', at + 600, false],
    ['human_clicked', 'clicked', at + 700, false],
  ]);
  const old = factsOf(delivery('email', { opened: 1e9 + 10, human_opened: 1e9 + 10 }, 1e9), all);
  expect(old.facts.map((x) => [x.key, x.machine])).toEqual([['opened', undefined]]);
  expect(old.notJudged).toEqual([NOT_JUDGED.unreliableHuman('human_opened')]);
  expect(old.notJudged[0]).toMatch(/reliably only for deliveries created from 2025-03-20/);
});
