import { SqliteEventStore } from '../../../src/backends/sqlite/sqlite-event-store';
import { SqliteTimerStore } from '../../../src/backends/sqlite';
import { tempDir } from '../../projections/support/temp-dir';
import { timerStoreConformance } from '../../handlers/timer-store.conformance';

const dir = tempDir('eventfold-timers-');
const stores: SqliteEventStore[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  dir.remove();
});

timerStoreConformance('SQLite (the event store file)', () => {
  const store = SqliteEventStore.open(dir.file(`events-${stores.length}.db`));
  stores.push(store);
  // Opened twice: the migration runs once and a second open finds the table.
  SqliteTimerStore.open(store.database);
  return store.openTimerStore();
});
