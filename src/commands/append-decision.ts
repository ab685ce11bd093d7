import type { EventCatalog } from '../domain/event-catalog';
import type { Message } from '../domain/message';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../event-store/errors';
import type { AppendResult, EventData, EventMetadata, EventStoreWriter, JsonValue } from '../event-store/event-store';
import type { CommandContext } from './command-context';
import { COMMAND_HASH_KEY, eventIdFor } from './command-identity';
import { SCHEMA_VERSION_KEY, type LoadedStream } from './stream-loader';

/**
 * How an append of a decision went: appended; lost a race to another writer (the stream moved on); or
 * refused because the command's event ids are stored already (a retry of a command that ran).
 */
export type AppendOutcome =
  | { readonly kind: 'appended'; readonly result: AppendResult }
  | { readonly kind: 'conflict'; readonly error: WrongExpectedRevisionError }
  | { readonly kind: 'ids-taken' };

/**
 * The fourth step of a command: appends the decided events at the revision they were decided on, with
 * ids derived from the command id and the command's metadata. Any other failure is thrown.
 *
 * @example
 * const outcome = await appendDecision(store, cart.events, context, loaded, events);
 * if (outcome.kind === 'conflict') loaded = await reloadAfterConflict(…, outcome.error.actual);
 */
export async function appendDecision<Event extends Message>(
  store: EventStoreWriter,
  catalog: EventCatalog<Event>,
  context: CommandContext<Message>,
  loaded: LoadedStream<unknown>,
  events: readonly Event[],
): Promise<AppendOutcome> {
  const data = toEventData(catalog, context, events);
  try {
    const result = await store.appendToStream(context.streamName, data, {
      expectedRevision: loaded.revision < 0n ? 'no_stream' : loaded.revision,
    });
    return { kind: 'appended', result };
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError && error.actual !== loaded.revision) return { kind: 'conflict', error };
    // A WrongExpectedRevisionError at the very revision we expected is the store refusing our
    // deterministic event ids too: an earlier append of this command does not fit here.
    if (error instanceof DuplicateEventIdError || error instanceof WrongExpectedRevisionError) return { kind: 'ids-taken' };
    throw error;
  }
}

function toEventData<Event extends Message>(catalog: EventCatalog<Event>, context: CommandContext<Message>, events: readonly Event[]): EventData[] {
  const time = context.clock();
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) throw new RangeError('the clock returned an invalid Date');
  const metadata: EventMetadata = { ...context.baseMetadata, time: time.toISOString() };
  return events.map((event, index) => ({
    id: eventIdFor(context.commandId, index),
    type: event.type,
    data: event.data as JsonValue,
    metadata: {
      ...metadata,
      [SCHEMA_VERSION_KEY]: catalog.currentVersion(event.type),
      // Once per append is enough: a retry is recognised by its first event.
      ...(index === 0 ? { [COMMAND_HASH_KEY]: context.fingerprint } : {}),
    },
  }));
}
