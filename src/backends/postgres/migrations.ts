import type pg from 'pg';
import type { Migrations } from '../../internal/migrations';
import { withTransaction } from './pool';

/**
 * Applies the steps not applied yet, in one transaction under a transaction-scoped advisory lock on
 * `table`'s name, so that processes starting together migrate once.
 */
export function migratePostgres(pool: pg.Pool, { table, steps }: Migrations): Promise<void> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [table]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = (await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${table}`)).rows[0]?.version ?? 0;
    for (let version = applied + 1; version <= steps.length; version++) {
      await client.query(steps[version - 1]!);
      await client.query(`INSERT INTO ${table} (version) VALUES ($1)`, [version]);
    }
  });
}
