import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { CommandEnvironment } from './handle-command';
import { saveSnapshot } from './save-snapshot';
import { loadStream, readOn, type LoadedStream } from './stream-loader';

/**
 * The first step of a command: the stream's state (from the cache, else a snapshot, then the events
 * after it), with the command's own events if the part read holds them. The fold is kept for the next
 * command: cached, and snapshotted when it was long.
 */
export async function loadState<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  commandId: string,
): Promise<LoadedStream<State>> {
  return keep(environment, aggregate, streamName, await loadStream(environment, aggregate, streamName, commandId));
}

/**
 * The state again after losing a concurrency race to a writer that left the stream at `actualRevision`:
 * the events appended since `loaded` are read on top of it.
 */
export async function reloadAfterConflict<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  commandId: string,
  loaded: LoadedStream<State>,
  actualRevision: bigint,
): Promise<LoadedStream<State>> {
  let reloaded: LoadedStream<State>;
  if (actualRevision < loaded.revision) {
    // The stream is behind what was folded: the cached state came from another store (or a restored
    // one). Only a fold from scratch can be trusted.
    environment.cache?.delete(streamName);
    reloaded = await loadStream({ ...environment, cache: undefined }, aggregate, streamName, commandId);
  } else {
    reloaded = await readOn(environment.store, aggregate, streamName, loaded, commandId);
  }
  return keep(environment, aggregate, streamName, reloaded);
}

/**
 * Caches the fold, and snapshots a long one right away, so that streams whose commands often decide
 * nothing (or are rejected) still get a snapshot, not only those that keep growing through this handler.
 */
async function keep<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  loaded: LoadedStream<State>,
): Promise<LoadedStream<State>> {
  const policy = aggregate.snapshots;
  let kept = loaded;
  if (policy && environment.snapshots && loaded.revision >= 0n && loaded.revision - loaded.snapshotRevision >= BigInt(policy.every)) {
    const saved = await saveSnapshot(environment, aggregate, streamName, loaded.state, loaded.recentCommandIds, {
      revision: loaded.revision,
      position: loaded.position!,
    });
    if (saved) kept = { ...loaded, snapshotRevision: loaded.revision };
  }
  // A stream that does not exist is not worth a cache slot: NOT_FOUND probes would evict real states.
  if (environment.cache && kept.revision >= 0n) {
    const { state, revision, position, snapshotRevision, recentCommandIds } = kept;
    environment.cache.set(aggregate, streamName, { state, revision, position, snapshotRevision, recentCommandIds });
  }
  return kept;
}
