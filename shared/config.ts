// The one place environment variables are named, read and validated. Both functions call their loader once per
// instance; a bad value stops the instance with a message that names the variable and says why.

import { DEFAULT_WORKSPACE, WORKSPACE_LABEL, isWorkspaceLabel } from './workspace';

type Env = Readonly<Record<string, string | undefined>>;

/** Every variable the functions read. Terraform and the README are tested against this list. */
export const ENV = {
  project: 'GOOGLE_CLOUD_PROJECT',
  signingKeys: 'CIO_WEBHOOK_SIGNING_KEYS',
  workspaces: 'CIO_WORKSPACES',
  workspaceSigningKeys: 'CIO_WORKSPACE_SIGNING_KEYS',
  workspaceTrackCredentials: 'CIO_WORKSPACE_TRACK_CREDENTIALS',
  maxAgeSeconds: 'CIO_SIGNATURE_MAX_AGE_SECONDS',
  maxFutureSeconds: 'CIO_SIGNATURE_MAX_FUTURE_SECONDS',
  eventsTopic: 'CIO_EVENTS_TOPIC',
  maxBodyBytes: 'CIO_MAX_BODY_BYTES',
  siteId: 'CIO_SITE_ID',
  trackApiKey: 'CIO_TRACK_API_KEY',
  region: 'CIO_REGION',
  trackApiUrl: 'CIO_TRACK_API_URL',
  trackMaxRps: 'CIO_TRACK_MAX_RPS',
  suppressOn: 'CIO_SUPPRESS_ON',
  engagementAttributes: 'CIO_ENGAGEMENT_ATTRIBUTES',
  spamUnsubscribe: 'CIO_SPAM_UNSUBSCRIBE',
  deadLetterRetentionDays: 'DEAD_LETTER_RETENTION_DAYS',
  dedupeCollection: 'DEDUPE_COLLECTION',
  dedupeTtlDays: 'DEDUPE_TTL_DAYS',
  dedupeLeaseSeconds: 'DEDUPE_LEASE_SECONDS',
  bqDataset: 'BQ_DATASET',
  bqTable: 'BQ_TABLE',
  bqRejectsTable: 'BQ_REJECTS_TABLE',
  logLevel: 'LOG_LEVEL',
  appApiKey: 'CIO_APP_API_KEY',
  workspaceAppApiKeys: 'CIO_WORKSPACE_APP_API_KEYS',
  appApiUrl: 'CIO_APP_API_URL',
  reconcileDays: 'RECONCILE_DAYS',
  reconcileThreshold: 'RECONCILE_DRIFT_THRESHOLD',
  reconcileRepair: 'RECONCILE_REPAIR',
  reconcileSettleMinutes: 'RECONCILE_SETTLE_MINUTES',
  stallMinutes: 'STALL_AFTER_MINUTES',
} as const;

/** Variables each function reads (the emulator hosts are read by the Google clients themselves). */
export const WEBHOOK_ENV: readonly string[] = [
  ENV.project,
  ENV.signingKeys,
  ENV.workspaces,
  ENV.workspaceSigningKeys,
  ENV.maxAgeSeconds,
  ENV.maxFutureSeconds,
  ENV.eventsTopic,
  ENV.maxBodyBytes,
  ENV.logLevel,
];
export const PROCESSOR_ENV: readonly string[] = [
  ENV.project,
  ENV.workspaces,
  ENV.workspaceTrackCredentials,
  ENV.siteId,
  ENV.trackApiKey,
  ENV.region,
  ENV.trackApiUrl,
  ENV.trackMaxRps,
  ENV.suppressOn,
  ENV.engagementAttributes,
  ENV.spamUnsubscribe,
  ENV.maxAgeSeconds,
  ENV.deadLetterRetentionDays,
  ENV.dedupeCollection,
  ENV.dedupeTtlDays,
  ENV.dedupeLeaseSeconds,
  ENV.bqDataset,
  ENV.bqTable,
  ENV.bqRejectsTable,
  ENV.logLevel,
];

/** Variables the scheduled reconciliation (cioReconcile) reads. */
export const RECONCILE_ENV: readonly string[] = [
  ENV.project,
  ENV.appApiKey,
  ENV.workspaceAppApiKeys,
  ENV.appApiUrl,
  ENV.region,
  ENV.reconcileDays,
  ENV.reconcileThreshold,
  ENV.reconcileRepair,
  ENV.reconcileSettleMinutes,
  ENV.stallMinutes,
  ENV.bqDataset,
  ENV.bqTable,
  ENV.logLevel,
];

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Metrics whose events may also call Track `suppress()` (which deletes the person). */
export const SUPPRESSIBLE_METRICS = ['bounced', 'spammed'] as const;
export type SuppressibleMetric = (typeof SUPPRESSIBLE_METRICS)[number];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

export interface WebhookConfig {
  projectId: string;
  /** The default workspace's keys (`POST /`). */
  signingKeys: string[];
  /** Every other workspace's keys, by label (`POST /<label>`). */
  workspaceSigningKeys: Readonly<Record<string, readonly string[]>>;
  maxAgeSeconds: number;
  maxFutureSeconds: number;
  eventsTopic: string;
  maxBodyBytes: number;
  logLevel: LogLevel;
}

export interface TrackCredentials {
  siteId: string;
  apiKey: string;
}

/** One workspace's Track API: credentials (absent = dry-run), region and URL override. */
export interface WorkspaceTrack {
  track: TrackCredentials | undefined;
  region: 'us' | 'eu';
  trackApiUrl: string | undefined;
}

export interface ProcessorConfig {
  projectId: string;
  /** Absent = dry-run: actions are decided, logged and recorded, not sent. */
  track: TrackCredentials | undefined;
  region: 'us' | 'eu';
  trackApiUrl: string | undefined;
  trackMaxRps: number;
  suppressOn: SuppressibleMetric[];
  engagementAttributes: boolean;
  /** Complaints also set `unsubscribed: true` (global, every channel): opt-in. */
  spamUnsubscribe: boolean;
  /** The Track API of every workspace but the default one (whose is `track`, `region`, `trackApiUrl`), by label. */
  workspaceTrack: Readonly<Record<string, WorkspaceTrack>>;
  dedupeCollection: string;
  dedupeTtlDays: number;
  dedupeLeaseSeconds: number;
  bqDataset: string;
  bqTable: string;
  bqRejectsTable: string;
  logLevel: LogLevel;
}

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function required(env: Env, name: string, why: string): string {
  const value = text(env, name);
  if (value === undefined) throw new ConfigError(name, `is required (${why})`);
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

// Resource ids: letters, digits and the few punctuation marks Pub/Sub, Firestore and BigQuery all accept.
function identifier(env: Env, name: string, fallback: string, pattern: RegExp): string {
  const value = text(env, name) ?? fallback;
  if (!pattern.test(value)) throw new ConfigError(name, `"${value}" is not a valid name (${pattern.source})`);
  return value;
}

/** Cloud Run refuses larger requests before they reach the function: the default and the ceiling. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

const TOPIC_ID = /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;
const COLLECTION_ID = /^[A-Za-z0-9_-]{1,100}$/;
const BQ_ID = /^[A-Za-z0-9_]{1,1024}$/;

function logLevel(env: Env): LogLevel {
  // `warn` is how most tools spell it; Cloud Logging's severity, and ours, is `warning`.
  const level = oneOf(env, ENV.logLevel, [...LOG_LEVELS, 'warn'] as const, 'info');
  return level === 'warn' ? 'warning' : level;
}

function signatureMaxAgeSeconds(env: Env): number {
  return integer(env, ENV.maxAgeSeconds, 691200, 60, 31 * 86400);
}

/**
 * How long the ledger remembers a finished event. A copy of an event can come back as late as Customer.io's retries
 * reach (the signature window: a copy signed that long ago is still accepted) plus the dead-letter retention (a copy
 * parked there can be replayed until it expires); a shorter memory would process that copy again, repeating its
 * Track calls. So a shorter TTL is refused.
 */
function dedupeTtlDays(env: Env): number {
  const ttl = integer(env, ENV.dedupeTtlDays, 40, 1, 3650);
  const windowDays = Math.ceil(signatureMaxAgeSeconds(env) / 86400);
  const retentionDays = integer(env, ENV.deadLetterRetentionDays, 31, 1, 31);
  if (ttl < windowDays + retentionDays) {
    throw new ConfigError(
      ENV.dedupeTtlDays,
      `must be at least ${windowDays + retentionDays} days: the signature window (${ENV.maxAgeSeconds}, ` +
        `${windowDays} days) plus the dead-letter retention (${ENV.deadLetterRetentionDays}, ${retentionDays} days), ` +
        `how late a copy of an event can come back; got ${ttl}`,
    );
  }
  return ttl;
}

/**
 * A JSON object of workspace label → value, read from a secret: parse errors never quote the text (it holds keys),
 * every label must be a workspace label other than `default`.
 */
function workspaceObject(env: Env, name: string, example: string): Record<string, unknown> {
  const raw = text(env, name);
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, `is not valid JSON; expected an object like ${example}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(name, `must be a JSON object like ${example}`);
  }
  for (const label of Object.keys(parsed)) {
    if (label === DEFAULT_WORKSPACE) {
      throw new ConfigError(
        name,
        `"default" is the workspace of POST / and is configured by its own variables`,
      );
    }
    if (!WORKSPACE_LABEL.test(label)) {
      throw new ConfigError(
        name,
        `"${label.slice(0, 70)}" is not a workspace label (${WORKSPACE_LABEL.source}: it is the webhook URL's path)`,
      );
    }
  }
  return parsed as Record<string, unknown>;
}

/**
 * CIO_WORKSPACES: the labels of the workspaces besides `default`, when the deployment declares them (Terraform does,
 * from its `workspaces` map). Each function then checks its own secret against the list.
 */
function declaredWorkspaces(env: Env): string[] | undefined {
  const raw = text(env, ENV.workspaces);
  if (raw === undefined) return undefined;
  const labels = raw
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const label of labels) {
    if (!isWorkspaceLabel(label)) {
      throw new ConfigError(
        ENV.workspaces,
        `"${label.slice(0, 70)}" is not a workspace label (${WORKSPACE_LABEL.source}, not "default")`,
      );
    }
  }
  return [...new Set(labels)];
}

function keyList(raw: string): string[] {
  return raw
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

/** CIO_WORKSPACE_SIGNING_KEYS, checked against CIO_WORKSPACES and against the default workspace's keys. */
function workspaceSigningKeys(env: Env, defaultKeys: readonly string[]): Record<string, string[]> {
  const name = ENV.workspaceSigningKeys;
  const object = workspaceObject(env, name, '{"eu": ["key", "..."]}');
  const keys: Record<string, string[]> = {};
  for (const [label, value] of Object.entries(object)) {
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((k): k is string => typeof k === 'string')) {
      throw new ConfigError(name, `workspace "${label}": keys must be strings (a list, or one string)`);
    }
    keys[label] = list.flatMap(keyList);
    if (keys[label].length === 0) throw new ConfigError(name, `workspace "${label}" holds no key`);
  }
  const declared = declaredWorkspaces(env);
  if (declared !== undefined) {
    const missing = declared.filter((label) => keys[label] === undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        name,
        `has no keys for workspace(s) ${missing.join(', ')} (${ENV.workspaces} declares them): their requests would all be refused`,
      );
    }
    const undeclared = Object.keys(keys).filter((label) => !declared.includes(label));
    if (undeclared.length > 0) {
      throw new ConfigError(
        name,
        `holds workspace(s) ${undeclared.join(', ')}, which ${ENV.workspaces} does not declare`,
      );
    }
  }
  // The same key under two workspaces would verify one workspace's events at the other's URL: the same events
  // processed twice, under two identities, with two sets of Track credentials.
  const owner = new Map<string, string>(defaultKeys.map((k) => [k, DEFAULT_WORKSPACE]));
  for (const [label, list] of Object.entries(keys)) {
    for (const key of list) {
      const other = owner.get(key);
      if (other !== undefined && other !== label) {
        const where = other === DEFAULT_WORKSPACE ? `${ENV.signingKeys} (default)` : `"${other}"`;
        throw new ConfigError(
          name,
          `workspace "${label}" shares a signing key with ${where}: each workspace needs its own`,
        );
      }
      owner.set(key, label);
    }
  }
  return keys;
}

export function loadWebhookConfig(env: Env = process.env): WebhookConfig {
  const keys = keyList(required(env, ENV.signingKeys, 'the webhook refuses to serve unsigned traffic'));
  if (keys.length === 0) {
    throw new ConfigError(ENV.signingKeys, 'holds no key (comma-separated signing keys expected)');
  }
  return {
    projectId: required(env, ENV.project, 'the Pub/Sub topic lives in this project'),
    signingKeys: keys,
    workspaceSigningKeys: workspaceSigningKeys(env, keys),
    maxAgeSeconds: signatureMaxAgeSeconds(env),
    maxFutureSeconds: integer(env, ENV.maxFutureSeconds, 300, 0, 86400),
    eventsTopic: identifier(env, ENV.eventsTopic, 'cio-events', TOPIC_ID),
    maxBodyBytes: integer(env, ENV.maxBodyBytes, MAX_BODY_BYTES, 1024, MAX_BODY_BYTES),
    logLevel: logLevel(env),
  };
}

function trackUrl(variable: string, url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^\s]+\/api\/v1\/?$/.test(url)) {
    throw new ConfigError(variable, `must be an http(s) URL ending in /api/v1, got "${url.slice(0, 200)}"`);
  }
  return url.replace(/\/$/, '');
}

const CREDENTIAL_FIELDS = ['site_id', 'api_key', 'region', 'api_url'];

/**
 * CIO_WORKSPACE_TRACK_CREDENTIALS, plus a dry-run entry for each workspace CIO_WORKSPACES declares without
 * credentials. Credentials for a workspace that is not declared (so has no signing keys, and no events) are refused.
 */
function workspaceTrack(env: Env): Record<string, WorkspaceTrack> {
  const name = ENV.workspaceTrackCredentials;
  const example = '{"eu": {"site_id": "...", "api_key": "...", "region": "eu"}}';
  const declared = declaredWorkspaces(env);
  const out: Record<string, WorkspaceTrack> = {};
  for (const [label, value] of Object.entries(workspaceObject(env, name, example))) {
    const where = `workspace "${label}"`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(name, `${where} must be an object like ${example}`);
    }
    const fields = value as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((f) => !CREDENTIAL_FIELDS.includes(f));
    if (unknown.length > 0) {
      throw new ConfigError(
        name,
        `${where} has unknown field(s) ${unknown.join(', ')} (expected ${CREDENTIAL_FIELDS.join(', ')})`,
      );
    }
    const field = (f: string): string | undefined => {
      const v = fields[f];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw new ConfigError(name, `${where}: ${f} must be a string`);
      return v.trim() === '' ? undefined : v.trim();
    };
    const siteId = field('site_id');
    const apiKey = field('api_key');
    if (siteId === undefined || apiKey === undefined) {
      throw new ConfigError(
        name,
        `${where} needs both site_id and api_key (leave the workspace out to run it dry)`,
      );
    }
    const region = field('region') ?? 'us';
    if (region !== 'us' && region !== 'eu')
      throw new ConfigError(name, `${where}: region must be us or eu, got "${region.slice(0, 20)}"`);
    if (declared !== undefined && !declared.includes(label)) {
      throw new ConfigError(
        name,
        `${where} has Track credentials but no signing keys (${ENV.workspaces} does not declare it): none of its events could arrive`,
      );
    }
    out[label] = {
      track: { siteId, apiKey },
      region,
      trackApiUrl: trackUrl(`${name} (${where}: api_url)`, field('api_url')),
    };
  }
  for (const label of declared ?? [])
    out[label] ??= { track: undefined, region: 'us', trackApiUrl: undefined };
  return out;
}

export function loadProcessorConfig(env: Env = process.env): ProcessorConfig {
  const siteId = text(env, ENV.siteId);
  const apiKey = text(env, ENV.trackApiKey);
  if ((siteId === undefined) !== (apiKey === undefined)) {
    const missing = siteId === undefined ? ENV.siteId : ENV.trackApiKey;
    throw new ConfigError(
      missing,
      `is required when ${missing === ENV.siteId ? ENV.trackApiKey : ENV.siteId} is set (set both for live Track calls, neither for dry-run)`,
    );
  }
  const trackApiUrl = trackUrl(ENV.trackApiUrl, text(env, ENV.trackApiUrl));
  const suppressOn = (text(env, ENV.suppressOn) ?? '')
    .split(',')
    .map((m) => m.trim().toLowerCase())
    .filter((m) => m !== '');
  for (const metric of suppressOn) {
    if (!(SUPPRESSIBLE_METRICS as readonly string[]).includes(metric)) {
      throw new ConfigError(
        ENV.suppressOn,
        `"${metric}" is not one of ${SUPPRESSIBLE_METRICS.join(', ')} (suppress() deletes the person; only these metrics may trigger it)`,
      );
    }
  }
  return {
    projectId: required(env, ENV.project, 'Firestore and BigQuery live in this project'),
    track: siteId !== undefined && apiKey !== undefined ? { siteId, apiKey } : undefined,
    region: oneOf(env, ENV.region, ['us', 'eu'] as const, 'us'),
    trackApiUrl,
    trackMaxRps: integer(env, ENV.trackMaxRps, 10, 1, 100),
    suppressOn: [...new Set(suppressOn)] as SuppressibleMetric[],
    engagementAttributes: boolean(env, ENV.engagementAttributes, false),
    spamUnsubscribe: boolean(env, ENV.spamUnsubscribe, false),
    workspaceTrack: workspaceTrack(env),
    dedupeCollection: identifier(env, ENV.dedupeCollection, 'cio_webhook_events', COLLECTION_ID),
    dedupeTtlDays: dedupeTtlDays(env),
    dedupeLeaseSeconds: integer(env, ENV.dedupeLeaseSeconds, 120, 5, 3600),
    bqDataset: identifier(env, ENV.bqDataset, 'customerio', BQ_ID),
    bqTable: identifier(env, ENV.bqTable, 'events', BQ_ID),
    bqRejectsTable: identifier(env, ENV.bqRejectsTable, 'rejected_events', BQ_ID),
    logLevel: logLevel(env),
  };
}

export interface AppApiWorkspace {
  /** `default` (CIO_APP_API_KEY) or the label of CIO_WORKSPACE_APP_API_KEYS. */
  label: string;
  /** Bearer key: never logged, never echoed in an error. */
  key: string;
  region: 'us' | 'eu';
}

export interface AppApiConfig {
  /** Every workspace with an App API key, by label; empty when none is configured. */
  workspaces: ReadonlyMap<string, AppApiWorkspace>;
  /** Base URL override including `/v1` (local stand-in, tests, proxies); undefined = Customer.io's regional host. */
  url: string | undefined;
}

/**
 * The App API keys: CIO_APP_API_KEY for the default workspace (region CIO_REGION), CIO_WORKSPACE_APP_API_KEYS for
 * the others, a JSON object `{"<label>": "<key>"}` or `{"<label>": {"key": "<key>", "region": "eu"}}` (a bare key
 * takes CIO_REGION too). A key is never part of an error message, not even a fragment of the JSON around it.
 */
export function loadAppApiConfig(env: Env = process.env): AppApiConfig {
  const region = oneOf(env, ENV.region, ['us', 'eu'] as const, 'us');
  const workspaces = new Map<string, AppApiWorkspace>();
  const key = text(env, ENV.appApiKey);
  if (key !== undefined) workspaces.set(DEFAULT_WORKSPACE, { label: DEFAULT_WORKSPACE, key, region });
  const raw = text(env, ENV.workspaceAppApiKeys);
  if (raw !== undefined) {
    const shape =
      'a JSON object {"<label>": "<App API key>"} or {"<label>": {"key": "…", "region": "us|eu"}}';
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // JSON.parse quotes the text around the error: that would be part of a key.
      throw new ConfigError(
        ENV.workspaceAppApiKeys,
        `is not valid JSON (expected ${shape}; value not shown)`,
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(ENV.workspaceAppApiKeys, `must be ${shape}`);
    }
    for (const [label, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (!WORKSPACE_LABEL.test(label) || label === DEFAULT_WORKSPACE) {
        throw new ConfigError(
          ENV.workspaceAppApiKeys,
          `"${label}" is not a workspace label (${WORKSPACE_LABEL.source}, not "${DEFAULT_WORKSPACE}": ` +
            `the default workspace's key is ${ENV.appApiKey})`,
        );
      }
      const entry = typeof value === 'string' ? { key: value } : value;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw new ConfigError(ENV.workspaceAppApiKeys, `workspace "${label}": must be ${shape}`);
      }
      const { key: wsKey, region: wsRegion } = entry as { key?: unknown; region?: unknown };
      if (typeof wsKey !== 'string' || wsKey.trim() === '') {
        throw new ConfigError(ENV.workspaceAppApiKeys, `workspace "${label}": the key is missing or empty`);
      }
      if (wsRegion !== undefined && wsRegion !== 'us' && wsRegion !== 'eu') {
        throw new ConfigError(ENV.workspaceAppApiKeys, `workspace "${label}": region must be "us" or "eu"`);
      }
      workspaces.set(label, {
        label,
        key: wsKey.trim(),
        region: (wsRegion as 'us' | 'eu' | undefined) ?? region,
      });
    }
  }
  const url = text(env, ENV.appApiUrl);
  if (url !== undefined && !/^https?:\/\/[^\s/]+(\/[^\s]*)?\/v1\/?$/.test(url)) {
    throw new ConfigError(ENV.appApiUrl, `must be an http(s) URL ending in /v1, got "${url}"`);
  }
  return { workspaces, url: url?.replace(/\/$/, '') };
}

export interface ReconcileConfig {
  projectId: string;
  appApi: AppApiConfig;
  /** Days of deliveries (by creation) each scheduled run compares, ending at the settle cutoff. */
  days: number;
  /** Drift (missing here + only here, over what Customer.io records) above which a run is reported as drifting. */
  threshold: number;
  /** Write what the warehouse lacks (rows marked source = app_api) after comparing. */
  repair: boolean;
  /** First occurrences younger than this are not judged: their webhook may still be on its way. */
  settleMinutes: number;
  /** The stall check alerts when no event arrived for this long while Customer.io created deliveries. */
  stallMinutes: number;
  bqDataset: string;
  bqTable: string;
  logLevel: LogLevel;
}

/** A share: `0.001` or `0.1%`. */
export function parseShare(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(raw.trim());
  if (!m) return undefined;
  const value = Number(m[1]) / (m[2] === '%' ? 100 : 1);
  return value <= 1 ? value : undefined;
}

export function loadReconcileConfig(env: Env = process.env): ReconcileConfig {
  const appApi = loadAppApiConfig(env);
  if (appApi.workspaces.size === 0) {
    throw new ConfigError(
      ENV.appApiKey,
      `is required (or ${ENV.workspaceAppApiKeys}): reconciliation reads Customer.io's record through the App API`,
    );
  }
  const rawThreshold = text(env, ENV.reconcileThreshold);
  const threshold = rawThreshold === undefined ? 0.001 : parseShare(rawThreshold);
  if (threshold === undefined) {
    throw new ConfigError(
      ENV.reconcileThreshold,
      `must be a share between 0 and 1 (0.001) or a percentage (0.1%), got "${rawThreshold}"`,
    );
  }
  return {
    projectId: required(env, ENV.project, 'BigQuery lives in this project'),
    appApi,
    days: integer(env, ENV.reconcileDays, 7, 1, 180),
    threshold,
    repair: boolean(env, ENV.reconcileRepair, false),
    settleMinutes: integer(env, ENV.reconcileSettleMinutes, 60, 0, 1440),
    stallMinutes: integer(env, ENV.stallMinutes, 60, 5, 10080),
    bqDataset: identifier(env, ENV.bqDataset, 'customerio', BQ_ID),
    bqTable: identifier(env, ENV.bqTable, 'events', BQ_ID),
    logLevel: logLevel(env),
  };
}
