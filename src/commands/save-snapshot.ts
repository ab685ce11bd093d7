import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { AppendResult, JsonValue } from '../event-store/event-store';
import type { CommandEnvironment } from './handle-command';

/** Saves a snapshot of `state` as of `at`; true when it was saved. */
export async function saveSnapshot<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  state: State,
  recentCommandIds: readonly string[],
  at: AppendResult,
): Promise<boolean> {
  const policy = aggregate.snapshots!;
  try {
    const encoded = policy.encode ? policy.encode(state) : state;
    await environment.snapshots!.save({
      streamName,
      revision: at.revision,
      position: at.position,
      version: policy.version,
      state: encoded as JsonValue,
      recentCommandIds,
    });
    return true;
  } catch (error) {
    // The events are committed; a snapshot is only a cache, so failing to save one must not fail the command.
    environment.onSnapshotError?.(error, streamName);
    return false;
  }
}
