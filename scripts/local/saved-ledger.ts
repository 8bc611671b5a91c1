// Keeps the local dedupe ledger between runs of the stack. The Firestore emulator holds documents in memory only, so
// the stack exports the project's database when it stops (saveLedger) and the emulator loads the newest export when
// it starts (savedLedger → StartOptions.importData). Layout, per project (an export holds one project):
//   <dir>/<projectId>/latest.json      which export to load, written only once an export is complete
//   <dir>/<projectId>/<export folder>  the newest export; older ones are removed after a new one is complete
// A stack that dies without stopping (SIGKILL, power loss) saves nothing: the next start loads the previous export.

import fs from 'node:fs';
import path from 'node:path';
import { exportFirestore } from './emulators';

export interface SavedLedger {
  /** The export's `.overall_export_metadata` file. */
  file: string;
  /** When it was saved (ISO 8601). */
  savedAt: string;
}

const POINTER = 'latest.json';

function projectDir(dir: string, projectId: string): string {
  return path.join(dir, encodeURIComponent(projectId));
}

/** The ledger the last clean stop saved for this project, or undefined when none was saved (or it was wiped). */
export function savedLedger(dir: string, projectId: string): SavedLedger | undefined {
  const pointer = path.join(projectDir(dir, projectId), POINTER);
  let text: string;
  try {
    text = fs.readFileSync(pointer, 'utf8');
  } catch {
    return undefined;
  }
  const saved = JSON.parse(text) as { file?: unknown; savedAt?: unknown };
  if (typeof saved.file !== 'string' || typeof saved.savedAt !== 'string') {
    throw new Error(`${pointer} is not a saved-ledger pointer`);
  }
  const file = path.join(projectDir(dir, projectId), saved.file);
  if (!fs.existsSync(file)) throw new Error(`${pointer} names ${file}, which is missing`);
  return { file, savedAt: saved.savedAt };
}

/** Exports the ledger from the Firestore emulator at `host`, then makes it the one the next start loads. */
export async function saveLedger(dir: string, host: string, projectId: string): Promise<SavedLedger> {
  const base = projectDir(dir, projectId);
  fs.mkdirSync(base, { recursive: true });
  const savedAt = new Date().toISOString();
  const folder = `export-${savedAt.replace(/[:.]/g, '-')}-${process.pid}`;
  const file = await exportFirestore(host, projectId, path.join(base, folder));
  const pointer = path.join(base, POINTER);
  fs.writeFileSync(
    `${pointer}.tmp`,
    JSON.stringify({ file: path.relative(base, file), savedAt }, null, 2) + '\n',
  );
  fs.renameSync(`${pointer}.tmp`, pointer);
  // Older exports, and any an interrupted save left half-written.
  for (const entry of fs.readdirSync(base)) {
    if (entry !== POINTER && entry !== folder)
      fs.rmSync(path.join(base, entry), { recursive: true, force: true });
  }
  return { file, savedAt };
}
