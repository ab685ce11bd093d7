import type { EventMetadata, JsonValue, RecordedEvent } from '../event-store/event-store';
import { InvalidArgumentError } from '../event-store/errors';

/**
 * An event as one JSON line: what `--json` prints and what an `ndjson:` export holds. Revisions are
 * strings (64-bit), the time is ISO 8601 with milliseconds, `position` is the source's position.
 */
export interface EventLine {
  readonly id: string;
  readonly streamName: string;
  readonly revision: string;
  readonly type: string;
  readonly position: string;
  readonly data: JsonValue;
  readonly metadata: EventMetadata;
  readonly recordedAt: string;
}

export function eventLine(event: RecordedEvent): EventLine {
  return {
    id: event.id,
    streamName: event.streamName,
    revision: event.revision.toString(),
    type: event.type,
    position: event.position.toString(),
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
  };
}

/** One event for people: time, stream@revision, type and data. */
export function eventText(event: RecordedEvent): string {
  return `${event.recordedAt.toISOString()}  ${event.streamName}@${event.revision}  ${event.type}  ${JSON.stringify(event.data)}`;
}

const REVISION = /^(0|[1-9][0-9]{0,18})$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * Reads one line of an export back into the parts of an event; the store checks the rest (id, type,
 * stream name, JSON) when it imports it. Throws naming the line and the field.
 */
export function parseEventLine(text: string, lineNumber: number): Omit<RecordedEvent, 'position'> & { readonly position: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`line ${lineNumber} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError(`line ${lineNumber} is not a JSON object`);
  const line = value as Partial<Record<keyof EventLine, unknown>>;
  const fail = (field: string, what: string): never => {
    throw new InvalidArgumentError(`line ${lineNumber}: ${field} ${what}`);
  };
  if (typeof line.id !== 'string') fail('id', 'must be a string');
  if (typeof line.streamName !== 'string') fail('streamName', 'must be a string');
  if (typeof line.type !== 'string') fail('type', 'must be a string');
  if (typeof line.revision !== 'string' || !REVISION.test(line.revision)) fail('revision', 'must be a non-negative integer as a string');
  if (typeof line.position !== 'string') fail('position', 'must be a string');
  if (typeof line.recordedAt !== 'string' || !ISO_TIME.test(line.recordedAt)) fail('recordedAt', 'must be an ISO 8601 UTC time');
  if (!('data' in line)) fail('data', 'is missing');
  if (line.metadata === null || typeof line.metadata !== 'object' || Array.isArray(line.metadata)) fail('metadata', 'must be a JSON object');
  const recordedAt = new Date(line.recordedAt as string);
  if (Number.isNaN(recordedAt.getTime())) fail('recordedAt', 'is not a valid time');
  return {
    id: line.id as string,
    streamName: line.streamName as string,
    revision: BigInt(line.revision as string),
    type: line.type as string,
    position: line.position as string,
    data: line.data as JsonValue,
    metadata: line.metadata as EventMetadata,
    recordedAt,
  };
}
