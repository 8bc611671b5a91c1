import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, startEmulator, type Emulator } from '../../scripts/local/emulators';
import { saveLedger, savedLedger } from '../../scripts/local/saved-ledger';

jest.setTimeout(120_000);

const logDir = path.join(__dirname, '..', '..', '.local', 'test-logs');

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

it('stopping an emulator leaves no process of its group behind (Java included)', async () => {
  const emulator = await startEmulator('pubsub', { logDir });
  expect(alive(emulator.pgid)).toBe(true);
  const res = await fetch(`http://${emulator.host}/`);
  expect(res.ok).toBe(true);
  await emulator.stop();
  expect(alive(emulator.pgid)).toBe(false);
  await expect(fetch(`http://${emulator.host}/`)).rejects.toThrow();
});

describe('a port taken between choosing it and the emulator binding it (parallel test files race for ports)', () => {
  let squatter: net.Server;
  let taken: number;

  beforeEach(async () => {
    squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    taken = (squatter.address() as net.AddressInfo).port;
  });
  afterEach(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

  /** Emulator processes (gcloud or Java) still started for a port. */
  const processesOnPort = (port: number): string[] =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(`port=${port}`) || line.includes(`127.0.0.1:${port} `));

  it.each(['pubsub', 'firestore'] as const)(
    '%s: a fixed port that is taken fails at once, naming the port, and leaves no process behind',
    async (kind) => {
      // Without the bind check this waited for the 90 s readiness timeout (the JVM stays up after its bind fails).
      await expect(startEmulator(kind, { logDir, port: taken, timeoutMs: 45_000 })).rejects.toMatchObject({
        name: 'PortTakenError',
        message: `port ${taken} for the ${kind} emulator is in use`,
      });
      expect(processesOnPort(taken)).toEqual([]);
    },
  );

  it('a chosen port that was taken is given up for a new one: the emulator starts there', async () => {
    const picked: number[] = [];
    const pickPort = async () => {
      picked.push(picked.length === 0 ? taken : await freePort());
      return picked.at(-1)!;
    };
    const emulator = await startEmulator('pubsub', { logDir, pickPort, timeoutMs: 45_000 });
    try {
      expect(picked).toHaveLength(2);
      expect(emulator.host).toBe(`127.0.0.1:${picked[1]}`);
      expect((await fetch(`http://${emulator.host}/`)).ok).toBe(true);
      expect(processesOnPort(taken)).toEqual([]);
    } finally {
      await emulator.stop();
    }
  });
});

describe('the saved Firestore ledger', () => {
  const project = `saved-ledger-${process.pid}`;
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'saved-ledger-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const doc = (host: string, id: string) =>
    `http://${host}/v1/projects/${project}/databases/(default)/documents/ledger/${id}`;
  const put = async (host: string, id: string) => {
    const res = await fetch(doc(host, id), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { state: { stringValue: 'done' } } }),
    });
    expect(res.status).toBe(200);
  };

  it('loads into a new emulator what the last complete save held; a newer save replaces it', async () => {
    expect(savedLedger(dir, project)).toBeUndefined();
    const first = await startEmulator('firestore', { logDir });
    let second: Emulator | undefined;
    try {
      await put(first.host, 'saved');
      const saved = await saveLedger(dir, first.host, project);
      expect(savedLedger(dir, project)).toEqual(saved);
      await put(first.host, 'after-the-save');
      // A save cut short (the launcher killed while exporting) leaves a folder but not the pointer.
      const projectDir = path.dirname(path.dirname(path.dirname(saved.file)));
      fs.mkdirSync(path.join(projectDir, 'export-interrupted', 'firestore_export_1'), { recursive: true });
      await first.stop();

      second = await startEmulator('firestore', { logDir, importData: savedLedger(dir, project)?.file });
      expect((await fetch(doc(second.host, 'saved'))).status).toBe(200);
      expect((await fetch(doc(second.host, 'after-the-save'))).status).toBe(404);

      const newer = await saveLedger(dir, second.host, project);
      expect(savedLedger(dir, project)).toEqual(newer);
      // Only the newest export is kept.
      expect(fs.readdirSync(projectDir).sort()).toEqual(
        [path.relative(projectDir, newer.file).split(path.sep)[0], 'latest.json'].sort(),
      );
    } finally {
      await first.stop();
      await second?.stop();
    }
    expect([first.pgid, second.pgid].filter(alive)).toEqual([]);
  });

  it('an empty ledger saves and loads (a run that received nothing)', async () => {
    const first = await startEmulator('firestore', { logDir });
    const saved = await saveLedger(dir, first.host, project).finally(() => first.stop());
    const second = await startEmulator('firestore', { logDir, importData: saved.file });
    try {
      expect((await fetch(doc(second.host, 'anything'))).status).toBe(404);
    } finally {
      await second.stop();
    }
  });

  it('a pointer to a missing export is an error, not an empty ledger', () => {
    const projectDir = path.join(dir, project);
    fs.mkdirSync(projectDir, { recursive: true });
    fs.writeFileSync(
      path.join(projectDir, 'latest.json'),
      JSON.stringify({ file: 'gone/x.overall_export_metadata', savedAt: '2026-01-01T00:00:00.000Z' }),
    );
    expect(() => savedLedger(dir, project)).toThrow(/missing/);
  });
});
