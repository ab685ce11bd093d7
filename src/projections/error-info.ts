import type { RecordedEvent } from '../event-store/event-store';
import { Position } from '../event-store/position';
import type { ProjectionErrorInfo } from './projection-status';
import type { ProjectionFailure } from './read-model-store';

/**
 * Describes anything thrown. Duck-typed rather than `instanceof Error`: errors from native modules
 * (better-sqlite3) may come from another realm, and user code may throw plain objects.
 */
export function errorInfo(error: unknown, event?: RecordedEvent): ProjectionErrorInfo {
  const details = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof details.name === 'string' ? details.name : 'Error',
    code: typeof details.code === 'string' ? details.code : undefined,
    message: typeof details.message === 'string' ? details.message : String(error),
    at: new Date(),
    event: event && { id: event.id, type: event.type, streamName: event.streamName, position: event.position },
  };
}

/** A failure as stored with the slot, described as status shows it. */
export function failureInfo(failure: ProjectionFailure): ProjectionErrorInfo {
  return {
    name: failure.error.name,
    code: failure.error.code,
    message: failure.error.message,
    at: new Date(failure.failedAt),
    event: {
      id: failure.eventId,
      type: failure.eventType,
      streamName: failure.streamName,
      position: Position.parse(failure.position),
    },
  };
}
