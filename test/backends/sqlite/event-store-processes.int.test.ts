import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../src/backends/sqlite';
import { SubscriptionReader } from '../../event-store/subscription-helpers';

const writerScript = join(__dirname, 'fixtures', 'sqlite-writer.ts');

function startWriter(path: string, stream: string, count: number) {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', writerScript, path, stream, String(count)], {
    cwd: join(__dirname, '..', '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked: string[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('acked ')) acked.push(line.slice(6));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, acked, exited };
}

describe('SQLite across processes', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'eventfold-sqlite-proc-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('a subscriber sees events appended by another process (polling)', async () => {
    const path = join(folder, 'shared.db');
    const store = SqliteEventStore.open(path, { pollIntervalMs: 20 });
    const reader = new SubscriptionReader(store.subscribeToAll());
    try {
      await reader.untilCaughtUp();
      const writer = startWriter(path, 'orders-1', 50);
      await reader.untilCount(50, 30_000);
      expect(await writer.exited).toBe(0);
      expect(reader.events.map((e) => e.id)).toEqual(writer.acked);
      expect(reader.events.map((e) => e.revision)).toEqual(writer.acked.map((_, i) => BigInt(i)));
    } finally {
      await reader.subscription.close();
      await store.close();
    }
  }, 60_000);

  it('keeps every acknowledged append when the writing process is killed mid-stream', async () => {
    const path = join(folder, 'crash.db');
    SqliteEventStore.open(path).database.close();
    const watcher = SqliteEventStore.open(path, { pollIntervalMs: 10 });
    const reader = new SubscriptionReader(watcher.subscribeToAll());
    const writer = startWriter(path, 'crashy', 100_000);
    try {
      // Kill it while it is busy appending, after a few hundred acknowledgements.
      await reader.untilCount(300, 30_000);
      writer.child.kill('SIGKILL');
      expect(await writer.exited).toBeNull();
    } finally {
      await reader.subscription.close();
      await watcher.close();
    }
    const reopened = SqliteEventStore.open(path);
    try {
      const stored: string[] = [];
      for await (const event of reopened.readStream('crashy')) stored.push(event.id);
      expect(writer.acked.length).toBeGreaterThanOrEqual(300);
      expect(writer.acked.length).toBeLessThan(100_000);
      // Every acknowledged event is there, in order; at most the one in flight at the kill is extra.
      expect(stored.slice(0, writer.acked.length)).toEqual(writer.acked);
      expect(stored.length - writer.acked.length).toBeLessThanOrEqual(1);
    } finally {
      await reopened.close();
    }
  }, 60_000);
});
