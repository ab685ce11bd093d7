import type { EventStore } from '../event-store/event-store';
import { InvalidArgumentError } from '../event-store/errors';
import { InMemoryKeyStore } from './in-memory-key-store';
import { isKeyStoreHost, type KeyStore } from './key-store';

/** One in-memory key store per in-memory event store, so that every wrapper of it shares the keys. */
const memoryKeys = new WeakMap<EventStore, InMemoryKeyStore>();

/**
 * The key store that lives with an event store: a table in its own database (SQLite, PostgreSQL), or
 * keys in memory for as long as a non-durable store lives. A tool that only reads (an audit export, the
 * CLI) opens sealed values with it: `protectPersonalData(store, { events: [], keys: await keyStoreFor(store) })`.
 *
 * @example
 * const store = protectPersonalData(events, { events: [orderEvents], keys: await keyStoreFor(events) });
 * @throws InvalidArgumentError for a durable store that keeps none (EventStoreDB: pass your KMS's key store).
 */
export async function keyStoreFor(store: EventStore): Promise<KeyStore> {
  if (isKeyStoreHost(store)) return store.openKeyStore();
  if (!store.capabilities.durable) {
    let keys = memoryKeys.get(store);
    if (!keys) memoryKeys.set(store, (keys = new InMemoryKeyStore()));
    return Promise.resolve(keys);
  }
  throw new InvalidArgumentError(`the ${store.backend} store keeps no keys of its own: pass a KeyStore (your KMS, or a SqliteKeyStore beside it)`);
}
