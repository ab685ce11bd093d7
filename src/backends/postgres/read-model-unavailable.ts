import { ReadModelUnavailableError, toError } from '../../projections/errors';
import type { ConnectionFailures } from './pool';

/** The read-model store's "the database failed" error, with the driver's reason in the message and as cause. */
export function readModelUnavailable(message: string, cause: unknown): ReadModelUnavailableError {
  return new ReadModelUnavailableError(`${message}: ${toError(cause).message}`, { cause });
}

/**
 * How the read-model store names connection failures: as the database being unavailable, so that the
 * engine retries instead of blaming the batch. `during` names the work that was cut off.
 */
export function readModelConnectionFailures(during: string): ConnectionFailures {
  return {
    cannotConnect: (error) => readModelUnavailable('cannot connect to the read-model database', error),
    brokenConnection: (error) => readModelUnavailable(`the read-model database connection failed mid-${during}`, error),
  };
}
