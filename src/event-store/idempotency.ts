import { DuplicateEventIdError, WrongExpectedRevisionError } from './errors';
import type { AppendResult, EventMetadata, ExpectedRevision, JsonValue } from './event-store';
import type { Position } from './position';
import type { PreparedEvent } from './validation';

/**
 * The metadata key of an append's first event under which a caller may store a fingerprint of what it
 * asked for (`handleCommand` stores the command's hash there). A repeated append must carry the same one.
 */
export const APPEND_FINGERPRINT_KEY = 'commandHash';

/** Where an event id was found, and what sits at the revisions an earlier identical append would have used. */
export interface PriorEvent {
  readonly streamName: string;
  readonly revision: bigint;
}

/** A stored event at a revision an earlier identical append would have used: enough to tell whether it is the same decision. */
export interface StoredSlot {
  readonly id: string;
  readonly position: Position;
  readonly type: string;
  readonly data: JsonValue;
  readonly metadata: EventMetadata;
}

/**
 * The one rule for a repeated append, shared by the backends that check in process.
 *
 * When the first event's id is already stored, the append is a retry only if the stored events at the
 * following revisions are the same decision ({@link repeatsStoredEvents}), and the expected revision is one
 * the original append could have been given. A retry returns the original result and writes nothing;
 * anything else is an error — never a second acknowledgement of events that were not stored.
 */
export function resolveRepeatedAppend(
  streamName: string,
  events: readonly PreparedEvent[],
  expected: ExpectedRevision,
  prior: PriorEvent,
  slots: readonly StoredSlot[],
  currentRevision: bigint,
): AppendResult {
  const firstId = events[0]!.id;
  if (prior.streamName !== streamName) {
    throw new DuplicateEventIdError(firstId, `stream "${prior.streamName}" holds it at revision ${prior.revision}`);
  }
  if (!repeatsStoredEvents(events, slots)) {
    throw new DuplicateEventIdError(
      firstId,
      `stream "${streamName}" holds it at revision ${prior.revision}, but this append does not repeat that earlier append exactly`,
    );
  }
  const consistent =
    expected === 'any' ||
    expected === 'stream_exists' ||
    (expected === 'no_stream' && prior.revision === 0n) ||
    (typeof expected === 'bigint' && expected === prior.revision - 1n);
  if (!consistent) throw new WrongExpectedRevisionError(streamName, expected, currentRevision);
  return { revision: prior.revision + BigInt(events.length) - 1n, position: slots[slots.length - 1]!.position };
}

/**
 * Whether stored events are the very decision this append carries: the same ids in order, the same
 * types and data, and the same fingerprint on the first event (absent on both counts as the same). Ids
 * alone are not enough: two racing commands that reuse an id but decided differently derive the same
 * ids, and only one of their decisions is stored. Metadata other than the fingerprint (time, trace)
 * may differ between a call and its retry. Linear in the size of the events.
 */
export function repeatsStoredEvents(
  events: readonly PreparedEvent[],
  stored: readonly Pick<StoredSlot, 'id' | 'type' | 'data' | 'metadata'>[],
): boolean {
  if (stored.length !== events.length) return false;
  return events.every((event, index) => {
    const slot = stored[index]!;
    if (slot.id !== event.id || slot.type !== event.type) return false;
    if (!sameJson(slot.data, JSON.parse(event.data) as JsonValue)) return false;
    if (index > 0) return true;
    const metadata = JSON.parse(event.metadata) as EventMetadata;
    return sameJson(slot.metadata[APPEND_FINGERPRINT_KEY] ?? null, metadata[APPEND_FINGERPRINT_KEY] ?? null);
  });
}

/** Structural equality of two JSON values; object key order does not matter (a store may reorder keys). */
function sameJson(left: JsonValue | undefined, right: JsonValue | undefined): boolean {
  if (left === right) return true;
  if (left === null || right === null || typeof left !== 'object' || typeof right !== 'object') return false;
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    return left.every((item, index) => sameJson(item, right[index]));
  }
  const leftKeys = Object.keys(left);
  if (leftKeys.length !== Object.keys(right).length) return false;
  return leftKeys.every((key) => Object.hasOwn(right, key) && sameJson(left[key], right[key]));
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
