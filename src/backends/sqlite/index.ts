// eventfold/sqlite: the embedded backend. Everything that knows better-sqlite3 lives in this folder.
import { assertInstalled } from '../../internal/optional-package';

assertInstalled('better-sqlite3', 'eventfold/sqlite');

export { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store';
export { SqliteReadModelStore, type SqliteReadModelStoreOptions } from './sqlite-read-model-store';
export { SqliteReactorStateStore } from './sqlite-reactor-state-store';
export { SqliteTimerStore } from './sqlite-timer-store';
export { SqliteSnapshotStore } from './sqlite-snapshot-store';
export { isSqliteAppendContext, type SqliteAppendHookContext } from './append-hook-context';
export { SqliteKeyStore } from './sqlite-key-store';
