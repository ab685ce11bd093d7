import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SqliteReactorStateStore, SqliteTimerStore, type EventStore, type ReactorStateStore, type TimerStore } from '../eventfold';

/**
 * Where the reactors keep checkpoints, parked events and timers. SQLite and PostgreSQL stores hold them in their
 * own database (the runner's default). EventStoreDB has no tables, so the app keeps them in a SQLite
 * file in its data folder (one worker; a cluster of workers would use PostgreSQL here).
 */
export function reactorStateFor(
  store: EventStore,
  dataDir: string,
): { state: ReactorStateStore | undefined; timers: TimerStore | undefined; close(): void } {
  if (store.backend !== 'eventstoredb') return { state: undefined, timers: undefined, close: () => {} };
  const database = new Database(join(dataDir, 'reactors.db'));
  database.pragma('journal_mode = WAL');
  return { state: SqliteReactorStateStore.open(database), timers: SqliteTimerStore.open(database), close: () => database.close() };
}
