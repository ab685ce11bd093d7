import { EventfoldError, toError } from '../internal/eventfold-error';
import type { Position } from '../event-store/position';

/** Every failure the projection engine reports has one of these codes; callers switch on `code`, never on text. */
export type ProjectionErrorCode =
  | 'INVALID_PROJECTION'
  | 'INVALID_IDENTIFIER'
  | 'INVALID_DOCUMENT'
  | 'INVALID_QUERY'
  | 'DOCUMENT_NOT_FOUND'
  | 'UNKNOWN_PROJECTION'
  | 'PROJECTION_FAILED'
  | 'PROJECTION_VERSION_CONFLICT'
  | 'CHECKPOINT_CONFLICT'
  | 'WAIT_TIMEOUT'
  | 'REBUILD_TIMEOUT'
  | 'STATE_TIMEOUT'
  | 'READ_MODEL_UNAVAILABLE'
  | 'ENGINE_STOPPED'
  | 'INLINE_PROJECTION_FAILED';

export { toError };

/** Base class of every projection error. */
export abstract class ProjectionError extends EventfoldError {
  abstract override readonly code: ProjectionErrorCode;
}

/** A projection definition is malformed (name, version, event types, collections, tables). */
export class InvalidProjectionError extends ProjectionError {
  readonly code = 'INVALID_PROJECTION' as const;
  readonly category = 'internal' as const;
}

/** A table, column, collection or index name is not a safe SQL identifier. */
export class InvalidIdentifierError extends ProjectionError {
  readonly code = 'INVALID_IDENTIFIER' as const;
  readonly category = 'validation' as const;
}

/** A document is not plain JSON, or an indexed field holds a value of the wrong type. */
export class InvalidDocumentError extends ProjectionError {
  readonly code = 'INVALID_DOCUMENT' as const;
  readonly category = 'internal' as const;
}

/** A query names a field that is not indexed, or has an option out of range. */
export class InvalidQueryError extends ProjectionError {
  readonly code = 'INVALID_QUERY' as const;
  readonly category = 'validation' as const;
}

/**
 * `patch` found no document under the key. Patching a document that was never created is a bug in the
 * projection (or a missing event type), so it stops the projection instead of being skipped.
 */
export class DocumentNotFoundError extends ProjectionError {
  readonly code = 'DOCUMENT_NOT_FOUND' as const;
  readonly category = 'not-found' as const;

  constructor(
    readonly collection: string,
    readonly key: string,
  ) {
    super(`no document "${key}" in collection "${collection}" to patch`);
  }
}

export class UnknownProjectionError extends ProjectionError {
  readonly code = 'UNKNOWN_PROJECTION' as const;
  readonly category = 'validation' as const;

  constructor(readonly projection: string) {
    super(`no projection named "${projection}" is registered with this engine`);
  }
}

/**
 * The projection is stopped on a poison event (or cannot run); waiting for it would never succeed.
 *
 * @example
 * try { await engine.waitForPosition('order-summary', position, { timeoutMs: 2_000 }); }
 * catch (e) { if (e instanceof ProjectionFailedError) console.log(e.projection, e.cause); }
 */
export class ProjectionFailedError extends ProjectionError {
  readonly code = 'PROJECTION_FAILED' as const;
  readonly category = 'unavailable' as const;

  constructor(
    readonly projection: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`projection "${projection}" has failed: ${message}`, options);
  }
}

/** The read model is already at a newer version than this code defines (an old deployment still running). */
export class ProjectionVersionConflictError extends ProjectionError {
  readonly code = 'PROJECTION_VERSION_CONFLICT' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly projection: string,
    readonly definedVersion: number,
    readonly activeVersion: number,
  ) {
    super(
      `projection "${projection}" is defined at version ${definedVersion} but the read model is already at version ${activeVersion}; refusing to run older code against it`,
    );
  }
}

/** Another runner moved the checkpoint first; this batch was rolled back and will be read again. */
export class CheckpointConflictError extends ProjectionError {
  readonly code = 'CHECKPOINT_CONFLICT' as const;
  readonly category = 'conflict' as const;
}

/**
 * `waitForPosition` ran out of time before the projection processed the position.
 *
 * @example
 * catch (e) { if (e instanceof WaitForPositionTimeoutError) return { stale: true }; }
 */
export class WaitForPositionTimeoutError extends ProjectionError {
  readonly code = 'WAIT_TIMEOUT' as const;
  readonly category = 'timeout' as const;

  constructor(
    readonly projection: string,
    readonly position: Position,
    readonly timeoutMs: number,
    /** How far the projection had got when the time ran out. */
    readonly reached: Position | undefined,
  ) {
    super(
      `projection "${projection}" did not reach position ${position.toString()} within ${timeoutMs} ms (it is at ${reached?.toString() ?? 'the start'})`,
    );
  }
}

/** `waitForState` / `waitForStatus` ran out of time before the projection got there. */
export class WaitForStateTimeoutError extends ProjectionError {
  readonly code = 'STATE_TIMEOUT' as const;
  readonly category = 'timeout' as const;

  constructor(
    readonly projection: string,
    readonly expected: string,
    readonly timeoutMs: number,
    readonly state: string,
  ) {
    super(`projection "${projection}" did not reach ${expected} within ${timeoutMs} ms (it is ${state})`);
  }
}

/** `whenRebuilt` ran out of time before the rebuild switched over. */
export class RebuildTimeoutError extends ProjectionError {
  readonly code = 'REBUILD_TIMEOUT' as const;
  readonly category = 'timeout' as const;

  constructor(
    readonly projection: string,
    readonly timeoutMs: number,
  ) {
    super(`the rebuild of projection "${projection}" did not finish within ${timeoutMs} ms`);
  }
}

/** The read-model database could not be reached or failed transiently; the engine retries by itself. */
export class ReadModelUnavailableError extends ProjectionError {
  readonly code = 'READ_MODEL_UNAVAILABLE' as const;
  readonly category = 'unavailable' as const;
}

export class EngineStoppedError extends ProjectionError {
  readonly code = 'ENGINE_STOPPED' as const;
  readonly category = 'unavailable' as const;

  constructor() {
    super('the projection engine is stopped');
  }
}

/**
 * An inline projection could not take the events of an append (its handler threw, or its write
 * failed): the append is rejected and nothing of it was written, neither events nor read model.
 *
 * @example
 * catch (e) { if (e instanceof InlineProjectionFailedError) console.log(e.projection, e.cause); }
 */
export class InlineProjectionFailedError extends ProjectionError {
  readonly code = 'INLINE_PROJECTION_FAILED' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly projection: string,
    cause: unknown,
  ) {
    super(`inline projection "${projection}" refused the append: ${toError(cause).message}`, { cause });
  }
}
