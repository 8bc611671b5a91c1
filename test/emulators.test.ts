import path from 'node:path';
import { startEmulator } from '../scripts/local/emulators';

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

it('stopping an emulator leaves no process of its group behind (Java included)', async () => {
  const emulator = await startEmulator('pubsub', {
    logDir: path.join(__dirname, '..', '.local', 'test-logs'),
  });
  expect(alive(emulator.pgid)).toBe(true);
  const res = await fetch(`http://${emulator.host}/`);
  expect(res.ok).toBe(true);
  await emulator.stop();
  expect(alive(emulator.pgid)).toBe(false);
  await expect(fetch(`http://${emulator.host}/`)).rejects.toThrow();
});
