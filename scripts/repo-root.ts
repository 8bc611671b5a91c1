// The repository root, found from this file whether it runs as TypeScript (scripts/) or compiled (dist/scripts/).

import { existsSync } from 'node:fs';
import path from 'node:path';

export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'terraform'))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`No repository root (package.json + terraform/) above ${from}`);
  }
}
