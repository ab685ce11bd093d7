import type { EventCatalog } from '../domain/event-catalog';
import type { Message } from '../domain/message';
import type { JsonValue, RecordedEvent } from '../event-store/event-store';
import { decodeRecorded, SCHEMA_VERSION_KEY } from './stream-loader';

/**
 * A recorded event in its catalog's current schema: `type` and `data` typed per event type (a union a
 * `switch` on `type` narrows), the rest as recorded.
 *
 * @example
 * const handle = (event: UpcastEvent<OrderEvent>) => { if (event.type === 'OrderPlaced') use(event.data.items); };
 */
export type UpcastEvent<Event extends Message> = Event extends Message
  ? Omit<RecordedEvent, 'type' | 'data'> & { readonly type: Event['type']; readonly data: Event['data'] }
  : never;

/**
 * A recorded event upcast to its catalog's current schema and validated; its metadata says the current
 * schema version, so decoding it again is a no-op rather than a second upcast.
 *
 * @example
 * const event = upcastRecorded(orderEvents, recorded); // event.data has the current shape
 * @throws InvalidStoredEventError when the catalog does not know the type or the event does not fit.
 */
export function upcastRecorded<Event extends Message>(catalog: EventCatalog<Event>, recorded: RecordedEvent): UpcastEvent<Event> {
  const { data } = decodeRecorded(catalog, recorded);
  return {
    ...recorded,
    data: data as JsonValue,
    metadata: { ...recorded.metadata, [SCHEMA_VERSION_KEY]: catalog.currentVersion(recorded.type) },
  } as unknown as UpcastEvent<Event>;
}

/**
 * {@link upcastRecorded} for events of a type the catalog knows; any other event is returned as
 * recorded (a consumer may follow several aggregates' events with one aggregate's catalog).
 *
 * @example
 * const current = upcastKnown(orderEvents, recorded);
 * @throws InvalidStoredEventError when a known event does not fit its definition.
 */
export function upcastKnown(catalog: EventCatalog, recorded: RecordedEvent): RecordedEvent {
  return catalog.has(recorded.type) ? (upcastRecorded(catalog, recorded) as unknown as RecordedEvent) : recorded;
}
