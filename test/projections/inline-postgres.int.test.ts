import pg from 'pg';
import { PostgresEventStore } from '../../src/event-store/postgres-event-store';
import { PostgresReadModelStore } from '../../src/projections/postgres-read-model-store';
import { testDatabase } from '../support/postgres';
import { runInlineSuite } from './inline.conformance';

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
