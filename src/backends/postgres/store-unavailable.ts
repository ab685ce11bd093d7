import { StoreUnavailableError } from '../../event-store/errors';

/** The event store's "the database failed" error, with the driver's reason in the message and as cause. */
export function storeUnavailable(what: string, error: unknown): StoreUnavailableError {
  const reason = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  return new StoreUnavailableError(`PostgreSQL event store: ${what}${reason ? `: ${reason}` : ''}`, { cause: error });
}
