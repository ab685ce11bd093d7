import type { EventStore, RecordedEvent } from '../../src/event-store/event-store';
import { PostgresEventStore } from '../../src/backends/postgres/postgres-event-store';
import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import { defineReactor, NonRetryableError, ReactorRunner, type Reactor } from '../../src/handlers';
import { tempDir } from '../projections/support/temp-dir';
import { testDatabase } from '../support/postgres';
import { appendEach, label, until } from './support/reactor-fixtures';

interface Backend {
  name: string;
  open(): Promise<EventStore>;
  cleanup(): Promise<void>;
}

const dir = tempDir('eventfold-reactor-backends-');
let database: { url: string; drop(): Promise<void> } | undefined;
const backends: Backend[] = [
  {
    name: 'SQLite',
    open: () => Promise.resolve(SqliteEventStore.open(dir.file('events.db'))),
    cleanup: () => Promise.resolve(dir.remove()),
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      database ??= await testDatabase('reactor_runner');
      return PostgresEventStore.connect(database.url);
    },
    cleanup: async () => database?.drop(),
  },
];

describe.each(backends)('ReactorRunner on $name', (backend) => {
  const opened: EventStore[] = [];
  const runners: ReactorRunner[] = [];
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
  });
  afterAll(async () => {
    for (const store of opened) await store.close();
    await backend.cleanup();
  });

  async function open(): Promise<EventStore> {
    const store = await backend.open();
    opened.push(store);
    return store;
  }

  async function start(store: EventStore, reactors: Reactor[], workerId: string): Promise<ReactorRunner> {
    const runner = await ReactorRunner.start({
      store,
      reactors,
      workerId,
      checkpointIntervalMs: 10,
      redrivePollMs: 50,
      partitions: { count: 4, leaseMs: 3_000, group: `g-${workerId}` },
    });
    runners.push(runner);
    return runner;
  }

  it('checkpoints in the store database: a restarted runner goes on after what it finished', async () => {
    const store = await open();
    const seen: string[] = [];
    const reactor = defineReactor({ name: 'resume', filter: { streamPrefixes: ['resume-'] }, handle: (event) => void seen.push(label(event)) });
    const first = await start(store, [reactor], 'resume-1');
    const firstBatch = await appendEach(store, Array.from({ length: 20 }, (_, index) => ({ streamName: `resume-${index % 3}`, type: 'Step' })));
    await first.waitForPosition('resume', firstBatch);
    await first.stop();
    expect(seen).toHaveLength(20);
    const stored = (await first.status())[0]!;
    expect(stored.position).toBe(firstBatch.toString());

    const again = await start(store, [reactor], 'resume-1');
    const secondBatch = await appendEach(store, [{ streamName: 'resume-9', type: 'Step' }]);
    await again.waitForPosition('resume', secondBatch);
    // A clean stop checkpointed everything: nothing from before came again.
    expect(seen).toHaveLength(21);
    expect(seen[20]).toBe('resume-9@0');
  });

  it('keeps a stream blocked across a restart, and runs a redrive asked for by another runner', async () => {
    const store = await open();
    let fixed = false;
    const handled: string[] = [];
    const reactor = defineReactor({
      name: 'blocked',
      filter: { streamPrefixes: ['blocked-'] },
      handle: (event: RecordedEvent) => {
        if (!fixed && event.revision === 0n) throw new NonRetryableError('bad first event');
        handled.push(label(event));
      },
    });
    const first = await start(store, [reactor], 'blocked-1');
    const before = await appendEach(store, [
      { streamName: 'blocked-a', type: 'Step' },
      { streamName: 'blocked-a', type: 'Step' },
    ]);
    await first.waitForPosition('blocked', before);
    await first.stop();
    const owner = await start(store, [reactor], 'blocked-1');
    const after = await appendEach(store, [{ streamName: 'blocked-a', type: 'Step' }]);
    await owner.waitForPosition('blocked', after);
    expect(handled).toEqual([]);
    const { items } = await owner.listParked({ reactor: 'blocked' });
    expect(items.map((item) => [label(item.event), item.status])).toEqual([
      ['blocked-a@0', 'parked'],
      ['blocked-a@1', 'waiting'],
      ['blocked-a@2', 'waiting'],
    ]);

    // An admin process: same database and group, no partitions of its own (the owner holds them all).
    const admin = await ReactorRunner.start({
      store: await open(),
      reactors: [reactor],
      workerId: 'admin',
      partitions: { count: 4, leaseMs: 3_000, group: 'g-blocked-1' },
    });
    runners.push(admin);
    // SQLite runs one worker: the first holds every partition. PostgreSQL shares them out at the owner's next lease round.
    if (backend.name === 'SQLite') expect(admin.worker().heldPartitions).toEqual([]);
    else expect(admin.worker().heldPartitions.length).toBeLessThan(4);
    fixed = true;
    expect(await admin.redrive({ reactor: 'blocked' })).toBe(1);
    await until(() => handled.length === 3, 'the owner to run the redrive');
    expect(handled).toEqual(['blocked-a@0', 'blocked-a@1', 'blocked-a@2']);
    // The log is written with the next flush.
    await until(
      async () => (await owner.invocations({ reactor: 'blocked', limit: 10 })).filter((entry) => entry.outcome === 'succeeded').length === 3,
      'three successes in the invocation log',
    );
    const attempts = await owner.invocations({ reactor: 'blocked', limit: 10 });
    expect(attempts.some((entry) => entry.outcome === 'parked' && entry.error?.code === 'NON_RETRYABLE')).toBe(true);
  });
});
