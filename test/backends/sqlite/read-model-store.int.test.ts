import { SqliteEventStore } from '../../../src/backends/sqlite/sqlite-event-store';
import { SqliteReadModelStore } from '../../../src/backends/sqlite/sqlite-read-model-store';
import { runReadModelStoreSuite } from '../../projections/read-model-store.conformance';
import { tempDir } from '../../projections/support/temp-dir';

const dir = tempDir();
afterAll(() => dir.remove());

runReadModelStoreSuite('SQLite', () => {
  const name = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const readPath = dir.file(`read-${name}.db`);
  const eventStore = SqliteEventStore.open(dir.file(`events-${name}.db`));
  const readModels = SqliteReadModelStore.open(readPath);
  return Promise.resolve({
    eventStore,
    readModels,
    sql: (text: string) => Promise.resolve(readModels.database.prepare(text).all() as Record<string, unknown>[]),
    reopen: () => Promise.resolve(SqliteReadModelStore.open(readPath)),
    async close() {
      await readModels.close();
      await eventStore.close();
    },
  });
});

runReadModelStoreSuite('SQLite (read models in the event store file)', () => {
  const path = dir.file(`shared-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);
  const eventStore = SqliteEventStore.open(path);
  const readModels = SqliteReadModelStore.open(path);
  return Promise.resolve({
    eventStore,
    readModels,
    sql: (text: string) => Promise.resolve(readModels.database.prepare(text).all() as Record<string, unknown>[]),
    reopen: () => Promise.resolve(SqliteReadModelStore.open(path)),
    async close() {
      await readModels.close();
      await eventStore.close();
    },
  });
});
