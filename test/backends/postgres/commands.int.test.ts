import { PostgresSnapshotStore } from '../../../src/backends/postgres';
import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { testDatabase } from '../../support/postgres';
import { runCommandSuite } from '../../commands/command-suite';

const databases: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

runCommandSuite('PostgreSQL', async () => {
  const database = await testDatabase('eventfold_commands');
  databases.push(database);
  return async () => {
    const store = await PostgresEventStore.connect(database.url);
    return { store, snapshots: await PostgresSnapshotStore.create(store.pool), close: () => store.close() };
  };
});
