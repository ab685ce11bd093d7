import type Database from 'better-sqlite3';
import { delay } from '../../internal/delay';

/** How long, and how many times, a scrub waits for other connections to leave the WAL. */
const SCRUB_ATTEMPTS = 50;
const SCRUB_WAIT_MS = 20;
const SCRUB_BUDGET_MS = 5_000;

/**
 * Turns on `secure_delete` for a connection: from then on SQLite overwrites deleted rows (and the old
 * copy of an updated row) with zeros in the page, and zeroes freed pages, instead of leaving the bytes
 * in the file's free space.
 */
export function enableSecureDelete(db: Database.Database): void {
  db.pragma('secure_delete = ON');
}

/**
 * Copies every page from the WAL into the database file and truncates the WAL to zero bytes, so that
 * the older versions of pages the WAL still held (a deleted key, a row before it was blanked) leave the
 * files. Waits, a bounded number of times, for readers of other connections to finish.
 *
 * @returns whether the WAL is empty now.
 */
export async function truncateWal(db: Database.Database): Promise<boolean> {
  const started = Date.now();
  for (let attempt = 0; attempt < SCRUB_ATTEMPTS && Date.now() - started < SCRUB_BUDGET_MS; attempt++) {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    // `busy` 0 means the checkpoint ran to the end and the WAL was truncated; -1 counts mean not in WAL mode.
    if (result && result.busy === 0) return true;
    await delay(SCRUB_WAIT_MS);
  }
  return false;
}
