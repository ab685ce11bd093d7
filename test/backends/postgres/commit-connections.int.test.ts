import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/backends/postgres';
import { testDatabase } from '../../support/postgres';

describe('PostgreSQL group commits on connections of their own (real server)', () => {
  let database: { url: string; drop(): Promise<void> };
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await testDatabase('eventfold_commit_pool');
    store = await PostgresEventStore.connect(database.url, { poolSize: 2, maxConcurrentCommits: 1, pollIntervalMs: 600_000 });
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('commits an append while every connection of the read pool is taken', async () => {
    const streamName = `order-${randomUUID()}`;
    // Everything reading through the pool (commands' loads, projections, reactors) holds its connections.
    const held = await Promise.all([store.pool.connect(), store.pool.connect()]);
    try {
      expect(store.pool.totalCount).toBe(2);
      expect(store.pool.idleCount).toBe(0);
      // With commits on the read pool, this append would wait for a held connection (and time out here).
      const result = await store.appendToStream(streamName, [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]);
      expect(result.revision).toBe(0n);
      expect(store.pool.waitingCount).toBe(0);
    } finally {
      for (const client of held) client.release();
    }
    const types: string[] = [];
    for await (const event of store.readStream(streamName)) types.push(event.type);
    expect(types).toEqual(['OrderPlaced']);
  });

  it('keeps a refused append in a group from failing the others', async () => {
    const streamName = `order-${randomUUID()}`;
    await store.appendToStream(streamName, [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]);
    const duplicate = randomUUID();
    const outcomes = await Promise.allSettled([
      store.appendToStream(`order-${randomUUID()}`, [{ id: duplicate, type: 'OrderPlaced', data: {} }]),
      store.appendToStream(streamName, [{ id: randomUUID(), type: 'OrderPaid', data: {} }], { expectedRevision: 5n }),
      store.appendToStream(`order-${randomUUID()}`, [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
