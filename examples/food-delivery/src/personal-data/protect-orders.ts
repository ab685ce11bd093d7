import Database from 'better-sqlite3';
import { join } from 'node:path';
import {
  InMemoryKeyStore,
  protectPersonalData,
  SqliteEventStore,
  SqliteKeyStore,
  type EventStore,
  type KeyStore,
  type PersonalDataStore,
} from '../eventfold';
import { orderEvents } from '../domain/order-messages';

/**
 * The store the app hands everyone: the customer's name and address are sealed with the customer's key
 * before they reach the event store, and opened (or redacted, once forgotten) on every read. Keys live
 * in the event store's own database (SQLite file, PostgreSQL table), in memory for `memory:`, and in a
 * SQLite file of the data folder for EventStoreDB.
 */
export async function protectOrders(store: EventStore, dataDir: string): Promise<{ store: PersonalDataStore; close(): void }> {
  let close = (): void => {};
  let keys: KeyStore;
  if (store instanceof SqliteEventStore) {
    keys = new SqliteKeyStore(store.database);
  } else if (store.backend === 'postgres') {
    // Loaded here, so that an app on SQLite never loads pg.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PostgresEventStore, PostgresKeyStore } = require('../postgres') as typeof import('../postgres');
    if (!(store instanceof PostgresEventStore)) throw new TypeError('expected the PostgreSQL event store');
    keys = await PostgresKeyStore.create(store.pool);
  } else if (store.capabilities.durable) {
    const database = new Database(join(dataDir, 'keys.db'));
    database.pragma('journal_mode = WAL');
    keys = new SqliteKeyStore(database);
    close = () => database.close();
  } else {
    keys = new InMemoryKeyStore();
  }
  return { store: protectPersonalData(store, { events: [orderEvents], keys }), close };
}
