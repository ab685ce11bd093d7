import type { EventCatalog } from '../domain/event-catalog';
import type { EventStoreReader, RecordedEvent } from '../event-store/event-store';
import { decodeRecorded } from './stream-loader';

/**
 * One workflow's history for an audit: every event whose correlation id is `correlationId`, across
 * streams, in global order. Events of the given aggregates' categories come back upcast to their
 * current shape and validated; others as stored.
 *
 * @example
 * for await (const event of readCorrelation(store, receipt.correlationId, [cart, order])) {
 *   console.log(event.streamName, event.type, event.metadata.userId, event.metadata.time);
 * }
 * @throws InvalidStoredEventError when an event of a known category does not fit its definition.
 */
export async function* readCorrelation(
  store: EventStoreReader,
  correlationId: string,
  aggregates: readonly { readonly category: string; readonly events: EventCatalog }[] = [],
): AsyncIterable<RecordedEvent> {
  const byCategory = new Map(aggregates.map((aggregate) => [aggregate.category, aggregate]));
  for await (const recorded of store.readCorrelation(correlationId)) {
    const dash = recorded.streamName.indexOf('-');
    const aggregate = dash > 0 ? byCategory.get(recorded.streamName.slice(0, dash)) : undefined;
    if (!aggregate) {
      yield recorded;
      continue;
    }
    const { data } = decodeRecorded(aggregate.events, recorded);
    yield { ...recorded, data: data as RecordedEvent['data'] };
  }
}
