import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { EventStore } from '../../src/event-store/event-store';
import { Position } from '../../src/event-store/position';
import { PostgresEventStore } from '../../src/backends/postgres/postgres-event-store';
import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import { ProjectionEngine, type ReadModelStore } from '../../src/projections';
import { PostgresReadModelStore } from '../../src/backends/postgres/postgres-read-model-store';
import { SqliteReadModelStore } from '../../src/backends/sqlite/sqlite-read-model-store';
import { testDatabase } from '../support/postgres';
import { ledgerProjection } from './support/ledger.projection';
import { tempDir } from './support/temp-dir';

const CHILD = join(__dirname, 'support', 'inline-child.ts');
const children = new Set<ChildProcess>();
afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

interface Appended {
  kind: 'ready' | 'appended';
  id?: string;
  amount?: number;
  position?: string;
}

/** Starts the appending child and kills it (SIGKILL) once `acknowledged` appends have resolved. */
async function appendUntilKilled(location: string, acknowledged: number): Promise<Appended[]> {
  const child = fork(CHILD, [location], { execArgv: ['-r', '@swc-node/register'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const appended: Appended[] = [];
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${acknowledged} appends within 60 s: ${stderr}`)), 60_000);
    child.on('message', (message: Appended) => {
      if (message.kind !== 'appended') return;
      appended.push(message);
      if (appended.length === acknowledged) {
        clearTimeout(timer);
        // Killed while appends are in flight: some of them are mid-transaction.
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (appended.length < acknowledged) reject(new Error(`child exited early: ${stderr}`));
    });
  });
  await exited;
  children.delete(child);
  return appended;
}

/** What the store and the read model hold after the crash. */
async function inspect(eventStore: EventStore, readModels: ReadModelStore) {
  const record = await readModels.load('ledger');
  const slot = record.slots.find((candidate) => candidate.version === record.active?.version && candidate.generation === record.active.generation);
  const checkpoint = slot?.position;
  const ids = new Set<string>();
  let total = 0;
  let upToCheckpoint = { count: 0, total: 0 };
  for await (const event of eventStore.readAll()) {
    const { amount } = event.data as { amount: number };
    ids.add(event.id);
    total += amount;
    if (checkpoint && !event.position.isAfter(checkpoint)) upToCheckpoint = { count: upToCheckpoint.count + 1, total: upToCheckpoint.total + amount };
  }
  const accounts = await readModels.documents(ledgerProjection(), 'accounts').find();
  const balance = accounts.reduce((sum, account) => sum + account.balance, 0);
  const deposits = accounts.reduce((sum, account) => sum + account.deposits, 0);
  return { checkpoint, ids, total, upToCheckpoint, balance, deposits };
}

async function checkAfterCrash(location: string, open: () => Promise<{ eventStore: EventStore; readModels: ReadModelStore }>) {
  const appended = await appendUntilKilled(location, 400);
  const { eventStore, readModels } = await open();
  try {
    const before = await inspect(eventStore, readModels);
    // Nothing acknowledged is lost.
    for (const message of appended) expect(before.ids.has(message.id!)).toBe(true);
    // The read model holds exactly the events up to its checkpoint: no event lost, none doubled, no half append.
    expect(before.checkpoint).toBeDefined();
    expect(before.deposits).toBe(before.upToCheckpoint.count);
    expect(before.balance).toBe(before.upToCheckpoint.total);
    const lastAcknowledged = appended.map((message) => Position.parse(message.position!)).reduce((a, b) => (a.isAfter(b) ? a : b));
    expect(before.checkpoint!.isBefore(lastAcknowledged)).toBe(false);

    // A new engine takes over from the checkpoint and ends with every event applied once.
    const engine = new ProjectionEngine({ eventStore, readModels, projections: [ledgerProjection()], inline: ['ledger'] });
    await engine.start();
    const head = await eventStore.headPosition();
    await engine.waitForPosition('ledger', head!, { timeoutMs: 20_000 });
    await engine.stop();
    const after = await inspect(eventStore, readModels);
    expect(after.deposits).toBe(after.ids.size);
    expect(after.balance).toBe(after.total);
    return before;
  } finally {
    await readModels.close();
    await eventStore.close();
  }
}

describe('inline projections survive a crash (child process killed with SIGKILL mid-append)', () => {
  it('SQLite: events and read model commit together; every acknowledged append is applied exactly once', async () => {
    const dir = tempDir();
    try {
      const path = dir.file('inline.db');
      const before = await checkAfterCrash(`sqlite:${path}`, () =>
        Promise.resolve({ eventStore: SqliteEventStore.open(path), readModels: SqliteReadModelStore.open(path) }),
      );
      // Every append went through the inline path: the checkpoint is the head of the store.
      const store = SqliteEventStore.open(path);
      expect(before.checkpoint!.equals((await store.headPosition())!)).toBe(true);
      await store.close();
    } finally {
      dir.remove();
    }
  }, 90_000);

  it('PostgreSQL: events and read model commit together; every acknowledged append is applied exactly once', async () => {
    const database = await testDatabase('eventfold_inline_crash');
    try {
      await checkAfterCrash(database.url, async () => ({
        eventStore: await PostgresEventStore.connect(database.url),
        readModels: await PostgresReadModelStore.connect(database.url),
      }));
    } finally {
      await database.drop();
    }
  }, 90_000);
});
