import { CheckpointConflictError, ReadModelUnavailableError } from './errors';

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

/** PostgreSQL SQLSTATE classes and codes that mean the database, not the data, is the problem. */
const PG_TRANSIENT_CLASSES = ['08', '53', '57', '58'];
const PG_TRANSIENT_CODES = new Set(['40001', '40P01', '55P03']);

/** Socket-level failures from Node (a database that went away). */
const NODE_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether a failure is the database's (unreachable, busy, out of space, a lost connection) rather than
 * the batch's. Such a batch is retried as it is, with backoff; anything else is the batch's fault and
 * stops the projection on the event that caused it. Decided on error classes and codes, never on text.
 */
export function isTransientError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof ReadModelUnavailableError || current instanceof CheckpointConflictError) return true;
    if (typeof current !== 'object') return false;
    const { code } = current as { code?: unknown };
    if (code === 'STORE_UNAVAILABLE') return true;
    if (typeof code === 'string') {
      if (code.startsWith('SQLITE_') && SQLITE_TRANSIENT.has(code.split('_').slice(0, 2).join('_'))) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && (PG_TRANSIENT_CODES.has(code) || PG_TRANSIENT_CLASSES.includes(code.slice(0, 2)))) {
        return true;
      }
      if (NODE_TRANSIENT.has(code)) return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
