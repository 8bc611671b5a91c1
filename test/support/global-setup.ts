// Starts one Pub/Sub and one Firestore emulator for the whole run; tests isolate themselves by project id and
// resource names, never by relying on what another test left behind.
import path from 'node:path';
import { checkPrerequisites, startEmulator, type Emulator } from '../../scripts/local/emulators';

declare global {
  var __EMULATORS__: Emulator[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  checkPrerequisites();
  const logDir = path.join(__dirname, '..', '..', '.local', 'test-logs');
  const [pubsub, firestore] = await Promise.all([
    startEmulator('pubsub', { logDir }),
    startEmulator('firestore', { logDir }),
  ]);
  globalThis.__EMULATORS__ = [pubsub, firestore];
  // Workers are forked after this and inherit the environment.
  process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
  process.env.FIRESTORE_EMULATOR_HOST = firestore.host;
}
