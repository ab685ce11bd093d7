import { EventfoldError } from '../internal/eventfold-error';
import type { ExpectedRevision } from './event-store';

/** Every failure the event store reports has one of these codes; callers switch on `code`, never on text. */
export type EventStoreErrorCode =
  | 'WRONG_EXPECTED_REVISION'
  | 'INVALID_STREAM_NAME'
  | 'INVALID_EVENT'
  | 'BATCH_TOO_LARGE'
  | 'INVALID_POSITION'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONNECTION_STRING'
  | 'DUPLICATE_EVENT_ID'
  | 'STORE_CLOSED'
  | 'STORE_UNAVAILABLE'
  | 'TAMPERED_STREAM'
  | 'MISSING_PACKAGE'
  | 'ARCHIVE_UNAVAILABLE';

/** Base class of every event-store error. */
export abstract class EventStoreError extends EventfoldError {
  abstract override readonly code: EventStoreErrorCode;
}

/**
 * The stream was not at the revision the append expected. Nothing was written.
 *
 * @example
 * try { await store.appendToStream('order-1', events, { expectedRevision: 3n }); }
 * catch (e) { if (e instanceof WrongExpectedRevisionError) console.log(e.actual); }
 */
export class WrongExpectedRevisionError extends EventStoreError {
  readonly code = 'WRONG_EXPECTED_REVISION' as const;
  readonly category = 'conflict' as const;

  constructor(
    readonly streamName: string,
    readonly expected: ExpectedRevision,
    /** The stream's revision when the append was tried; -1n when the stream did not exist. */
    readonly actual: bigint,
  ) {
    super(
      `append to stream "${streamName}" expected revision ${String(expected)} but the stream is at ${
        actual === -1n ? 'no_stream (-1)' : actual.toString()
      }`,
    );
  }
}

export class InvalidStreamNameError extends EventStoreError {
  readonly code = 'INVALID_STREAM_NAME' as const;
  readonly category = 'validation' as const;
}

/** An event to append was malformed: bad id, type, or a payload that is not plain JSON. */
export class InvalidEventError extends EventStoreError {
  readonly code = 'INVALID_EVENT' as const;
  readonly category = 'validation' as const;

  constructor(
    readonly index: number,
    readonly field: string,
    reason: string,
  ) {
    super(`event #${index}: ${field} ${reason}`);
  }
}

export class BatchTooLargeError extends EventStoreError {
  readonly code = 'BATCH_TOO_LARGE' as const;
  readonly category = 'validation' as const;
}

export class InvalidPositionError extends EventStoreError {
  readonly code = 'INVALID_POSITION' as const;
  readonly category = 'validation' as const;
}

/** An option passed to a read, subscription or constructor is out of its range. */
export class InvalidArgumentError extends EventStoreError {
  readonly code = 'INVALID_ARGUMENT' as const;
  readonly category = 'validation' as const;
}

export class InvalidConnectionStringError extends EventStoreError {
  readonly code = 'INVALID_CONNECTION_STRING' as const;
  readonly category = 'internal' as const;
}

/** An event id is already used by a different event (another stream, or another place in this one). */
export class DuplicateEventIdError extends EventStoreError {
  readonly code = 'DUPLICATE_EVENT_ID' as const;
  readonly category = 'already-exists' as const;

  constructor(
    readonly eventId: string,
    detail: string,
  ) {
    super(`event id ${eventId} is already used: ${detail}`);
  }
}

export class StoreClosedError extends EventStoreError {
  readonly code = 'STORE_CLOSED' as const;
  readonly category = 'unavailable' as const;

  constructor() {
    super('the event store is closed');
  }
}

/** The backing database could not be reached or failed; the operation may be retried. */
export class StoreUnavailableError extends EventStoreError {
  readonly code = 'STORE_UNAVAILABLE' as const;
  readonly category = 'unavailable' as const;
}

/**
 * A backend or entry point needs an optional package that is not installed; the message names it.
 *
 * @example
 * catch (error) { if (error instanceof MissingPackageError) console.error(`npm install ${error.packageName}`); }
 */
export class MissingPackageError extends EventStoreError {
  readonly code = 'MISSING_PACKAGE' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly packageName: string,
    readonly neededBy: string,
    options?: { cause?: unknown },
  ) {
    super(`${neededBy} needs the package "${packageName}", which is not installed: run \`npm install ${packageName}\``, options);
  }
}

/**
 * A read found a stored event that does not match the hash chain: it was changed, removed, moved or
 * written around the kit. Nothing after it in the read is delivered. `verifyStore` lists every such break.
 *
 * @example
 * catch (e) { if (e instanceof TamperedStreamError) alert(`${e.streamName}@${e.revision}: ${e.message}`); }
 */
export class TamperedStreamError extends EventStoreError {
  readonly code = 'TAMPERED_STREAM' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly streamName: string,
    /** The revision where the chain breaks. */
    readonly revision: bigint,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An archived event could not be read back: its archive is not where the archives are kept, or its
 * content there does not match the hash the store kept for it (the archive was changed).
 *
 * @example
 * catch (e) { if (e instanceof ArchiveUnavailableError) console.error(e.archive, e.message); }
 */
export class ArchiveUnavailableError extends EventStoreError {
  readonly code = 'ARCHIVE_UNAVAILABLE' as const;
  readonly category = 'unavailable' as const;

  constructor(
    /** The archive's name as its lifecycle record gives it. */
    readonly archive: string,
    message: string,
  ) {
    super(message);
  }
}
