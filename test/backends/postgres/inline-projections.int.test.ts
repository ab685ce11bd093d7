import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { ProjectionEngine } from '../../../src/projections';
import { PostgresReadModelStore } from '../../../src/backends/postgres/postgres-read-model-store';
import { testDatabase } from '../../support/postgres';
import { runInlineSuite } from '../../projections/inline.conformance';
import { ledgerProjection } from '../../projections/support/ledger.projection';

runInlineSuite('PostgreSQL, read models in the event store database', async () => {
  const database = await testDatabase('eventfold_inline');
  const eventStore = await PostgresEventStore.connect(database.url);
  const otherWriter = await PostgresEventStore.connect(database.url);
  // Its own pool on the same database: the engine finds out that it is the event store's database.
  const readModels = await PostgresReadModelStore.connect(database.url);
  const sqlClient = new pg.Client({ connectionString: database.url });
  await sqlClient.connect();
  return {
    eventStore,
    readModels,
    otherWriter,
    sql: async (text: string) => (await sqlClient.query<Record<string, unknown>>(text)).rows,
    async close() {
      await sqlClient.end();
      await readModels.close();
      await otherWriter.close();
      await eventStore.close();
      await database.drop();
    },
  };
});

describe('inline projections (PostgreSQL) and deadlocks', () => {
  it('runs an append again when its inline write was chosen as a deadlock victim, and applies it once', async () => {
    const database = await testDatabase('eventfold_inline_deadlock');
    const eventStore = await PostgresEventStore.connect(database.url);
    const readModels = await PostgresReadModelStore.fromPool(eventStore.pool);
    let calls = 0;
    const projection = ledgerProjection({
      onEvent: () => {
        // What PostgreSQL raises on the victim of a deadlock (SQLSTATE 40P01), the first time only.
        if (++calls === 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      },
    });
    const engine = new ProjectionEngine({ eventStore, readModels, projections: [projection], inline: ['ledger'] });
    try {
      await engine.start();
      await engine.waitForState('ledger', 'live', { timeoutMs: 10_000 });
      await eventStore.appendToStream('account-a', [{ id: randomUUID(), type: 'Deposited', data: { accountId: 'a', amount: 5 } }]);
      expect(calls).toBe(2);
      expect(await readModels.documents(projection, 'accounts').get('a')).toEqual({ accountId: 'a', balance: 5, deposits: 1 });
    } finally {
      await engine.stop();
      await readModels.close();
      await eventStore.close();
      await database.drop();
    }
  });
});
