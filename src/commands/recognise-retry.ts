import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { EventStoreReader, RecordedEvent } from '../event-store/event-store';
import type { CommandContext } from './command-context';
import { COMMAND_HASH_KEY } from './command-identity';
import { CommandIdReusedError } from './errors';
import type { CommandReceipt } from './handle-command';
import { decodeRecorded, type LoadedStream } from './stream-loader';

/**
 * The second step of a command: is it a retry of one that ran already? Answered from what loading read
 * (the command's events were among the new ones), else, when the command's id is among the last ones
 * folded in behind a snapshot or cached state, from the stream's history. A retry gets the first
 * receipt (or `CommandIdReusedError` when the id came with another command); undefined: a new command.
 *
 * @example
 * const earlier = await recogniseRetry(store, cart, context, loaded);
 * if (earlier) return earlier;
 * @throws CommandIdReusedError
 */
export async function recogniseRetry<Command extends Message, Event extends Message, State>(
  store: EventStoreReader,
  aggregate: Aggregate<Command, Event, State>,
  context: CommandContext<Command>,
  loaded: LoadedStream<State>,
): Promise<CommandReceipt<Event> | undefined> {
  if (loaded.commandEvents.length > 0) return receiptFromHistory(aggregate, context, loaded.commandEvents);
  if (!ranBehindFold(loaded, context.commandId)) return undefined;
  const earlier = await findCommandEvents(store, context.streamName, context.commandId);
  return earlier.length > 0 ? receiptFromHistory(aggregate, context, earlier) : undefined;
}

/**
 * The store refused the command's deterministic event ids: they are stored already, so this is a retry
 * of a command that ran before the part of the stream that was folded and remembered — or the id was
 * used in another stream.
 *
 * @throws CommandIdReusedError when the events are not this stream's, or came from another command.
 */
export async function receiptOfEarlierRun<Command extends Message, Event extends Message, State>(
  store: EventStoreReader,
  aggregate: Aggregate<Command, Event, State>,
  context: CommandContext<Command>,
): Promise<CommandReceipt<Event>> {
  const earlier = await findCommandEvents(store, context.streamName, context.commandId);
  if (earlier.length > 0) return receiptFromHistory(aggregate, context, earlier);
  throw new CommandIdReusedError(context.commandId, context.streamName, 'its event ids are taken in another stream');
}

/**
 * Whether the command ran in the part of the stream the fold skipped (behind a snapshot or a cached
 * state), judged by the ids of the last commands folded in. Reading the skipped events instead would
 * make every rejected or no-op command cost a read of the whole stream. A retry older than that window
 * is still caught whenever it decides events again (the store knows their ids); one that decides
 * nothing or is rejected now is answered as a new command — and appends nothing either way.
 */
function ranBehindFold(loaded: LoadedStream<unknown>, commandId: string): boolean {
  return loaded.unscannedThrough >= 0n && loaded.recentCommandIds.includes(commandId);
}

/**
 * Finds a command's events anywhere in a stream, newest first, by reading backwards — the slow path,
 * for when the command may hide behind a snapshot. Returns them in stream order.
 */
async function findCommandEvents(store: EventStoreReader, streamName: string, commandId: string): Promise<RecordedEvent[]> {
  const found: RecordedEvent[] = [];
  for await (const recorded of store.readStream(streamName, { direction: 'backwards', fromRevision: 'end' })) {
    if (recorded.metadata.commandId === commandId) found.push(recorded);
    // One command's events are one append, hence contiguous: the first miss after a hit ends them.
    else if (found.length > 0) break;
  }
  return found.reverse();
}

function receiptFromHistory<Command extends Message, Event extends Message, State>(
  aggregate: Aggregate<Command, Event, State>,
  context: CommandContext<Command>,
  recorded: readonly RecordedEvent[],
): CommandReceipt<Event> {
  const first = recorded[0]!;
  const last = recorded[recorded.length - 1]!;
  if (first.metadata[COMMAND_HASH_KEY] !== context.fingerprint) {
    const earlierType = first.metadata.commandType;
    throw new CommandIdReusedError(
      context.commandId,
      context.streamName,
      earlierType === context.command.type
        ? `an earlier ${String(earlierType)} on ${first.streamName} had another payload`
        : `it was ${typeof earlierType === 'string' ? earlierType : 'another command'} on ${first.streamName}`,
    );
  }
  return {
    commandId: context.commandId,
    streamName: context.streamName,
    revision: last.revision,
    position: last.position,
    correlationId: first.metadata.correlationId ?? context.correlationId,
    events: recorded.map((event) => decodeRecorded(aggregate.events, event)),
  };
}
