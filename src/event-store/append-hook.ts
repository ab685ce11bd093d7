import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { RecordedEvent } from './event-store';
import type { Position } from './position';

interface AppendHookContextBase {
  /** The events this transaction appends (of every append in a group commit), in position order. */
  readonly events: readonly RecordedEvent[];
  /** The last position in the store before these events; undefined when the store was empty. */
  readonly previousHead: Position | undefined;
  /**
   * Whether an event of one of `eventTypes` lies after `after` (exclusive; undefined: the beginning)
   * and before this transaction's events, as the transaction sees the store.
   */
  hasEventsBefore(after: Position | undefined, eventTypes: readonly string[]): Promise<boolean>;
}

/** A SQLite append transaction: `connection` is inside it (`BEGIN IMMEDIATE` holds the write lock). */
export interface SqliteAppendHookContext extends AppendHookContextBase {
  readonly backend: 'sqlite';
  readonly connection: Database.Database;
}

/**
 * A PostgreSQL append transaction: `connection` is inside it. `ordered` is true when no older
 * transaction that could still write events is running, so that every event before `events` is
 * committed and visible: only then may a hook treat `previousHead` as the complete history before
 * these events.
 */
export interface PostgresAppendHookContext extends AppendHookContextBase {
  readonly backend: 'postgres';
  readonly connection: pg.PoolClient;
  readonly ordered: boolean;
}

/** What an append hook is given: the transaction that appends `events`, before it commits. */
export type AppendHookContext = SqliteAppendHookContext | PostgresAppendHookContext;

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
