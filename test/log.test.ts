// The structured logger: one JSON line per entry in Cloud Logging's shape, with email addresses masked wherever
// they appear (message, fields, nested values, errors), including in its base fields.
import { createLogger, maskEmails } from '../shared/log';

function capture(level: Parameters<typeof createLogger>[0], base?: Record<string, unknown>) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(level, base, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { logger, lines };
}

describe('maskEmails', () => {
  it('keeps the first character and the domain of every address', () => {
    expect(maskEmails('bounce for ana.maria@example.org and bob+x@mail.example.co.uk')).toBe(
      'bounce for a***@example.org and b***@mail.example.co.uk',
    );
  });

  it('leaves text without an address as it is', () => {
    expect(maskEmails('01JD2K8B3C4D5E6F7G8H9J0K1M delivered @ 12:00')).toBe(
      '01JD2K8B3C4D5E6F7G8H9J0K1M delivered @ 12:00',
    );
  });
});

describe('createLogger', () => {
  it('writes severity, message, base fields and fields on one line, in that order', () => {
    const { logger, lines } = capture('info', { function: 'cioWebhook' });
    logger.info('webhook request', { outcome: 'published', status: 200, latency_ms: 1.5 });
    expect(Object.entries(lines[0])).toEqual([
      ['severity', 'INFO'],
      ['message', 'webhook request'],
      ['function', 'cioWebhook'],
      ['outcome', 'published'],
      ['status', 200],
      ['latency_ms', 1.5],
    ]);
  });

  it('masks addresses in the message, the base fields, nested fields, arrays and errors', () => {
    const { logger, lines } = capture('debug', { owner: 'ops@example.org' });
    const err = Object.assign(new Error('Track API 400: bad person ana@example.org'), { statusCode: 400 });
    logger.error('failed for ana@example.org', {
      person: { email: 'ana@example.org', tags: ['x', 'bob@example.net'] },
      error: err,
    });
    expect(lines[0]).toEqual({
      severity: 'ERROR',
      message: 'failed for a***@example.org',
      owner: 'o***@example.org',
      person: { email: 'a***@example.org', tags: ['x', 'b***@example.net'] },
      error: { name: 'Error', message: 'Track API 400: bad person a***@example.org', statusCode: 400 },
    });
    expect(JSON.stringify(lines)).not.toMatch(/ana@|bob@|ops@/);
  });

  it('drops entries below its level and lets a child add base fields', () => {
    const { logger, lines } = capture('warning', { function: 'cioProcessor' });
    logger.info('not written');
    logger.debug('not written either');
    logger.child({ event_id: '01X' }).warn('written', { attempt: 2 });
    expect(lines).toEqual([
      { severity: 'WARNING', message: 'written', function: 'cioProcessor', event_id: '01X', attempt: 2 },
    ]);
  });
});
