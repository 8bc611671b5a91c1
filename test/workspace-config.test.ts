// The workspace variables: CIO_WORKSPACE_SIGNING_KEYS (webhook), CIO_WORKSPACE_TRACK_CREDENTIALS (processor) and
// CIO_WORKSPACES (both). Bad values stop the instance naming the variable and the workspace, never a key.
import { ConfigError, loadProcessorConfig, loadWebhookConfig } from '../shared/config';

const webhook = (env: Record<string, string>) =>
  loadWebhookConfig({ GOOGLE_CLOUD_PROJECT: 'p', CIO_WEBHOOK_SIGNING_KEYS: 'default-key', ...env });
const processor = (env: Record<string, string>) => loadProcessorConfig({ GOOGLE_CLOUD_PROJECT: 'p', ...env });

/** The message of the ConfigError `load` throws; fails the test when it throws nothing or something else. */
function refusal(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('CIO_WORKSPACE_SIGNING_KEYS', () => {
  it('gives each workspace its keys (a list, or one comma-separated string)', () => {
    const c = webhook({ CIO_WORKSPACE_SIGNING_KEYS: '{"eu": ["k1", "k2"], "staging-2": "k3, k4"}' });
    expect(c.workspaceSigningKeys).toEqual({ eu: ['k1', 'k2'], 'staging-2': ['k3', 'k4'] });
    expect(c.signingKeys).toEqual(['default-key']);
    expect(webhook({}).workspaceSigningKeys).toEqual({});
  });

  it.each([
    ['{"eu": ["secret-key"', 'CIO_WORKSPACE_SIGNING_KEYS: is not valid JSON'],
    ['["secret-key"]', 'CIO_WORKSPACE_SIGNING_KEYS: must be a JSON object'],
    ['{"EU": ["secret-key"]}', '"EU" is not a workspace label'],
    ['{"default": ["secret-key"]}', '"default" is the workspace of POST /'],
    ['{"eu": []}', 'workspace "eu" holds no key'],
    ['{"eu": [42]}', 'workspace "eu": keys must be strings'],
    ['{"eu": ["secret-key"], "us": ["secret-key"]}', 'workspace "us" shares a signing key with "eu"'],
    [
      '{"eu": ["default-key"]}',
      'workspace "eu" shares a signing key with CIO_WEBHOOK_SIGNING_KEYS (default)',
    ],
  ])('%s is refused: %s (and no key is echoed)', (value, expected) => {
    const message = refusal(() => webhook({ CIO_WORKSPACE_SIGNING_KEYS: value }));
    expect(message).toContain(expected);
    expect(message).not.toContain('secret-key');
    expect(message).not.toContain('default-key');
  });

  it('must hold exactly the workspaces CIO_WORKSPACES declares', () => {
    const keys = '{"eu": ["k1"]}';
    expect(webhook({ CIO_WORKSPACES: 'eu', CIO_WORKSPACE_SIGNING_KEYS: keys }).workspaceSigningKeys).toEqual({
      eu: ['k1'],
    });
    expect(refusal(() => webhook({ CIO_WORKSPACES: 'eu,us', CIO_WORKSPACE_SIGNING_KEYS: keys }))).toContain(
      'has no keys for workspace(s) us',
    );
    const extra = '{"eu": ["k1"], "us": ["k2"]}';
    expect(refusal(() => webhook({ CIO_WORKSPACES: 'eu', CIO_WORKSPACE_SIGNING_KEYS: extra }))).toContain(
      'holds workspace(s) us, which CIO_WORKSPACES does not declare',
    );
    expect(refusal(() => webhook({ CIO_WORKSPACES: 'eu,Bad Label' }))).toContain(
      'CIO_WORKSPACES: "Bad Label" is not a workspace label',
    );
  });
});

describe('CIO_WORKSPACE_TRACK_CREDENTIALS', () => {
  const creds = (value: object) => JSON.stringify(value);

  it('gives each workspace its credentials, region and URL override; declared workspaces without them run dry', () => {
    const c = processor({
      CIO_WORKSPACES: 'eu,staging',
      CIO_WORKSPACE_TRACK_CREDENTIALS: creds({
        eu: { site_id: 's', api_key: 'k', region: 'eu', api_url: 'http://127.0.0.1:9/api/v1/' },
      }),
    });
    expect(c.workspaceTrack).toEqual({
      eu: { track: { siteId: 's', apiKey: 'k' }, region: 'eu', trackApiUrl: 'http://127.0.0.1:9/api/v1' },
      staging: { track: undefined, region: 'us', trackApiUrl: undefined },
    });
  });

  it.each([
    ['{"eu": {"site_id": "s", "api_key": "secret-key"', 'is not valid JSON'],
    [creds({ eu: 'secret-key' }), 'workspace "eu" must be an object'],
    [creds({ eu: { site_id: 's' } }), 'workspace "eu" needs both site_id and api_key'],
    [creds({ eu: { site_id: 's', api_key: 'secret-key', region: 'asia' } }), 'region must be us or eu'],
    [creds({ eu: { site_id: 's', api_key: 'secret-key', apikey: 'x' } }), 'unknown field(s) apikey'],
    [
      creds({ eu: { site_id: 's', api_key: 'secret-key', api_url: 'ftp://x' } }),
      'api_url): must be an http(s) URL',
    ],
    [creds({ default: { site_id: 's', api_key: 'secret-key' } }), '"default" is the workspace of POST /'],
  ])('%s is refused: %s (and no key is echoed)', (value, expected) => {
    const message = refusal(() => processor({ CIO_WORKSPACE_TRACK_CREDENTIALS: value }));
    expect(message).toContain(expected);
    expect(message).not.toContain('secret-key');
  });

  it('refuses credentials for a workspace with no signing keys (not declared by CIO_WORKSPACES)', () => {
    const value = creds({ us: { site_id: 's', api_key: 'k' } });
    expect(
      refusal(() => processor({ CIO_WORKSPACES: 'eu', CIO_WORKSPACE_TRACK_CREDENTIALS: value })),
    ).toContain('workspace "us" has Track credentials but no signing keys');
  });
});
