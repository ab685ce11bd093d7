import type { Aggregate } from '../domain/aggregate';
import type { EventCatalog } from '../domain/event-catalog';
import type { Message } from '../domain/message';
import type { EventStoreReader, FoldEvent, RecordedEvent } from '../event-store/event-store';
import { readStreamForFold } from '../event-store/fold-read';
import type { Position } from '../event-store/position';
import type { SnapshotStore } from './snapshot-store';
import { withCommandIds } from './recent-commands';
import type { StateCache } from './state-cache';

/** The metadata key holding the schema version an event was written with (absent: version 1). */
export const SCHEMA_VERSION_KEY = 'schemaVersion';

/**
 * A stream folded up to `revision`.
 *
 * @example
 * const { state, revision }: LoadedStream<CartState> = await loadStream({ store }, cart, 'cart-1');
 */
export interface LoadedStream<State> {
  readonly state: State;
  /** The last folded event's revision; -1n when the stream does not exist. */
  readonly revision: bigint;
  /** The last folded event's position; undefined when the stream does not exist. */
  readonly position: Position | undefined;
  /** The revision of the newest snapshot known to be stored; -1n when none is. */
  readonly snapshotRevision: bigint;
  /**
   * The fold started from a snapshot or a cached state at this revision, so the events up to it were
   * not looked at for the command; -1n when every event was read.
   */
  readonly unscannedThrough: bigint;
  /** The events among those read that carry the command id being looked for (one contiguous append). */
  readonly commandEvents: readonly RecordedEvent[];
  /** The ids of the last commands folded in, oldest first (at most `RECENT_COMMAND_LIMIT`). */
  readonly recentCommandIds: readonly string[];
}

/**
 * Where {@link loadStream} reads from.
 *
 * @example
 * const environment: StreamLoaderEnvironment = { store, snapshots, cache };
 */
export interface StreamLoaderEnvironment {
  readonly store: EventStoreReader;
  readonly snapshots?: SnapshotStore | undefined;
  readonly cache?: StateCache | undefined;
  readonly onSnapshotError?: ((error: unknown, streamName: string) => void) | undefined;
}

/**
 * Upcasts and validates one stored event with the aggregate's catalog.
 *
 * @example
 * const event = decodeRecorded(cart.events, recorded); // { type: 'ItemAdded', data: { … current shape … } }
 * @throws InvalidStoredEventError
 */
export function decodeRecorded<Event extends Message>(events: EventCatalog<Event>, recorded: RecordedEvent): Event {
  const version = recorded.metadata[SCHEMA_VERSION_KEY];
  return events.decode({
    type: recorded.type,
    data: recorded.data,
    version: version === undefined ? 1 : (version as number),
    location: `${recorded.streamName}@${recorded.revision}`,
  });
}

/**
 * Folds a stream: from a cached state, else from the aggregate's snapshot when it has a valid one, then
 * the events after it. A snapshot that cannot be read or decoded is a miss, not an error: the fold
 * starts over.
 *
 * @example
 * const { state, revision } = await loadStream({ store, snapshots }, cart, 'cart-1');
 */
export async function loadStream<Command extends Message, Event extends Message, State>(
  environment: StreamLoaderEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  commandId?: string,
): Promise<LoadedStream<State>> {
  const cached = environment.cache?.get<State>(aggregate, streamName);
  if (cached) {
    const fromCache = { ...cached, unscannedThrough: cached.revision, commandEvents: [] };
    return readOn(environment.store, aggregate, streamName, fromCache, commandId);
  }
  const start: LoadedStream<State> = {
    state: aggregate.initialState(),
    revision: -1n,
    position: undefined,
    snapshotRevision: -1n,
    unscannedThrough: -1n,
    commandEvents: [],
    recentCommandIds: [],
  };
  const policy = aggregate.snapshots;
  if (!policy || !environment.snapshots) return readOn(environment.store, aggregate, streamName, start, commandId);
  let fromSnapshot: LoadedStream<State> | undefined;
  try {
    const snapshot = await environment.snapshots.load(streamName);
    if (snapshot && snapshot.version === policy.version) {
      fromSnapshot = {
        state: policy.decode ? policy.decode(snapshot.state) : (snapshot.state as State),
        revision: snapshot.revision,
        position: snapshot.position,
        snapshotRevision: snapshot.revision,
        unscannedThrough: snapshot.revision,
        commandEvents: [],
        recentCommandIds: snapshot.recentCommandIds,
      };
    }
  } catch (error) {
    environment.onSnapshotError?.(error, streamName);
  }
  return readOn(environment.store, aggregate, streamName, fromSnapshot ?? start, commandId);
}

/**
 * Folds the events appended after `loaded.revision` into it: a fresh read that skips what is known.
 *
 * @example
 * const caughtUp = await readOn(store, cart, 'cart-1', loaded);
 */
export async function readOn<Command extends Message, Event extends Message, State>(
  store: EventStoreReader,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  loaded: LoadedStream<State>,
  commandId?: string,
): Promise<LoadedStream<State>> {
  let { state, revision, position } = loaded;
  const seenCommandIds: string[] = [];
  // Where the command's own events lie among those read (one contiguous append): read again in full below.
  let firstMatch: bigint | undefined;
  let lastMatch: bigint | undefined;
  const pages = readStreamForFold(store, streamName, { fromRevision: revision + 1n, metadataKeys: FOLD_METADATA_KEYS });
  for await (const page of pages) {
    const { events, fromRevision } = page;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      state = aggregate.evolve(state, decodeFolded(aggregate.events, event, streamName, fromRevision, index));
      const eventCommandId = event.metadata.commandId;
      if (typeof eventCommandId === 'string') {
        seenCommandIds.push(eventCommandId);
        if (eventCommandId === commandId) {
          firstMatch ??= fromRevision + BigInt(index);
          lastMatch = fromRevision + BigInt(index);
        }
      }
    }
    revision = page.last.revision;
    position = page.last.position;
  }
  let commandEvents = loaded.commandEvents;
  if (firstMatch !== undefined && lastMatch !== undefined) {
    const found = [...commandEvents];
    const maxCount = Number(lastMatch - firstMatch) + 1;
    for await (const recorded of store.readStream(streamName, { fromRevision: firstMatch, maxCount })) {
      if (recorded.metadata.commandId === commandId) found.push(recorded);
    }
    commandEvents = found;
  }
  const recentCommandIds = withCommandIds(loaded.recentCommandIds, seenCommandIds);
  return { ...loaded, state, revision, position, commandEvents, recentCommandIds };
}

/** The metadata a fold reads per event: the schema version to upcast from, the command that wrote it. */
const FOLD_METADATA_KEYS: readonly string[] = [SCHEMA_VERSION_KEY, 'commandId'];

/** {@link decodeRecorded} for an event of a fold page, `index` events after `fromRevision`. */
function decodeFolded<Event extends Message>(
  events: EventCatalog<Event>,
  folded: FoldEvent,
  streamName: string,
  fromRevision: bigint,
  index: number,
): Event {
  const version = folded.metadata[SCHEMA_VERSION_KEY];
  return events.decode({
    type: folded.type,
    data: folded.data,
    version: version === undefined ? 1 : (version as number),
    location: `${streamName}@${fromRevision + BigInt(index)}`,
  });
}
