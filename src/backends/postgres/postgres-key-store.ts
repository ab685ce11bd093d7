import type pg from 'pg';
import { randomBytes, randomUUID } from 'node:crypto';
import type { KeyStore, SubjectKey } from '../../personal-data/key-store';
import { checkSubjectId } from '../../personal-data/subject';
import { migratePostgres } from './migrations';
import { storeUnavailable } from './store-unavailable';

/**
 * How `destroy` removes a deleted key's bytes from the table's files.
 * - `vacuum-full` (default): `VACUUM FULL` rewrites the key table into new files and drops the old
 *   ones, so the key's bytes are in no table file once PostgreSQL's next checkpoint unlinks them. It
 *   locks the key table (reads and appends of personal data wait) for as long as the rewrite takes.
 * - `vacuum`: a plain `VACUUM` removes the dead row and marks its space free without a lock, but the
 *   bytes stay on the page until a later row overwrites them.
 */
export type KeyErasure = 'vacuum-full' | 'vacuum';

export interface PostgresKeyStoreOptions {
  readonly erasure?: KeyErasure;
}

interface KeyRow {
  key_id: string;
  key: Buffer;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE eventfold_subject_keys (
     key_id text PRIMARY KEY,
     subject_id text NOT NULL UNIQUE,
     key bytea NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
];

/**
 * The subjects' keys in a table of the event store's PostgreSQL database (`PostgresEventStore.pool`).
 * What stays after `destroy`: the key's bytes in WAL segments until PostgreSQL recycles them, and in
 * base backups, WAL archives and replicas you keep; see the README's section for auditors.
 *
 * @example
 * const events = await PostgresEventStore.connect(url);
 * const store = protectPersonalData(events, { events: [orderEvents], keys: await PostgresKeyStore.create(events.pool) });
 */
export class PostgresKeyStore implements KeyStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly erasure: KeyErasure,
  ) {}

  /** Creates the key table when missing (processes starting together create it once). */
  static async create(pool: pg.Pool, options: PostgresKeyStoreOptions = {}): Promise<PostgresKeyStore> {
    try {
      await migratePostgres(pool, { table: 'eventfold_key_schema', steps: MIGRATIONS });
    } catch (error) {
      throw storeUnavailable('cannot prepare the PostgreSQL key store', error);
    }
    return new PostgresKeyStore(pool, options.erasure ?? 'vacuum-full');
  }

  async keyFor(subjectId: string): Promise<SubjectKey> {
    checkSubjectId(subjectId, 'keyFor');
    // Select, else insert, else select again: a racing writer's key (committed after our first
    // statement's snapshot) is the one to use, and a fresh statement sees it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.pool.query<KeyRow>('SELECT key_id, key FROM eventfold_subject_keys WHERE subject_id = $1', [subjectId]);
      if (existing.rows[0]) return { keyId: existing.rows[0].key_id, key: existing.rows[0].key };
      const inserted = await this.pool.query<KeyRow>(
        'INSERT INTO eventfold_subject_keys (key_id, subject_id, key) VALUES ($1, $2, $3) ON CONFLICT (subject_id) DO NOTHING RETURNING key_id, key',
        [randomUUID(), subjectId, randomBytes(32)],
      );
      if (inserted.rows[0]) return { keyId: inserted.rows[0].key_id, key: inserted.rows[0].key };
    }
    throw storeUnavailable(`cannot create or read the key of subject ${JSON.stringify(subjectId)}`, undefined);
  }

  async findKeys(keyIds: readonly string[]): Promise<ReadonlyMap<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    if (keyIds.length === 0) return found;
    const result = await this.pool.query<KeyRow>('SELECT key_id, key FROM eventfold_subject_keys WHERE key_id = ANY($1::text[])', [[...keyIds]]);
    for (const row of result.rows) found.set(row.key_id, row.key);
    return found;
  }

  async destroy(subjectId: string): Promise<number> {
    checkSubjectId(subjectId, 'destroy');
    const { rowCount } = await this.pool.query('DELETE FROM eventfold_subject_keys WHERE subject_id = $1', [subjectId]);
    // VACUUM cannot run in a transaction block; a pool query runs on its own.
    await this.pool.query(this.erasure === 'vacuum-full' ? 'VACUUM FULL eventfold_subject_keys' : 'VACUUM eventfold_subject_keys');
    return rowCount ?? 0;
  }
}
