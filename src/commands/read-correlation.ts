import type { EventCatalog } from '../domain/event-catalog';
import type { EventStoreReader, RecordedEvent } from '../event-store/event-store';
import { upcastRecorded } from './upcast-recorded';

/** What reading by category needs of an aggregate: its stream category and its event catalog. */
export interface CategoryCatalog {
  readonly category: string;
  readonly events: EventCatalog;
}

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
  aggregates: readonly CategoryCatalog[] = [],
): AsyncIterable<RecordedEvent> {
  const current = upcastByCategory(aggregates);
  for await (const recorded of store.readCorrelation(correlationId)) yield current(recorded);
}

/**
 * Upcasts an event with the catalog of the aggregate whose category its stream name starts with
 * (`cart-1`: `cart`), validated by it; events of other categories as stored.
 *
 * @example
 * const current = upcastByCategory([cart, order]);
 * for await (const recorded of store.readStream('cart-1')) show(current(recorded));
 * @throws InvalidStoredEventError (from the returned function) when an event of a known category does not fit
 * its catalog (an unknown type included).
 */
export function upcastByCategory(aggregates: readonly CategoryCatalog[]): (recorded: RecordedEvent) => RecordedEvent {
  const byCategory = new Map(aggregates.map((aggregate) => [aggregate.category, aggregate.events]));
  return (recorded) => {
    const dash = recorded.streamName.indexOf('-');
    const catalog = dash > 0 ? byCategory.get(recorded.streamName.slice(0, dash)) : undefined;
    return catalog ? (upcastRecorded(catalog, recorded) as unknown as RecordedEvent) : recorded;
  };
}
