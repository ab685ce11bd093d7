import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { PostgresReadModelStore } from '../../../src/backends/postgres/postgres-read-model-store';
import { testDatabase } from '../../support/postgres';
import { runReadModelStoreSuite } from '../../projections/read-model-store.conformance';

runReadModelStoreSuite('PostgreSQL', async () => {
  const database = await testDatabase('eventfold_projections');
  const eventStore = await PostgresEventStore.connect(database.url);
  const readModels = await PostgresReadModelStore.connect(database.url);
  return {
    eventStore,
    readModels,
    sql: async (text: string) => (await readModels.pool.query<Record<string, unknown>>(text)).rows,
    reopen: () => PostgresReadModelStore.connect(database.url),
    async close() {
      await readModels.close();
      await eventStore.close();
      await database.drop();
    },
  };
});
