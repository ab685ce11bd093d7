// eventfold/postgres: the PostgreSQL backend. Everything that knows pg lives in this folder.
import { assertInstalled } from '../../internal/optional-package';

assertInstalled('pg', 'eventfold/postgres');

export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store';
export { PostgresReadModelStore, type PostgresReadModelStoreOptions } from './postgres-read-model-store';
export { PostgresReactorStateStore } from './postgres-reactor-state-store';
export { PostgresTimerStore } from './postgres-timer-store';
export { PostgresSnapshotStore, type PostgresQueryable } from './postgres-snapshot-store';
export { isPostgresAppendContext, type PostgresAppendHookContext } from './append-hook-context';
export { PostgresKeyStore, type KeyErasure, type PostgresKeyStoreOptions } from './postgres-key-store';
