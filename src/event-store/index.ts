export * from './event-store';
export * from './errors';
export { Position, maxPosition, type FromPosition } from './position';
export { foldPagesFromReadStream, metadataPicker, readStreamForFold } from './fold-read';
export { InMemoryEventStore } from './in-memory-event-store';
export type { PagedEventStoreOptions } from './paged-event-store';
export {
  DEFAULT_STORE,
  connectEventStore,
  parseConnectionString,
  resolveConnectionString,
  type ConnectOptions,
  type StoreLocation,
} from './connect';
export { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store';
export { EventStoreDbEventStore } from './eventstoredb-event-store';
export { isAppendHookHost, type AppendHook, type AppendHookContext, type AppendHookHost, type PostgresAppendHookContext, type SqliteAppendHookContext } from './append-hook';
