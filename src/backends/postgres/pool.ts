import pg from 'pg';

/**
 * A pool for one of the backend's stores. An idle client's network error must not crash the process
 * (pg re-emits it on the pool, and an unhandled 'error' event throws); the next query reports it.
 *
 * @example
 * const pool = createPool('postgres://user:pw@127.0.0.1:5432/app', 10);
 */
export function createPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', () => undefined);
  return pool;
}

/** Whether the work of {@link withClient} has a transaction open, so that a failure must roll it back. */
export interface ClientSession {
  inTransaction: boolean;
}

/** How a store names the failures of the connection, as opposed to the failures of its work. */
export interface ConnectionFailures {
  /** The error thrown when the pool gives no connection. Default: the pool's own error. */
  readonly cannotConnect?: (error: unknown) => Error;
  /** The error thrown when the connection itself broke during the work. Default: the work's own error. */
  readonly brokenConnection?: (error: unknown) => Error;
}

/**
 * Runs `work` on one pooled connection. A transaction the work left open (`session.inTransaction`) is
 * rolled back when it fails. A connection that emitted 'error', or whose rollback failed, goes back
 * with `release(error)`, which destroys it: a broken connection is never handed to the next caller.
 *
 * @example
 * const count = await withClient(pool, async (client) => (await client.query('SELECT 1')).rowCount);
 */
export async function withClient<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient, session: ClientSession) => Promise<T>,
  failures: ConnectionFailures = {},
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw failures.cannotConnect?.(error) ?? error;
  }
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken ??= error;
  };
  client.on('error', onError);
  const session: ClientSession = { inTransaction: false };
  try {
    return await work(client, session);
  } catch (error) {
    if (session.inTransaction) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      session.inTransaction = false;
      // A connection that cannot even roll back is gone, or in a state nobody else should inherit.
      if (!rolledBack) broken ??= error instanceof Error ? error : new Error(String(error));
    }
    if (broken) throw failures.brokenConnection?.(error) ?? error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Options of {@link withTransaction}. */
export interface TransactionOptions extends ConnectionFailures {
  /**
   * The statement(s) that open the transaction. Default `BEGIN`. More statements may follow in the same
   * round trip (`BEGIN; SELECT pg_advisory_xact_lock(1)`); `work` gets the last one's result.
   */
  readonly begin?: string;
}

/**
 * Runs `work` in a transaction on one pooled connection: BEGIN, the work, COMMIT; ROLLBACK when the
 * work (or the commit) fails. A connection that broke on the way is destroyed, never reused.
 *
 * @example
 * await withTransaction(pool, async (client) => {
 *   await client.query('UPDATE accounts SET balance = balance - 10 WHERE id = $1', [from]);
 *   await client.query('UPDATE accounts SET balance = balance + 10 WHERE id = $1', [to]);
 * });
 */
export function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient, opened: pg.QueryResult) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  return withClient(
    pool,
    async (client, session) => {
      // Set before BEGIN is sent: a BEGIN that fails on a dead connection must be found out by the rollback.
      session.inTransaction = true;
      const opened = (await client.query(options.begin ?? 'BEGIN')) as pg.QueryResult | pg.QueryResult[];
      const result = await work(client, Array.isArray(opened) ? opened[opened.length - 1]! : opened);
      await client.query('COMMIT');
      session.inTransaction = false;
      return result;
    },
    options,
  );
}
