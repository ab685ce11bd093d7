import { SqliteEventStore } from '../../../src/backends/sqlite/sqlite-event-store';
import { SqliteReactorStateStore } from '../../../src/backends/sqlite';
import { tempDir } from '../../projections/support/temp-dir';
import { reactorStateStoreConformance } from '../../handlers/state-store.conformance';

const dir = tempDir('eventfold-reactors-');
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  dir.remove();
});

reactorStateStoreConformance('SQLite (the event store file)', () => {
  const store = SqliteEventStore.open(dir.file(`events-${stores.length}.db`));
  stores.push(store);
  // Opened twice: the migration runs once and a second open finds the tables.
  SqliteReactorStateStore.open(store.database);
  return Promise.resolve(SqliteReactorStateStore.open(store.database));
});
