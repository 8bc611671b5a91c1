// The console rendering of the functions' JSON log lines in `npm start`.
import { renderLogLine } from '../../scripts/local/log-render';

const at = new Date(2026, 0, 2, 13, 4, 5);

it('folds a structured line into time, source, message, event and latency, then the other fields', () => {
  const line = JSON.stringify({
    severity: 'INFO',
    message: 'event processed',
    function: 'cioProcessor',
    event_id: '01JD2KB17F8G9H0J1K2M3N4P5Q',
    object_type: 'email',
    metric: 'bounced',
    latency_ms: 74,
    actions: ['dry_run:identify:email_bounced'],
    outcome: 'processed',
  });
  expect(renderLogLine('processor', line, { color: false }, at)).toBe(
    '13:04:05 processor event processed  email/bounced  01JD2KB17F8G9H0J1K2M3N4P5Q  74 ms' +
      '  actions=["dry_run:identify:email_bounced"] outcome=processed',
  );
});

it('shows severities other than INFO, and colours only on a terminal', () => {
  const line = JSON.stringify({ severity: 'ERROR', message: 'Track API refused', status: 400 });
  expect(renderLogLine('processor', line, { color: false }, at)).toBe(
    '13:04:05 processor ERROR  Track API refused  status=400',
  );
  expect(renderLogLine('processor', line, { color: true }, at)).toContain('\x1b[31mERROR\x1b[0m');
});

it('passes plain lines through, drops the functions-framework banner, and shortens long values', () => {
  expect(renderLogLine('webhook', 'something odd', { color: false }, at)).toBe(
    '13:04:05 webhook   something odd',
  );
  expect(renderLogLine('webhook', 'Serving function...', { color: false }, at)).toBeUndefined();
  expect(renderLogLine('webhook', 'URL: http://localhost:8080/', { color: false }, at)).toBeUndefined();
  const long = renderLogLine(
    'webhook',
    JSON.stringify({ message: 'm', detail: 'x'.repeat(500) }),
    { color: false },
    at,
  );
  expect(long?.length).toBeLessThan(120);
  expect(long).toMatch(/detail=x+…$/);
});
