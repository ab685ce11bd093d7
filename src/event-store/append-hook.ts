import type { RecordedEvent } from './event-store';
import type { Position } from './position';

/**
 * What an append hook is given: the transaction that appends `events`, before it commits. Each backend
 * extends it with its own `connection` type (`SqliteAppendHookContext` in `eventfold/sqlite`,
 * `PostgresAppendHookContext` in `eventfold/postgres`); a read-model store of the same backend uses it.
 */
export interface AppendHookContext {
  /** The backend's name, for messages only: engines never branch on it. */
  readonly backend: string;
  /** The backend's connection inside the append transaction. */
  readonly connection: unknown;
  /** The events this transaction appends (of every append in a group commit), in position order. */
  readonly events: readonly RecordedEvent[];
  /** The last position in the store before these events; undefined when the store was empty. */
  readonly previousHead: Position | undefined;
  /**
   * True when every event before `events` is committed and visible (no older writer still running), so
   * that a hook may treat `previousHead` as the complete history before these events.
   */
  readonly ordered: boolean;
  /**
   * Whether an event of one of `eventTypes` lies after `after` (exclusive; undefined: the beginning)
   * and before this transaction's events, as the transaction sees the store.
   */
  hasEventsBefore(after: Position | undefined, eventTypes: readonly string[]): Promise<boolean>;
}

/**
 * Work done in an append's own transaction (inline projections). `beforeCommit` runs after the events
 * are written and before the commit; when it throws, the append(s) that brought those events are
 * rejected with its error and nothing of the transaction is kept. `afterCommit` runs once the
 * transaction has committed, before the appends resolve.
 *
 * @example
 * const remove = store.addAppendHook({
 *   beforeCommit: ({ connection, events }) => { ... write read models with `connection` ... },
 *   afterCommit: ({ events }) => announce(events),
 * });
 */
export interface AppendHook {
  beforeCommit(context: AppendHookContext): void | Promise<void>;
  afterCommit?(context: AppendHookContext): void;
}

/** A store that runs hooks in its append transactions (SQLite and PostgreSQL). */
export interface AppendHookHost {
  /** Registers a hook; the returned function removes it. */
  addAppendHook(hook: AppendHook): () => void;
}

/** Whether a store runs append hooks. */
export function isAppendHookHost(store: unknown): store is AppendHookHost {
  return typeof (store as Partial<AppendHookHost> | undefined)?.addAppendHook === 'function';
}
