import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/backends/postgres';
import { testDatabase } from '../../support/postgres';
import { SubscriptionReader } from '../../event-store/subscription-helpers';

describe('PostgreSQL $all subscribers at the head (real server)', () => {
  let database: { url: string; drop(): Promise<void> };
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await testDatabase('eventfold_tail');
    store = await PostgresEventStore.connect(database.url, { pollIntervalMs: 600_000 });
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('reads the new events once per wake-up for all subscribers, each getting only what its filter asks for', async () => {
    const prefix = `tail-${randomUUID().slice(0, 8)}-`;
    const types = ['Placed', 'Approved', 'Charged'];
    const readers = [
      ...types.map((type) => new SubscriptionReader(store.subscribeToAll({ fromPosition: 'end', filter: { eventTypes: [type], streamPrefixes: [prefix] } }))),
      new SubscriptionReader(store.subscribeToAll({ fromPosition: 'end', filter: { streamPrefixes: [prefix] } })),
    ];
    const signal = (store as unknown as { signal: { current: number } }).signal;
    const reads: string[] = [];
    const query = store.pool.query.bind(store.pool) as (...args: unknown[]) => unknown;
    (store.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const name = (args[0] as { name?: string }).name;
      if (name?.startsWith('eventfold_read_all_forwards')) reads.push(name);
      return query(...args);
    };
    try {
      for (const reader of readers) await reader.untilCaughtUp();
      reads.length = 0;
      const before = signal.current;
      // All four wait for the next change: one append wakes them together.
      const arrivals = [...readers.slice(0, 3).map((reader) => reader.untilCount(1)), readers[3]!.untilCount(3)];
      await store.appendToStream(`${prefix}1`, types.map((type) => ({ id: randomUUID(), type, data: {} })));
      await Promise.all(arrivals);
      expect(readers.map((reader) => reader.events.map((event) => event.type))).toEqual([['Placed'], ['Approved'], ['Charged'], types]);
      // One statement per wake-up (the append's, and any wake for events hidden behind another
      // transaction of the server), not one per subscriber.
      const wakes = signal.current - before;
      expect(wakes).toBeGreaterThanOrEqual(1);
      expect(reads).toHaveLength(wakes);
    } finally {
      (store.pool as unknown as { query: unknown }).query = query;
      for (const reader of readers) await reader.subscription.close();
    }
  });
});
