import Database from 'better-sqlite3';
import { join } from 'node:path';
import { keyStoreFor, protectPersonalData, SqliteKeyStore, type EventStore, type KeyStore, type PersonalDataStore } from '../eventfold';
import { orderEvents } from '../domain/order-messages';

/**
 * The store the app hands everyone: the customer's name and address are sealed with the customer's key
 * before they reach the event store, and opened (or redacted, once forgotten) on every read. Keys live
 * in the event store's own database (SQLite file, PostgreSQL table), in memory for `memory:`, and in a
 * SQLite file of the data folder for EventStoreDB (which has no tables of its own).
 */
export async function protectOrders(store: EventStore, dataDir: string): Promise<{ store: PersonalDataStore; close(): void }> {
  let close = (): void => {};
  let keys: KeyStore;
  if (store.backend === 'eventstoredb') {
    const database = new Database(join(dataDir, 'keys.db'));
    database.pragma('journal_mode = WAL');
    keys = new SqliteKeyStore(database);
    close = () => database.close();
  } else {
    keys = await keyStoreFor(store);
  }
  return { store: protectPersonalData(store, { events: [orderEvents], keys }), close };
}
