import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { AppendResult } from '../event-store/event-store';
import type { CommandEnvironment } from './handle-command';
import { withCommandIds } from './recent-commands';
import { saveSnapshot } from './save-snapshot';
import type { LoadedStream } from './stream-loader';

/**
 * The last step of a command: keeps the state after its events for the next command — cached, and
 * snapshotted when the aggregate's policy says one is due — so that loading reads only what is new.
 */
export async function rememberAppended<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  commandId: string,
  loaded: LoadedStream<State>,
  events: readonly Event[],
  result: AppendResult,
): Promise<void> {
  const policy = aggregate.snapshots;
  const snapshotDue = !!policy && !!environment.snapshots && result.revision - loaded.snapshotRevision >= BigInt(policy.every);
  if (!environment.cache && !snapshotDue) return;
  const state = evolveAfterAppend(environment, aggregate, streamName, loaded.state, events);
  if (state === undefined) return;
  const recentCommandIds = withCommandIds(loaded.recentCommandIds, [commandId]);
  const saved = snapshotDue && (await saveSnapshot(environment, aggregate, streamName, state.value, recentCommandIds, result));
  environment.cache?.set(aggregate, streamName, {
    state: state.value,
    revision: result.revision,
    position: result.position,
    snapshotRevision: saved ? result.revision : loaded.snapshotRevision,
    recentCommandIds,
  });
}

/**
 * The state after the command's own events. They are committed already, so a throwing `evolve` must not
 * fail the command: the state is then simply not cached or snapshotted (the next load folds and fails
 * loudly instead).
 */
function evolveAfterAppend<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  state: State,
  events: readonly Event[],
): { value: State } | undefined {
  try {
    let value = state;
    for (const event of events) value = aggregate.evolve(value, event);
    return { value };
  } catch (error) {
    environment.cache?.delete(streamName);
    environment.onSnapshotError?.(error, streamName);
    return undefined;
  }
}
