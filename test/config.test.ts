import fs from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  ENV,
  loadAppApiConfig,
  loadProcessorConfig,
  loadReconcileConfig,
  loadWebhookConfig,
} from '../shared/config';

const base = { GOOGLE_CLOUD_PROJECT: 'p', CIO_WEBHOOK_SIGNING_KEYS: 'k1, k2' };

describe('webhook config', () => {
  it('reads defaults and splits the key list', () => {
    const c = loadWebhookConfig(base);
    expect(c.signingKeys).toEqual(['k1', 'k2']);
    expect(c.maxAgeSeconds).toBe(691200);
    expect(c.maxFutureSeconds).toBe(300);
    expect(c.eventsTopic).toBe('cio-events');
    expect(c.maxBodyBytes).toBe(33554432);
    expect(c.logLevel).toBe('info');
  });

  it("takes CIO_MAX_BODY_BYTES up to Cloud Run's 32 MiB request limit, no further", () => {
    expect(loadWebhookConfig({ ...base, CIO_MAX_BODY_BYTES: '33554432' }).maxBodyBytes).toBe(33554432);
    expect(loadWebhookConfig({ ...base, CIO_MAX_BODY_BYTES: '1048576' }).maxBodyBytes).toBe(1048576);
    expect(() => loadWebhookConfig({ ...base, CIO_MAX_BODY_BYTES: '33554433' })).toThrow(
      /CIO_MAX_BODY_BYTES: must be between 1024 and 33554432, got 33554433/,
    );
  });

  it.each([
    ['warn', 'warning'],
    ['WARN', 'warning'],
    ['warning', 'warning'],
    ['debug', 'debug'],
    ['error', 'error'],
  ])('LOG_LEVEL=%s is %s', (value, level) => {
    expect(loadWebhookConfig({ ...base, LOG_LEVEL: value }).logLevel).toBe(level);
    expect(loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', LOG_LEVEL: value }).logLevel).toBe(level);
  });

  it('refuses an unknown LOG_LEVEL, naming the variable and the accepted values', () => {
    expect(() => loadWebhookConfig({ ...base, LOG_LEVEL: 'verbose' })).toThrow(
      /LOG_LEVEL: must be one of debug, info, warning, error, warn, got "verbose"/,
    );
  });

  it('refuses to start without a signing key, naming the variable', () => {
    expect(() => loadWebhookConfig({ GOOGLE_CLOUD_PROJECT: 'p' })).toThrow(
      /CIO_WEBHOOK_SIGNING_KEYS: is required/,
    );
    expect(() => loadWebhookConfig({ ...base, CIO_WEBHOOK_SIGNING_KEYS: ' , ' })).toThrow(ConfigError);
  });

  it('rejects malformed numbers with the variable name', () => {
    expect(() => loadWebhookConfig({ ...base, CIO_MAX_BODY_BYTES: '5MB' })).toThrow(
      /CIO_MAX_BODY_BYTES: must be a whole number/,
    );
  });
});

describe('processor config', () => {
  it('is dry-run without credentials and live with both', () => {
    expect(loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p' }).track).toBeUndefined();
    expect(
      loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_SITE_ID: 's', CIO_TRACK_API_KEY: 'k' }).track,
    ).toEqual({
      siteId: 's',
      apiKey: 'k',
    });
  });

  it('refuses half-configured credentials', () => {
    expect(() => loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_SITE_ID: 's' })).toThrow(
      /CIO_TRACK_API_KEY/,
    );
  });

  it('only lets bounced and spammed trigger suppress()', () => {
    expect(
      loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_SUPPRESS_ON: 'bounced, spammed' }).suppressOn,
    ).toEqual(['bounced', 'spammed']);
    expect(() => loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_SUPPRESS_ON: 'opened' })).toThrow(
      /CIO_SUPPRESS_ON/,
    );
  });

  it('complaints unsubscribe only when CIO_SPAM_UNSUBSCRIBE=true', () => {
    expect(loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p' }).spamUnsubscribe).toBe(false);
    expect(
      loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_SPAM_UNSUBSCRIBE: 'true' }).spamUnsubscribe,
    ).toBe(true);
    expect(() => loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_SPAM_UNSUBSCRIBE: 'yes' })).toThrow(
      /CIO_SPAM_UNSUBSCRIBE: must be true or false/,
    );
  });

  it('remembers events at least as long as a copy can come back (signature window + dead-letter retention)', () => {
    expect(loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p' }).dedupeTtlDays).toBe(40);
    expect(loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', DEDUPE_TTL_DAYS: '39' }).dedupeTtlDays).toBe(39);
    expect(() => loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', DEDUPE_TTL_DAYS: '30' })).toThrow(
      'DEDUPE_TTL_DAYS: must be at least 39 days: the signature window (CIO_SIGNATURE_MAX_AGE_SECONDS, 8 days) ' +
        'plus the dead-letter retention (DEAD_LETTER_RETENTION_DAYS, 31 days), how late a copy of an event can ' +
        'come back; got 30',
    );
    const shorter = {
      GOOGLE_CLOUD_PROJECT: 'p',
      CIO_SIGNATURE_MAX_AGE_SECONDS: '86400',
      DEAD_LETTER_RETENTION_DAYS: '7',
    };
    expect(loadProcessorConfig({ ...shorter, DEDUPE_TTL_DAYS: '8' }).dedupeTtlDays).toBe(8);
    expect(() => loadProcessorConfig({ ...shorter, DEDUPE_TTL_DAYS: '7' })).toThrow(/at least 8 days/);
  });

  it('validates the Track URL override', () => {
    expect(() => loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_TRACK_API_URL: 'http://x' })).toThrow(
      /api\/v1/,
    );
    expect(
      loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_TRACK_API_URL: 'http://127.0.0.1:9/api/v1/' })
        .trackApiUrl,
    ).toBe('http://127.0.0.1:9/api/v1');
  });
});

describe('README', () => {
  it('documents every environment variable the functions read', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const undocumented = Object.values(ENV).filter((name) => !readme.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });
});

describe('App API and reconciliation config', () => {
  it('takes the default workspace key from CIO_APP_API_KEY and the others from the JSON, with their region', () => {
    const c = loadAppApiConfig({
      CIO_APP_API_KEY: 'k0',
      CIO_REGION: 'eu',
      CIO_WORKSPACE_APP_API_KEYS: '{"brand-b": "k1", "us-shop": {"key": "k2", "region": "us"}}',
      CIO_APP_API_URL: 'http://127.0.0.1:9/v1/',
    });
    expect([...c.workspaces.values()]).toEqual([
      { label: 'default', key: 'k0', region: 'eu' },
      { label: 'brand-b', key: 'k1', region: 'eu' },
      { label: 'us-shop', key: 'k2', region: 'us' },
    ]);
    expect(c.url).toBe('http://127.0.0.1:9/v1');
    expect(loadAppApiConfig({}).workspaces.size).toBe(0);
  });

  it('refuses malformed JSON and labels without echoing a key', () => {
    const secret = 'sk-live-do-not-print';
    for (const raw of [
      `{"brand": "${secret}"`,
      `["${secret}"]`,
      `{"Bad Label": "${secret}"}`,
      '{"default": "x"}',
    ]) {
      let message = '';
      try {
        loadAppApiConfig({ CIO_WORKSPACE_APP_API_KEYS: raw });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^CIO_WORKSPACE_APP_API_KEYS: /);
      expect(message).not.toContain(secret);
    }
    expect(() =>
      loadAppApiConfig({ CIO_WORKSPACE_APP_API_KEYS: '{"b": {"key": "k", "region": "ap"}}' }),
    ).toThrow(/workspace "b": region must be "us" or "eu"/);
    expect(() => loadAppApiConfig({ CIO_APP_API_URL: 'http://127.0.0.1:9/api' })).toThrow(/CIO_APP_API_URL/);
  });

  it('reconciliation needs a key and reads its threshold as a share or a percentage', () => {
    expect(() => loadReconcileConfig({ GOOGLE_CLOUD_PROJECT: 'p' })).toThrow(/^CIO_APP_API_KEY: is required/);
    const base = { GOOGLE_CLOUD_PROJECT: 'p', CIO_APP_API_KEY: 'k' };
    expect(loadReconcileConfig(base)).toMatchObject({
      days: 7,
      threshold: 0.001,
      repair: false,
      settleMinutes: 60,
    });
    expect(loadReconcileConfig({ ...base, RECONCILE_DRIFT_THRESHOLD: '0.5%' }).threshold).toBe(0.005);
    expect(() => loadReconcileConfig({ ...base, RECONCILE_DRIFT_THRESHOLD: '2' })).toThrow(
      /RECONCILE_DRIFT_THRESHOLD: must be a share/,
    );
  });
});
