import type Database from 'better-sqlite3';
import { randomBytes, randomUUID } from 'node:crypto';
import { ErasureIncompleteError } from '../../personal-data/errors';
import type { KeyStore, SubjectKey } from '../../personal-data/key-store';
import { checkSubjectId } from '../../personal-data/subject';
import { enableSecureDelete, truncateWal } from './wal-scrub';

interface KeyRow {
  key_id: string;
  key: Buffer;
}

/** Ids looked up per statement: well under SQLite's bound-parameter limit. */
const LOOKUP_CHUNK = 500;

/**
 * The subjects' keys in a table of the event store's own SQLite file (`SqliteEventStore.database`).
 * `destroy` deletes a subject's key with `secure_delete` on (the row's bytes are zeroed in the page)
 * and truncates the WAL, so no copy of the key stays in the database or its WAL.
 *
 * @example
 * const events = SqliteEventStore.open('./data/events.db');
 * const store = protectPersonalData(events, { events: [orderEvents], keys: new SqliteKeyStore(events.database) });
 */
export class SqliteKeyStore implements KeyStore {
  private readonly insert: Database.Statement<[string, string, Buffer, number]>;
  private readonly current: Database.Statement<[string], KeyRow>;
  private readonly remove: Database.Statement<[string]>;

  constructor(private readonly db: Database.Database) {
    enableSecureDelete(db);
    db.exec(
      `CREATE TABLE IF NOT EXISTS eventfold_subject_keys (
         key_id TEXT PRIMARY KEY,
         subject_id TEXT NOT NULL UNIQUE,
         key BLOB NOT NULL,
         created_at INTEGER NOT NULL
       )`,
    );
    // One key per subject: a second writer racing to create it keeps the first one's.
    this.insert = db.prepare('INSERT INTO eventfold_subject_keys (key_id, subject_id, key, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (subject_id) DO NOTHING');
    this.current = db.prepare('SELECT key_id, key FROM eventfold_subject_keys WHERE subject_id = ?');
    this.remove = db.prepare('DELETE FROM eventfold_subject_keys WHERE subject_id = ?');
  }

  keyFor(subjectId: string): Promise<SubjectKey> {
    return new Promise((resolve) => {
      checkSubjectId(subjectId, 'keyFor');
      let row = this.current.get(subjectId);
      if (!row) {
        this.insert.run(randomUUID(), subjectId, randomBytes(32), Date.now());
        row = this.current.get(subjectId)!;
      }
      resolve({ keyId: row.key_id, key: row.key });
    });
  }

  findKeys(keyIds: readonly string[]): Promise<ReadonlyMap<string, Uint8Array>> {
    return new Promise((resolve) => {
      const found = new Map<string, Uint8Array>();
      for (let start = 0; start < keyIds.length; start += LOOKUP_CHUNK) {
        const chunk = keyIds.slice(start, start + LOOKUP_CHUNK);
        const rows = this.db
          .prepare<string[], KeyRow>(`SELECT key_id, key FROM eventfold_subject_keys WHERE key_id IN (${chunk.map(() => '?').join(', ')})`)
          .all(...chunk);
        for (const row of rows) found.set(row.key_id, row.key);
      }
      resolve(found);
    });
  }

  /** @throws ErasureIncompleteError when the key is deleted but other connections kept the WAL busy: call again. */
  async destroy(subjectId: string): Promise<number> {
    checkSubjectId(subjectId, 'destroy');
    const { changes } = this.remove.run(subjectId);
    if (!(await truncateWal(this.db))) {
      throw new ErasureIncompleteError(`the key of subject ${JSON.stringify(subjectId)} is deleted, but other connections kept the SQLite WAL in use: forget again to finish`);
    }
    return changes;
  }
}
