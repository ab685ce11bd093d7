import type Database from 'better-sqlite3';
import type { AppendHookContext } from '../../event-store/append-hook';

/** A SQLite append transaction: `connection` is inside it (`BEGIN IMMEDIATE` holds the write lock). */
export interface SqliteAppendHookContext extends AppendHookContext {
  readonly backend: 'sqlite';
  readonly connection: Database.Database;
  /** One writer holds the file's lock, so every earlier append has committed. */
  readonly ordered: true;
}

/** Whether an append hook runs inside a SQLite append transaction. */
export function isSqliteAppendContext(context: AppendHookContext): context is SqliteAppendHookContext {
  return context.backend === 'sqlite';
}
