// The backfill's checkpoint as a file: written after every chunk (to a temporary file, then renamed, so a crash
// mid-write leaves the previous one), read when the same backfill runs again, removed when it has finished.

import fs from 'node:fs';
import path from 'node:path';
import type { Checkpoint, CheckpointStore } from '../../../shared/reconcile/run';

export class CheckpointFile implements CheckpointStore {
  constructor(readonly file: string) {}

  load(): Checkpoint | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const value = JSON.parse(text) as Partial<Checkpoint>;
      if (
        typeof value.workspace !== 'string' ||
        typeof value.slices !== 'object' ||
        value.window === undefined
      ) {
        throw new Error('not a checkpoint');
      }
      return value as Checkpoint;
    } catch {
      throw new Error(`${this.file} is not a backfill checkpoint: delete it to start over`);
    }
  }

  save(checkpoint: Checkpoint): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(checkpoint));
    fs.renameSync(`${this.file}.tmp`, this.file);
  }

  remove(): void {
    fs.rmSync(this.file, { force: true });
  }
}
