// Ports for the local stack's servers: a fixed one must be free, a preferred one is taken when free.

import net from 'node:net';
import { freePort } from './emulators';
import { StackError } from './stack-error';

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function choosePort(
  requested: number | undefined,
  preferred: number | undefined,
  what: string,
): Promise<number> {
  if (requested !== undefined) {
    if (!(await portIsFree(requested))) throw new StackError(`port ${requested} for the ${what} is in use`);
    return requested;
  }
  if (preferred !== undefined && (await portIsFree(preferred))) return preferred;
  return freePort();
}
