import { DuplicateEventIdError, WrongExpectedRevisionError } from './errors';
import type { AppendResult, ExpectedRevision } from './event-store';
import type { Position } from './position';

/** Where an event id was found, and what sits at the revisions an earlier identical append would have used. */
export interface PriorEvent {
  readonly streamName: string;
  readonly revision: bigint;
}

export interface StoredSlot {
  readonly id: string;
  readonly position: Position;
}

/**
 * The one rule for a repeated append, shared by the backends that check in process.
 *
 * When the first event's id is already stored, the append is a retry only if the stored events at the
 * following revisions carry exactly the same ids, and the expected revision is one the original append
 * could have been given. A retry returns the original result and writes nothing; anything else is an error.
 */
export function resolveRepeatedAppend(
  streamName: string,
  ids: readonly string[],
  expected: ExpectedRevision,
  prior: PriorEvent,
  slots: readonly StoredSlot[],
  currentRevision: bigint,
): AppendResult {
  if (prior.streamName !== streamName) {
    throw new DuplicateEventIdError(ids[0]!, `stream "${prior.streamName}" holds it at revision ${prior.revision}`);
  }
  const sameEvents = slots.length === ids.length && slots.every((slot, i) => slot.id === ids[i]);
  if (!sameEvents) {
    throw new DuplicateEventIdError(
      ids[0]!,
      `stream "${streamName}" holds it at revision ${prior.revision}, but this append does not repeat that earlier append exactly`,
    );
  }
  const consistent =
    expected === 'any' ||
    expected === 'stream_exists' ||
    (expected === 'no_stream' && prior.revision === 0n) ||
    (typeof expected === 'bigint' && expected === prior.revision - 1n);
  if (!consistent) throw new WrongExpectedRevisionError(streamName, expected, currentRevision);
  return { revision: prior.revision + BigInt(ids.length) - 1n, position: slots[slots.length - 1]!.position };
}

/** Throws unless a stream at `currentRevision` (-1n: absent) satisfies `expected`. */
export function checkExpectedRevision(streamName: string, expected: ExpectedRevision, currentRevision: bigint): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && currentRevision === -1n) ||
    (expected === 'stream_exists' && currentRevision >= 0n) ||
    expected === currentRevision;
  if (!ok) throw new WrongExpectedRevisionError(streamName, expected, currentRevision);
}
