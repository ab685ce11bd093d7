/**
 * What kind of failure an error is, independent of which layer raised it. A caller (the GraphQL error
 * formatter, an HTTP function, a retry loop) decides on the category; `code` stays the precise name.
 *
 * - `validation`: the input is wrong; sending it again unchanged fails again.
 * - `conflict`: someone else changed the same thing first; read again and retry.
 * - `already-exists` / `not-found`: the target's existence is not what the request assumed.
 * - `rule`: a business rule refused the command (`BusinessRuleError`).
 * - `timeout`: a wait ran out of time; the work may still finish.
 * - `unavailable`: a backing store or engine cannot serve now; retrying later may work.
 * - `internal`: a bug or a misconfiguration; the caller cannot fix it.
 */
export type ErrorCategory =
  | 'validation'
  | 'conflict'
  | 'already-exists'
  | 'not-found'
  | 'rule'
  | 'timeout'
  | 'unavailable'
  | 'internal';

/** Every {@link ErrorCategory}, for tests and exhaustive tables. */
export const ERROR_CATEGORIES: readonly ErrorCategory[] = [
  'validation',
  'conflict',
  'already-exists',
  'not-found',
  'rule',
  'timeout',
  'unavailable',
  'internal',
];

/**
 * The one base of every error the kit throws (the API's GraphQL errors aside, which extend
 * `GraphQLError`). Each layer has a family base below it (`DomainError`, `EventStoreError`,
 * `CommandError`, `ProjectionError`, `ReactorError`) that narrows `code`; each concrete error declares
 * its `code` and its `category`. Nothing matches on message text.
 *
 * @example
 * catch (error) { if (error instanceof EventfoldError && error.category === 'unavailable') return retryLater(); }
 */
export abstract class EventfoldError extends Error {
  abstract readonly code: string;
  abstract readonly category: ErrorCategory;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The category of `error` when it is one of the kit's errors. Errors from a second copy of the kit (two
 * installs in one process fail `instanceof`) are recognised by shape.
 *
 * @example
 * errorCategory(new StoreUnavailableError('down')); // 'unavailable'
 */
export function errorCategory(error: unknown): ErrorCategory | undefined {
  if (error instanceof EventfoldError) return error.category;
  if (!(error instanceof Error)) return undefined;
  const category = (error as { category?: unknown }).category;
  return (ERROR_CATEGORIES as readonly unknown[]).includes(category) ? (category as ErrorCategory) : undefined;
}

/**
 * Anything thrown, as an `Error` (user code may throw other values). Error-like objects are kept as
 * they are: errors from native modules may come from another realm and fail `instanceof Error`.
 *
 * @example
 * toError('boom').message; // 'boom'
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
    return value as Error;
  }
  return new Error(String(value));
}
