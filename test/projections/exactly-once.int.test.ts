import Database from 'better-sqlite3';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { RecordedEvent } from '../../src/event-store/event-store';
import { Position } from '../../src/event-store/position';
import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import { seededRandom } from '../event-store/subscription-helpers';
import { tempDir } from './support/temp-dir';

const CHILD = join(__dirname, 'support', 'ledger-child.ts');
/** Every child started, so that a failing test never leaves one running. */
const children = new Set<ChildProcess>();

interface ChildMessage {
  kind: 'ready' | 'committed' | 'blocked';
  position?: string;
}

/** A ledger child process, with a way to wait for one of its messages (with a timeout, never a sleep). */
class LedgerChild {
  readonly process: ChildProcess;
  private readonly messages: ChildMessage[] = [];
  private wake: (() => void) | undefined;
  readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(eventsPath: string, readPath: string, extra: string[] = [], env: Record<string, string> = {}) {
    this.process = fork(CHILD, [eventsPath, readPath, ...extra], {
      execArgv: ['-r', '@swc-node/register'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    children.add(this.process);
    this.process.on('exit', () => children.delete(this.process));
    this.process.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.process.on('message', (message: ChildMessage) => {
      this.messages.push(message);
      this.wake?.();
    });
    this.exited = new Promise((resolve) => this.process.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first message (from now on, or already received) that matches. */
  async until(match: (message: ChildMessage) => boolean, what: string, timeoutMs = 30_000): Promise<ChildMessage> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.messages.length; seen++) if (match(this.messages[seen]!)) return this.messages[seen]!;
      if (this.process.exitCode !== null) throw new Error(`ledger child exited (${this.process.exitCode}) before ${what}: ${this.stderr}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    this.process.send('stop');
    expect(await this.exited).toBe(0);
  }
}

function atOrAfter(position: Position): (message: ChildMessage) => boolean {
  return (message) => message.kind === 'committed' && !Position.parse(message.position!).isBefore(position);
}

describe('exactly-once effect across a crash (SQLite, child process killed with SIGKILL)', () => {
  const dir = tempDir();
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
  });
  afterAll(() => dir.remove());

  /** Appends deposits; returns them as recorded and the expected balance per account. */
  async function deposit(eventsPath: string, count: number, seed: number): Promise<{ events: RecordedEvent[]; balances: Map<string, number> }> {
    const random = seededRandom(seed);
    const store = SqliteEventStore.open(eventsPath);
    try {
      for (let i = 0; i < count; i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, count - i) }, (_, n) =>
            store.appendToStream(`account-${(i + n) % 17}`, [
              { id: randomUUID(), type: 'Deposited', data: { accountId: `a-${(i + n) % 17}`, amount: 1 + Math.floor(random() * 100) } },
            ]),
          ),
        );
      }
      const events: RecordedEvent[] = [];
      for await (const event of store.readAll()) events.push(event);
      const balances = new Map<string, number>();
      for (const event of events) {
        const { accountId, amount } = event.data as { accountId: string; amount: number };
        balances.set(accountId, (balances.get(accountId) ?? 0) + amount);
      }
      return { events, balances };
    } finally {
      await store.close();
    }
  }

  /** What the read-model file holds, read on a connection of its own. */
  function inspect(readPath: string) {
    if (!existsSync(readPath)) return { total: 0, distinctEvents: 0, balances: new Map<string, number>(), checkpoint: undefined };
    const db = new Database(readPath, { readonly: true });
    try {
      const applied = db.prepare('SELECT COUNT(*) AS total, COUNT(DISTINCT event_id) AS distinctEvents FROM applied').get() as {
        total: number;
        distinctEvents: number;
      };
      const balances = new Map(
        (db.prepare('SELECT key, doc FROM accounts').all() as { key: string; doc: string }[]).map((row) => [
          row.key,
          (JSON.parse(row.doc) as { balance: number }).balance,
        ]),
      );
      const checkpoint = (db.prepare("SELECT position FROM eventfold_projection_slots WHERE name = 'ledger'").get() as { position: string | null })
        .position;
      return { ...applied, balances, checkpoint: checkpoint === null ? undefined : Position.parse(checkpoint) };
    } finally {
      db.close();
    }
  }

  it('keeps a batch whose handler ran but never committed out of the read model, and applies it once after restart', async () => {
    const eventsPath = dir.file('crash-events.db');
    const readPath = dir.file('crash-read.db');
    const { events, balances } = await deposit(eventsPath, 500, 7);
    // Batches of 100: the child blocks in the third batch, after handling its 50th event.
    const blockOn = events[249]!;
    const first = new LedgerChild(eventsPath, readPath, ['--block-on', blockOn.id]);
    await first.until((message) => message.kind === 'blocked', 'the handler to block');
    const during = inspect(readPath);
    expect(during.checkpoint?.equals(events[199]!.position)).toBe(true);
    expect(during.total).toBe(200);
    await first.kill();

    const afterCrash = inspect(readPath);
    expect(afterCrash.total).toBe(200);
    expect(afterCrash.checkpoint?.equals(events[199]!.position)).toBe(true);

    const second = new LedgerChild(eventsPath, readPath);
    await second.until(atOrAfter(events.at(-1)!.position), 'the last event to be committed');
    await second.stop();
    const final = inspect(readPath);
    expect(final).toMatchObject({ total: 500, distinctEvents: 500 });
    expect(final.balances).toEqual(balances);
    expect(final.checkpoint?.equals(events.at(-1)!.position)).toBe(true);
  });

  it('applies every event exactly once when killed repeatedly in the middle of catching up', async () => {
    const eventsPath = dir.file('chaos-events.db');
    const readPath = dir.file('chaos-read.db');
    const { events, balances } = await deposit(eventsPath, 6_000, 11);
    const last = events.at(-1)!.position;
    for (let round = 0; round < 3; round++) {
      const child = new LedgerChild(eventsPath, readPath, [], { LEDGER_BATCH_SIZE: '50' });
      const before = inspect(readPath).checkpoint;
      // Kill right after hearing of a commit past where this round started: the next batch is in flight.
      await child.until(
        (message) => message.kind === 'committed' && (!before || Position.parse(message.position!).isAfter(before)),
        `progress in round ${round}`,
      );
      await child.kill();
      const state = inspect(readPath);
      expect(state.total).toBe(state.distinctEvents);
      expect(state.checkpoint?.isBefore(last)).toBe(true);
    }
    const child = new LedgerChild(eventsPath, readPath, [], { LEDGER_BATCH_SIZE: '50' });
    await child.until(atOrAfter(last), 'the last event to be committed');
    await child.stop();
    const final = inspect(readPath);
    expect(final).toMatchObject({ total: 6_000, distinctEvents: 6_000 });
    expect(final.balances).toEqual(balances);
    // Four child processes start one after another: allow for a loaded machine.
  }, 30_000);
});
