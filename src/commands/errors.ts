import { EventfoldError } from '../internal/eventfold-error';
import type { StreamExpectation } from '../domain/command-catalog';

/** Every failure of running a command (beyond the domain's own) has one of these codes. */
export type CommandErrorCode = 'ALREADY_EXISTS' | 'NOT_FOUND' | 'CONFLICT' | 'COMMAND_ID_REUSED';

/**
 * Base class of the command layer's errors.
 *
 * @example
 * catch (error) { if (error instanceof CommandError && error.code === 'CONFLICT') return retryLater(); }
 */
export abstract class CommandError extends EventfoldError {
  abstract override readonly code: CommandErrorCode;
}

/**
 * A command declared `stream: 'new'` found its stream already there. Nothing was appended.
 *
 * @example
 * catch (error) { if (error instanceof StreamAlreadyExistsError) console.log(error.revision); }
 */
export class StreamAlreadyExistsError extends CommandError {
  readonly code = 'ALREADY_EXISTS' as const;
  readonly category = 'already-exists' as const;

  constructor(
    readonly streamName: string,
    readonly commandType: string,
    /** The stream's revision when the command ran. */
    readonly revision: bigint,
  ) {
    super(`${commandType} needs a new stream, but ${streamName} already exists (revision ${revision})`);
  }
}

/**
 * A command declared `stream: 'existing'` found no stream. Nothing was appended.
 *
 * @example
 * catch (error) { if (error instanceof StreamNotFoundError) return notFound(error.streamName); }
 */
export class StreamNotFoundError extends CommandError {
  readonly code = 'NOT_FOUND' as const;
  readonly category = 'not-found' as const;

  constructor(
    readonly streamName: string,
    readonly commandType: string,
  ) {
    super(`${commandType} needs an existing stream, but ${streamName} does not exist`);
  }
}

/**
 * Other writers kept changing the stream: every attempt (the first plus the bounded retries) lost the
 * optimistic-concurrency race. Nothing was appended; the caller may try again later.
 *
 * @example
 * catch (error) { if (error instanceof ConcurrencyConflictError) console.log(error.attempts); }
 */
export class ConcurrencyConflictError extends CommandError {
  readonly code = 'CONFLICT' as const;
  readonly category = 'conflict' as const;

  constructor(
    readonly streamName: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`${streamName} changed under the command ${attempts} times in a row; giving up`, { cause });
  }
}

/**
 * A command id already belongs to a different command (another type, payload or stream). Retrying the
 * *same* command is fine and returns its original receipt; reusing its id for something else is not.
 *
 * @example
 * catch (error) { if (error instanceof CommandIdReusedError) return badRequest('use a fresh command id'); }
 */
export class CommandIdReusedError extends CommandError {
  readonly code = 'COMMAND_ID_REUSED' as const;
  readonly category = 'validation' as const;

  constructor(
    readonly commandId: string,
    readonly streamName: string,
    detail: string,
  ) {
    super(`command id ${commandId} was already used for a different command (${detail}); give each command its own id`);
  }
}

/** The expectation check both the handler and its tests rely on. */
export function checkStreamExpectation(
  expectation: StreamExpectation,
  streamName: string,
  commandType: string,
  revision: bigint,
): void {
  if (expectation === 'new' && revision >= 0n) throw new StreamAlreadyExistsError(streamName, commandType, revision);
  if (expectation === 'existing' && revision < 0n) throw new StreamNotFoundError(streamName, commandType);
}
