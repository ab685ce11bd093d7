import type pg from 'pg';
import type { AppendHookContext } from '../../event-store/append-hook';

/**
 * A PostgreSQL append transaction: `connection` is inside it. `ordered` is true when no older
 * transaction that could still write events is running.
 */
export interface PostgresAppendHookContext extends AppendHookContext {
  readonly backend: 'postgres';
  readonly connection: pg.PoolClient;
}

/** Whether an append hook runs inside a PostgreSQL append transaction. */
export function isPostgresAppendContext(context: AppendHookContext): context is PostgresAppendHookContext {
  return context.backend === 'postgres';
}
