import type Database from 'better-sqlite3';
import type pg from 'pg';

/**
 * Versioned schema steps, shared by every module that keeps tables in the store's database (events,
 * reactor bookkeeping, …). Step N runs once, in the transaction that records version N in `table`.
 */
export interface Migrations {
  /** The table that records applied versions, one per module (e.g. `eventfold_schema`). */
  readonly table: string;
  readonly steps: readonly string[];
}

/** Applies the steps not applied yet, in one IMMEDIATE transaction (a second opener waits for it). */
export function migrateSqlite(db: Database.Database, { table, steps }: Migrations): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  db.transaction(() => {
    const applied = (db.prepare(`SELECT MAX(version) AS version FROM ${table}`).get() as { version: number | null }).version ?? 0;
    const record = db.prepare(`INSERT INTO ${table} (version, applied_at) VALUES (?, ?)`);
    for (let version = applied + 1; version <= steps.length; version++) {
      db.exec(steps[version - 1]!);
      record.run(version, Date.now());
    }
  }).immediate();
}

/**
 * Applies the steps not applied yet, in one transaction under a transaction-scoped advisory lock on
 * `table`'s name, so that processes starting together migrate once.
 */
export async function migratePostgres(pool: pg.Pool, { table, steps }: Migrations): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [table]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = (await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${table}`)).rows[0]?.version ?? 0;
    for (let version = applied + 1; version <= steps.length; version++) {
      await client.query(steps[version - 1]!);
      await client.query(`INSERT INTO ${table} (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
