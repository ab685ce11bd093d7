import type { EventMetadata, JsonValue, RecordedEvent } from '../event-store/event-store';
import { Position } from '../event-store/position';

/** A recorded event as JSON text, for parked-event rows. */
export function encodeEvent(event: RecordedEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    streamName: event.streamName,
    revision: event.revision.toString(),
    position: event.position.toString(),
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
  });
}

interface EncodedEvent {
  id: string;
  type: string;
  streamName: string;
  revision: string;
  position: string;
  data: JsonValue;
  metadata: EventMetadata;
  recordedAt: string;
}

export function decodeEvent(value: string | EncodedEvent): RecordedEvent {
  const encoded = typeof value === 'string' ? (JSON.parse(value) as EncodedEvent) : value;
  return {
    id: encoded.id,
    type: encoded.type,
    streamName: encoded.streamName,
    revision: BigInt(encoded.revision),
    position: Position.parse(encoded.position),
    data: encoded.data,
    metadata: encoded.metadata,
    recordedAt: new Date(encoded.recordedAt),
  };
}
