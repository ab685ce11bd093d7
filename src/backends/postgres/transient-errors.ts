import { addTransientErrorClassifier } from '../../projections/transient-error';

/** PostgreSQL SQLSTATE classes and codes that mean the database, not the data, is the problem. */
const PG_TRANSIENT_CLASSES = new Set(['08', '53', '57', '58']);
const PG_TRANSIENT_CODES = new Set(['40001', '40P01', '55P03']);

/** Whether a pg error's SQLSTATE means "try again later" (connection, resources, shutdown, deadlock). */
export function isPostgresTransient(error: object): boolean {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && (PG_TRANSIENT_CODES.has(code) || PG_TRANSIENT_CLASSES.has(code.slice(0, 2)));
}

addTransientErrorClassifier(isPostgresTransient);
