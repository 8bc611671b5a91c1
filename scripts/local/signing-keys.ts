// The local stack's keys: the local App API stand-in's, and its signing keys: the default workspace's (CIO_WEBHOOK_SIGNING_KEYS, else a development key kept in
// <localDir>/signing-key) and the other workspaces' (CIO_WORKSPACE_SIGNING_KEYS, else one development key per label
// kept in <localDir>/workspace-keys.json). Kept keys survive restarts, so a sender's key stays valid.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ENV, loadWebhookConfig } from '../../shared/config';

type Env = Readonly<Record<string, string | undefined>>;

export type KeySource = 'generated' | 'file' | 'env';

function signingKeyFile(localDir: string): string {
  return path.join(localDir, 'signing-key');
}

export function resolveSigningKey(
  localDir: string,
  env: Env,
): { keys: string; key: string; source: KeySource; file: string | null } {
  const fromEnv = env[ENV.signingKeys]?.trim();
  if (fromEnv) return { keys: fromEnv, key: fromEnv.split(',')[0].trim(), source: 'env', file: null };
  const file = signingKeyFile(localDir);
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key !== '') return { keys: key, key, source: 'file', file };
  } catch {
    // first run: generate below
  }
  const key = randomBytes(32).toString('hex');
  fs.writeFileSync(file, key + '\n', { mode: 0o600 });
  return { keys: key, key, source: 'generated', file };
}

function workspaceKeysFile(localDir: string): string {
  return path.join(localDir, 'workspace-keys.json');
}

/**
 * The workspaces' signing keys, as CIO_WORKSPACE_SIGNING_KEYS takes them: from that variable when it is set,
 * else a development key per label, generated once and kept (a workspace keeps its key across restarts).
 */
export function resolveWorkspaceKeys(
  localDir: string,
  env: Env,
  labels: readonly string[],
): { keys: Record<string, string[]>; file: string | null } {
  const fromEnv = env[ENV.workspaceSigningKeys]?.trim();
  if (fromEnv) {
    // Validated, with messages that name the variable, by the webhook's own loader.
    const config = loadWebhookConfig({ ...env, [ENV.signingKeys]: 'unused', [ENV.project]: 'unused' });
    return {
      keys: Object.fromEntries(Object.entries(config.workspaceSigningKeys).map(([l, k]) => [l, [...k]])),
      file: null,
    };
  }
  if (labels.length === 0) return { keys: {}, file: null };
  const file = workspaceKeysFile(localDir);
  let kept: Record<string, string[]> = {};
  try {
    kept = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string[]>;
  } catch {
    // first run with workspaces: generate below
  }
  const keys: Record<string, string[]> = {};
  for (const label of labels) keys[label] = kept[label] ?? [randomBytes(32).toString('hex')];
  fs.writeFileSync(file, JSON.stringify({ ...kept, ...keys }, null, 2) + '\n', { mode: 0o600 });
  return { keys, file };
}

/** The local App API stand-in's key: generated on the first run, kept like the signing key. */
export function appApiKey(localDir: string): { key: string; file: string } {
  const file = path.join(localDir, 'app-api-key');
  try {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key !== '') return { key, file };
  } catch {
    // first run: generate below
  }
  const key = `local-${randomBytes(16).toString('hex')}`;
  fs.writeFileSync(file, key + '\n', { mode: 0o600 });
  return { key, file };
}
