import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../src/backends/postgres/postgres-event-store';
import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import type { EventStore } from '../../src/event-store/event-store';
import type { Position } from '../../src/event-store/position';
import { ReactorRunner } from '../../src/handlers';
import { ManualClock } from '../../src/testing/manual-clock';
import { tempDir } from '../projections/support/temp-dir';
import { testDatabase } from '../support/postgres';
import { until } from './support/reactor-fixtures';
import { expiryReactor, ticket } from './support/timer-fixtures';

async function expiredCount(store: EventStore, streamName: string): Promise<number> {
  let count = 0;
  for await (const event of store.readStream(streamName)) if (event.type === 'TicketExpired') count++;
  return count;
}

async function openTickets(store: EventStore, prefix: string, count: number): Promise<{ streams: string[]; last: Position }> {
  const streams: string[] = [];
  let last: Position | undefined;
  for (let index = 0; index < count; index++) {
    const streamName = `ticket-${prefix}${index}`;
    streams.push(streamName);
    ({ position: last } = await store.appendToStream(streamName, [{ id: randomUUID(), type: 'TicketOpened', data: {}, metadata: {} }]));
  }
  return { streams, last: last! };
}

describe('timers across PostgreSQL workers', () => {
  let database: { url: string; drop(): Promise<void> };
  const stores: PostgresEventStore[] = [];
  const runners: ReactorRunner[] = [];
  beforeAll(async () => {
    database = await testDatabase('timer_workers');
  });
  afterAll(async () => {
    for (const runner of runners) await runner.stop();
    for (const store of stores) await store.close();
    await database.drop();
  });

  it('fires each timer exactly once across two workers, and a leaving worker’s timers move with its partitions', async () => {
    const clock = new ManualClock(new Date());
    const start = async (workerId: string): Promise<ReactorRunner> => {
      const store = await PostgresEventStore.connect(database.url);
      stores.push(store);
      const runner = await ReactorRunner.start({
        store,
        reactors: [expiryReactor(60_000)],
        aggregates: [ticket],
        clock,
        workerId,
        checkpointIntervalMs: 10,
        partitions: { count: 4, leaseMs: 1_000, group: 'timers' },
      });
      runners.push(runner);
      return runner;
    };
    const a = await start('worker-a');
    const b = await start('worker-b');
    await until(() => a.worker().heldPartitions.length === 2 && b.worker().heldPartitions.length === 2, 'a fair share each');
    const store = stores[0]!;

    const first = await openTickets(store, 'one-', 40);
    await a.waitForPosition('expiry', first.last, { timeoutMs: 10_000 });
    await b.waitForPosition('expiry', first.last, { timeoutMs: 10_000 });
    expect((await a.listTimers({ limit: 1_000 })).items).toHaveLength(40);
    // Past every first timer (set from events recorded before now), before any second one.
    clock.advanceTo(new Date(Date.now() + 60_000));
    await Promise.all([a.timersSettled(), b.timersSettled()]);
    for (const streamName of first.streams) expect(await expiredCount(store, streamName)).toBe(1);
    const fired = (await a.invocations({ reactor: 'expiry', limit: 1_000 })).filter((invocation) => invocation.eventId.startsWith('timer:'));
    expect(fired).toHaveLength(40);
    expect(new Set(fired.map((invocation) => invocation.eventId)).size).toBe(40);
    // Both workers fired their own partitions' timers.
    expect(new Set(fired.map((invocation) => invocation.workerId))).toEqual(new Set(['worker-a', 'worker-b']));

    const second = await openTickets(store, 'two-', 20);
    await a.waitForPosition('expiry', second.last, { timeoutMs: 10_000 });
    await b.waitForPosition('expiry', second.last, { timeoutMs: 10_000 });
    const heldByA = a.worker().heldPartitions;
    await a.stop();
    await until(() => b.worker().heldPartitions.length === 4, 'worker b takes every partition', 10_000);
    clock.advance(120_000);
    await b.timersSettled();
    for (const streamName of second.streams) expect(await expiredCount(store, streamName)).toBe(1);
    const late = (await b.invocations({ reactor: 'expiry', limit: 1_000 })).filter(
      (invocation) => invocation.eventId.startsWith('timer:') && invocation.eventId.includes('two-'),
    );
    if (late.length !== 20) console.log(late.map((invocation) => `${invocation.eventId} ${invocation.workerId} ${invocation.at.toISOString()}`).sort().join('\n'));
    expect(late).toHaveLength(20);
    expect(new Set(late.map((invocation) => invocation.workerId))).toEqual(new Set(['worker-b']));
    expect(heldByA.length).toBe(2);
  }, 60_000);
});

describe('timers on SQLite', () => {
  const dir = tempDir('eventfold-timers-runner-');
  afterAll(() => dir.remove());

  it('survive closing the store: a timer due while nothing ran fires once when a runner starts again', async () => {
    const file = dir.file('events.db');
    const clock = new ManualClock(new Date());
    let store = SqliteEventStore.open(file);
    let runner = await ReactorRunner.start({ store, reactors: [expiryReactor(60_000)], aggregates: [ticket], clock, checkpointIntervalMs: 10 });
    const { streams, last } = await openTickets(store, 's-', 5);
    await runner.waitForPosition('expiry', last);
    await runner.stop();
    await store.close();
    clock.advance(3_600_000);
    for (let round = 0; round < 2; round++) {
      store = SqliteEventStore.open(file);
      runner = await ReactorRunner.start({ store, reactors: [expiryReactor(60_000)], aggregates: [ticket], clock, checkpointIntervalMs: 10 });
      await runner.timersSettled();
      for (const streamName of streams) expect(await expiredCount(store, streamName)).toBe(1);
      await runner.stop();
      await store.close();
    }
  });
});
