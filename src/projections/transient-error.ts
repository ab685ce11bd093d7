import { CheckpointConflictError, ReadModelUnavailableError } from './errors';

/** Socket-level failures from Node (a database that went away). */
const NODE_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Tells whether one error (not its causes) is a driver's "try again later". */
export type TransientErrorClassifier = (error: object) => boolean;

/** One per backend, added when the backend module loads: the core knows no driver's error codes. */
const classifiers = new Set<TransientErrorClassifier>();

/**
 * Registers how a backend recognises its driver's transient failures (busy, unreachable, deadlock).
 * Each backend module calls it once when it loads.
 *
 * @example
 * addTransientErrorClassifier((error) => (error as { code?: unknown }).code === 'SQLITE_BUSY');
 */
export function addTransientErrorClassifier(classifier: TransientErrorClassifier): void {
  classifiers.add(classifier);
}

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
    if (typeof code === 'string' && NODE_TRANSIENT.has(code)) return true;
    for (const classifier of classifiers) if (classifier(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
