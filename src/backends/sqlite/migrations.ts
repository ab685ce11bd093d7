import type Database from 'better-sqlite3';
import type { Migrations } from '../../internal/migrations';

/** SQLite steps may also be code (a step that computes something for every stored row). */
export interface SqliteMigrations extends Omit<Migrations, 'steps'> {
  readonly steps: readonly (string | ((db: Database.Database) => void))[];
}

/** Applies the steps not applied yet, in one IMMEDIATE transaction (a second opener waits for it). */
export function migrateSqlite(db: Database.Database, { table, steps }: SqliteMigrations): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  db.transaction(() => {
    const applied = (db.prepare(`SELECT MAX(version) AS version FROM ${table}`).get() as { version: number | null }).version ?? 0;
    const record = db.prepare(`INSERT INTO ${table} (version, applied_at) VALUES (?, ?)`);
    for (let version = applied + 1; version <= steps.length; version++) {
      const step = steps[version - 1]!;
      if (typeof step === 'string') db.exec(step);
      else step(db);
      record.run(version, Date.now());
    }
  }).immediate();
}

