import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PostgresEventStore } from '../../src/backends/postgres/postgres-event-store';
import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import type { EventStore } from '../../src/event-store/event-store';
import type { Position } from '../../src/event-store/position';
import { defineReactor, ReactorRunner, type ReactorStateStore, type StoredTimer, type TimerStore } from '../../src/handlers';
import type { ReactorStateHost } from '../../src/handlers/state-store-for';
import type { TimerStoreHost } from '../../src/handlers/timer-runtime';
import { tempDir } from '../projections/support/temp-dir';
import { testDatabase } from '../support/postgres';
import { until } from './support/reactor-fixtures';
import { reminder } from './support/reminder';

jest.setTimeout(120_000);

const CHILD = join(__dirname, 'support', 'timer-crash-child.ts');
const REACTOR = 'reminders';
const ALL_PARTITIONS = Array.from({ length: 16 }, (_, partition) => partition);

interface Backend {
  readonly name: string;
  /** A fresh store (its own file or database) and the connection string a child process opens. */
  fresh(label: string): Promise<{ connection: string; store: EventStore; drop(): Promise<void> }>;
  /** Makes every write of a handled record fail, as a constraint would. */
  refuseHandledRecords(store: EventStore): Promise<() => Promise<void>>;
}

const dir = tempDir('eventfold-timer-progress-');
afterAll(() => dir.remove());

const backends: Backend[] = [
  {
    name: 'SQLite',
    fresh: (label) => {
      const path = dir.file(`${label}.db`);
      const store = SqliteEventStore.open(path);
      return Promise.resolve({ connection: `sqlite:${path}`, store, drop: () => store.close() });
    },
    refuseHandledRecords: (store) => {
      const database = (store as SqliteEventStore).database;
      database.exec(`CREATE TRIGGER refuse_handled BEFORE INSERT ON eventfold_reactor_handled BEGIN SELECT RAISE(ABORT, 'handled record refused'); END`);
      return Promise.resolve(() => {
        database.exec('DROP TRIGGER refuse_handled');
        return Promise.resolve();
      });
    },
  },
  {
    name: 'PostgreSQL',
    fresh: async (label) => {
      const database = await testDatabase(`timer_progress_${label.replace(/-/g, '_')}`);
      const store = await PostgresEventStore.connect(database.url);
      return {
        connection: database.url,
        store,
        drop: async () => {
          await store.close();
          await database.drop();
        },
      };
    },
    refuseHandledRecords: async (store) => {
      const pool = (store as PostgresEventStore).pool;
      await pool.query(`CREATE FUNCTION refuse_handled() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'handled record refused'; END $$;
        CREATE TRIGGER refuse_handled BEFORE INSERT ON eventfold_reactor_handled FOR EACH ROW EXECUTE FUNCTION refuse_handled()`);
      return async () => {
        await pool.query('DROP TRIGGER refuse_handled ON eventfold_reactor_handled; DROP FUNCTION refuse_handled()');
      };
    },
  },
];

async function allTimers(timers: TimerStore): Promise<StoredTimer[]> {
  const found: StoredTimer[] = [];
  for (const status of ['pending', 'fired', 'cancelled', 'parked'] as const) found.push(...(await timers.listTimers({ reactor: REACTOR, status })).items);
  return found;
}

async function reminders(store: EventStore, streamName: string): Promise<number> {
  let count = 0;
  for await (const event of store.readAll({ filter: { streamPrefixes: [streamName] } })) if (event.type === 'Reminded') count++;
  return count;
}

/** Runs the crash child to its end: a kill, or `done` after a clean run. */
function runChild(connection: string, mode: string): Promise<{ signal: NodeJS.Signals | null; code: number | null; handlerRuns?: number; stderr: string }> {
  const child = fork(CHILD, [connection, mode], { execArgv: ['-r', '@swc-node/register'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  let handlerRuns: number | undefined;
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('message', (message: { kind: string; handlerRuns: number }) => {
    if (message.kind !== 'done') return;
    handlerRuns = message.handlerRuns;
    child.send('stop');
  });
  // Bounded: a child that neither dies nor finishes is killed and the test fails on its outcome.
  const timeout = setTimeout(() => child.kill('SIGTERM'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      resolve({ code, signal, stderr, ...(handlerRuns !== undefined ? { handlerRuns } : {}) });
    }),
  );
}

describe.each(backends)('timers stored with the reactor progress ($name)', (backend) => {
  it.each([
    ['kill-before-progress', 'leaves neither the timer nor the record; the restarted worker handles the event once'],
    ['kill-after-progress', 'leaves both the timer and the record; the restarted worker does not handle the event again'],
  ])('a worker SIGKILLed %s (the handler done, no checkpoint) %s: exactly one timer, one firing', async (mode) => {
    const fresh = await backend.fresh(mode);
    const { connection, store } = fresh;
    try {
      const streamName = `errand-${randomUUID()}`;
      const { position } = await store.appendToStream(streamName, [{ id: randomUUID(), type: 'ReminderRequested', data: {} }]);

      const killed = await runChild(connection, mode);
      expect({ signal: killed.signal, stderr: killed.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });

      // What the crash left: both or neither, and no checkpoint past the event.
      const timers = await (store as unknown as TimerStoreHost).openTimerStore();
      const state: ReactorStateStore = await (store as unknown as ReactorStateHost).openReactorState();
      const handled = await state.handledAfterCheckpoints!(REACTOR, ALL_PARTITIONS, 10);
      const left = await allTimers(timers);
      if (mode === 'kill-before-progress') {
        expect({ timers: left.length, handled }).toEqual({ timers: 0, handled: [] });
      } else {
        expect({ timers: left.map((timer) => timer.status), handled }).toEqual({ timers: ['pending'], handled: [position.toString()] });
      }
      const passed = [...(await state.loadCheckpoints(REACTOR)).values()].filter((checkpoint: Position) => !checkpoint.isBefore(position));
      expect(passed).toEqual([]);

      const restarted = await runChild(connection, 'run');
      expect({ code: restarted.code, stderr: restarted.stderr }).toEqual({ code: 0, stderr: '' });
      expect(restarted.handlerRuns).toBe(mode === 'kill-before-progress' ? 1 : 0);
      const settled = await allTimers(timers);
      expect(settled.map((timer) => timer.status)).toEqual(['fired']);
      expect(await reminders(store, `reminder-${streamName}`)).toBe(1);
      // The clean stop checkpointed past the event, which removed its record.
      expect(await state.handledAfterCheckpoints!(REACTOR, ALL_PARTITIONS, 10)).toEqual([]);
      await state.close();
    } finally {
      await fresh.drop();
    }
  });

  it('a handled record that cannot be written leaves no timer; the event is parked, and its redrive sets the timer once', async () => {
    const fresh = await backend.fresh('refused');
    const { store } = fresh;
    let runner: ReactorRunner | undefined;
    try {
      // The tables exist once a state store has been opened on the store.
      await (await (store as unknown as ReactorStateHost).openReactorState()).close();
      const allow = await backend.refuseHandledRecords(store);
      runner = await ReactorRunner.start({
        store,
        aggregates: [reminder],
        reactors: [
          defineReactor({
            name: REACTOR,
            filter: { eventTypes: ['ReminderRequested'] },
            retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 },
            handle: (event, context) => {
              context.schedule(reminder, { streamName: `reminder-${event.streamName}`, command: { type: 'Remind', data: {} } }, { afterMs: 0 });
            },
          }),
        ],
      });
      const streamName = `errand-${randomUUID()}`;
      const { position } = await store.appendToStream(streamName, [{ id: randomUUID(), type: 'ReminderRequested', data: {} }]);
      await runner.waitForPosition(REACTOR, position, { timeoutMs: 10_000 });
      const parked = await runner.listParked({ reactor: REACTOR });
      expect(parked.items.map((item) => ({ attempts: item.attempts, refused: item.reason.includes('handled record refused') }))).toEqual([
        { attempts: 2, refused: true },
      ]);
      await runner.timersSettled();
      expect(await runner.listTimers({ reactor: REACTOR, status: 'pending' })).toEqual({ items: [] });
      expect(await runner.listTimers({ reactor: REACTOR, status: 'fired' })).toEqual({ items: [] });
      expect(await reminders(store, `reminder-${streamName}`)).toBe(0);

      await allow();
      expect(await runner.redrive({ reactor: REACTOR, all: true })).toBe(1);
      await until(async () => (await runner!.listParked({ reactor: REACTOR })).items.length === 0, 'the redriven event to be handled', 10_000);
      await runner.timersSettled();
      await until(async () => (await reminders(store, `reminder-${streamName}`)) > 0, 'the timer to fire', 10_000);
      expect((await runner.listTimers({ reactor: REACTOR, status: 'fired' })).items).toHaveLength(1);
      expect(await reminders(store, `reminder-${streamName}`)).toBe(1);
    } finally {
      await runner?.stop();
      await fresh.drop();
    }
  });
});
