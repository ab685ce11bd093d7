import type { Aggregate } from '../domain/aggregate';
import { ValidationError } from '../domain/errors';
import type { Message } from '../domain/message';
import type { EventStoreReader, RecordedEvent } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { decodeRecorded } from './stream-loader';

/** A point in a stream's past: right after a revision, or as of a moment. */
export type PointInTime = { readonly revision: bigint } | { readonly time: Date };

/**
 * An aggregate's state as it was, and which event it was folded up to.
 *
 * @example
 * const { state, revision } = await loadAt(store, cart, 'cart-1', { revision: 3n });
 */
export interface HistoricState<State> {
  readonly state: State;
  /** The last folded event's revision; -1n when no event was folded (the stream did not exist yet). */
  readonly revision: bigint;
  readonly position: Position | undefined;
  /** When the last folded event happened (see {@link eventTime}). */
  readonly time: Date | undefined;
}

/**
 * When an event happened: the `metadata.time` the command layer stamped from its injected clock, or —
 * for events written without one — when the store recorded it.
 *
 * @example
 * eventTime(recorded).toISOString();
 */
export function eventTime(event: Pick<RecordedEvent, 'metadata' | 'recordedAt'>): Date {
  const stamped = event.metadata.time;
  if (typeof stamped === 'string') {
    const time = new Date(stamped);
    if (!Number.isNaN(time.getTime())) return time;
  }
  return event.recordedAt;
}

/**
 * Time travel for audits: folds a stream from its start up to a revision (inclusive), or up to the last
 * event that happened at or before a time. Asking past the end gives the current state and its real
 * revision. Never uses snapshots: they only know the present. Sees what lifecycle metadata or a soft
 * delete hides from reads: history stays auditable.
 *
 * @example
 * const before = await loadAt(store, cart, 'cart-1', { time: new Date('2026-01-01T00:00:00Z') });
 * if (before.state.status === 'open') console.log(Object.keys(before.state.lines));
 * @throws MalformedStreamNameError, ValidationError for a bad stream name or point in time.
 */
export async function loadAt<Command extends Message, Event extends Message, State>(
  store: EventStoreReader,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  at: PointInTime,
): Promise<HistoricState<State>> {
  aggregate.parseStreamName(streamName);
  const limit = checkPointInTime(at);
  let state = aggregate.initialState();
  let last: RecordedEvent | undefined;
  if ('revision' in at) {
    if (at.revision < 0n) return { state, revision: -1n, position: undefined, time: undefined };
    for await (const recorded of store.readStream(streamName, { maxCount: Number(at.revision + 1n), includeHidden: true })) {
      state = aggregate.evolve(state, decodeRecorded(aggregate.events, recorded));
      last = recorded;
    }
  } else {
    for await (const recorded of store.readStream(streamName, { includeHidden: true })) {
      // Stop at the first later event, so the result is always a prefix of the stream, even when clocks
      // of different writers disagree.
      if (eventTime(recorded).getTime() > limit) break;
      state = aggregate.evolve(state, decodeRecorded(aggregate.events, recorded));
      last = recorded;
    }
  }
  return { state, revision: last?.revision ?? -1n, position: last?.position, time: last ? eventTime(last) : undefined };
}

function checkPointInTime(at: PointInTime): number {
  if (at !== null && typeof at === 'object') {
    if ('revision' in at && typeof at.revision === 'bigint' && at.revision >= -1n) return Number.POSITIVE_INFINITY;
    if ('time' in at && at.time instanceof Date && !Number.isNaN(at.time.getTime())) return at.time.getTime();
  }
  throw new ValidationError('point in time', [{ path: '', message: 'expected { revision: bigint >= -1n } or { time: a valid Date }' }]);
}
