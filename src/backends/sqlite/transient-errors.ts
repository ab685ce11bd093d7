import { addTransientErrorClassifier } from '../../projections/transient-error';

/** SQLite result codes (the primary part) that mean "try again later", not "this batch is wrong". */
const SQLITE_TRANSIENT = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
  'SQLITE_NOMEM',
  'SQLITE_INTERRUPT',
]);

/** Whether a better-sqlite3 error is SQLite's "try again later" (an extended code counts by its primary part). */
export function isSqliteTransient(error: object): boolean {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && code.startsWith('SQLITE_') && SQLITE_TRANSIENT.has(code.split('_').slice(0, 2).join('_'));
}

addTransientErrorClassifier(isSqliteTransient);
