import { EventfoldError } from '../internal/eventfold-error';

/** Every failure of the personal-data layer has one of these codes. */
export type PersonalDataErrorCode = 'INVALID_SUBJECT' | 'PERSONAL_DATA_UNREADABLE' | 'ERASURE_INCOMPLETE';

/** Base class of the personal-data layer's errors. */
export abstract class PersonalDataError extends EventfoldError {
  abstract override readonly code: PersonalDataErrorCode;
}

/**
 * A subject id that is not a non-empty string of at most 200 characters without control characters,
 * from `forgetSubject` or a catalog's subject function. Nothing was written.
 *
 * @example
 * catch (error) { if (error instanceof InvalidSubjectError) console.log(error.message); }
 */
export class InvalidSubjectError extends PersonalDataError {
  readonly code = 'INVALID_SUBJECT' as const;
  readonly category = 'validation' as const;
}

/**
 * A sealed value whose key exists but does not open it: the stored ciphertext, its event id or type, or
 * the key were changed outside the kit. `verify` names the changed event; this error names the value.
 *
 * @example
 * catch (error) { if (error instanceof PersonalDataUnreadableError) console.log(error.eventId); }
 */
export class PersonalDataUnreadableError extends PersonalDataError {
  readonly code = 'PERSONAL_DATA_UNREADABLE' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly eventId: string,
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(`personal field ${field} of event ${eventId} does not decrypt with its key: it was changed outside the kit`, options);
  }
}

/**
 * The keys or rows were deleted, but the database could not yet overwrite every old copy of their bytes
 * (SQLite: another connection kept the WAL in use). Nothing is readable through the kit; call again
 * (`forgetSubject` is safe to repeat) to finish the erasure.
 *
 * @example
 * catch (error) { if (error instanceof ErasureIncompleteError) await retryLater(() => store.forgetSubject(id)); }
 */
export class ErasureIncompleteError extends PersonalDataError {
  readonly code = 'ERASURE_INCOMPLETE' as const;
  readonly category = 'unavailable' as const;
}
