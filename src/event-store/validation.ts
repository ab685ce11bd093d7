import { BatchTooLargeError, InvalidArgumentError, InvalidEventError, InvalidStreamNameError } from './errors';
import type { EventData, EventFilter, EventStoreLimits, ExpectedRevision } from './event-store';
import { Position, type FromPosition } from './position';

export const MAX_NAME_LENGTH = 255;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event checked and serialised once, ready for any backend to write. */
export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
  readonly correlationId: string | null;
}

export function validateStreamName(streamName: unknown): asserts streamName is string {
  if (typeof streamName !== 'string' || streamName.length === 0) {
    throw new InvalidStreamNameError('stream name must be a non-empty string');
  }
  if (streamName.length > MAX_NAME_LENGTH) {
    throw new InvalidStreamNameError(
      `stream name is ${streamName.length} characters long; the limit is ${MAX_NAME_LENGTH}`,
    );
  }
  if (CONTROL_CHARACTERS.test(streamName)) {
    throw new InvalidStreamNameError(`stream name ${JSON.stringify(streamName)} contains control characters`);
  }
  if (streamName.startsWith('$')) {
    throw new InvalidStreamNameError(`stream name ${JSON.stringify(streamName)} starts with "$", reserved for system streams`);
  }
}

export function validateExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'bigint' && expected >= -1n) return;
  throw new InvalidArgumentError(
    `expectedRevision must be 'any', 'no_stream', 'stream_exists' or a bigint >= -1n, got ${describe(expected)}`,
  );
}

/** Checks every event and serialises it; throws before anything is written. */
export function prepareEvents(events: readonly EventData[], limits: EventStoreLimits): PreparedEvent[] {
  const list: unknown = events;
  if (!Array.isArray(list)) throw new InvalidArgumentError('events must be an array');
  if (events.length === 0) throw new InvalidArgumentError('an append needs at least one event');
  if (events.length > limits.maxAppendEvents) {
    throw new BatchTooLargeError(
      `an append of ${events.length} events is over the limit of ${limits.maxAppendEvents} (maxAppendEvents)`,
    );
  }
  const seen = new Set<string>();
  return events.map((candidate: unknown, index) => {
    if (candidate === null || typeof candidate !== 'object') throw new InvalidEventError(index, 'event', 'must be an object');
    const event = candidate as Partial<EventData>;
    const { id, type } = event;
    if (typeof id !== 'string' || !UUID.test(id)) {
      throw new InvalidEventError(index, 'id', `must be a UUID, got ${describe(id)}`);
    }
    const normalisedId = id.toLowerCase();
    if (seen.has(normalisedId)) throw new InvalidEventError(index, 'id', `${id} appears twice in one append`);
    seen.add(normalisedId);
    if (typeof type !== 'string' || type.length === 0) {
      throw new InvalidEventError(index, 'type', 'must be a non-empty string');
    }
    if (type.length > MAX_NAME_LENGTH) {
      throw new InvalidEventError(index, 'type', `is ${type.length} characters long; the limit is ${MAX_NAME_LENGTH}`);
    }
    if (CONTROL_CHARACTERS.test(type)) throw new InvalidEventError(index, 'type', 'contains control characters');
    if (type.startsWith('$')) throw new InvalidEventError(index, 'type', `${JSON.stringify(type)} starts with "$", reserved for system events`);
    assertJson(event.data, index, 'data');
    const metadata: unknown = event.metadata ?? {};
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new InvalidEventError(index, 'metadata', 'must be a JSON object');
    }
    assertJson(metadata, index, 'metadata');
    const data = JSON.stringify(event.data);
    const metadataText = JSON.stringify(metadata);
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only texts that could be over the limit are measured.
    const bytes = (data.length + metadataText.length) * 3 <= limits.maxEventBytes ? 0 : Buffer.byteLength(data) + Buffer.byteLength(metadataText);
    if (bytes > limits.maxEventBytes) {
      throw new BatchTooLargeError(
        `event #${index} is ${bytes} bytes serialised; the limit is ${limits.maxEventBytes} (maxEventBytes)`,
      );
    }
    const { correlationId } = metadata as { correlationId?: unknown };
    return {
      id: normalisedId,
      type,
      data,
      metadata: metadataText,
      correlationId: typeof correlationId === 'string' ? correlationId : null,
    };
  });
}

/**
 * Only values that survive a JSON round trip unchanged are accepted, so what is read back is what was
 * written: no `undefined` (silently dropped by JSON), no NaN/Infinity (become null), no class instances
 * such as Date or Map (lose their type), no bigint or functions, no cycles.
 */
function assertJson(value: unknown, index: number, field: string): void {
  const ancestors: object[] = [];
  // The path to the value being visited, as segments: the text is built only for an error message.
  const segments: Array<string | number> = [];
  const pathOf = (): string => field + segments.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${segment}`)).join('');
  const visit = (current: unknown): void => {
    switch (typeof current) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(current)) throw new InvalidEventError(index, pathOf(), `is ${current}, which JSON cannot hold`);
        return;
      case 'object': {
        if (current === null) return;
        if (ancestors.includes(current)) throw new InvalidEventError(index, pathOf(), 'is a circular reference');
        ancestors.push(current);
        if (Array.isArray(current)) {
          for (let i = 0; i < current.length; i++) {
            segments.push(i);
            if (!(i in current)) throw new InvalidEventError(index, pathOf(), 'is a hole in a sparse array');
            visit(current[i]);
            segments.pop();
          }
        } else {
          const prototype = Object.getPrototypeOf(current) as unknown;
          if (prototype !== Object.prototype && prototype !== null) {
            const name = (current as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
            throw new InvalidEventError(index, pathOf(), `is a ${name} instance; only plain objects are JSON`);
          }
          for (const key in current) {
            if (!Object.prototype.hasOwnProperty.call(current, key)) continue;
            segments.push(key);
            visit((current as Record<string, unknown>)[key]);
            segments.pop();
          }
        }
        ancestors.pop();
        return;
      }
      default:
        throw new InvalidEventError(index, pathOf(), `is ${describe(current)}, which is not JSON`);
    }
  };
  visit(value);
}

export function validateMaxCount(maxCount: unknown): number {
  if (maxCount === undefined) return Number.POSITIVE_INFINITY;
  if (typeof maxCount === 'bigint' && maxCount >= 0n) return Number(maxCount);
  if (typeof maxCount !== 'number' || !(Number.isInteger(maxCount) || maxCount === Infinity) || maxCount < 0) {
    throw new InvalidArgumentError(`maxCount must be a non-negative integer, got ${describe(maxCount)}`);
  }
  return maxCount;
}

export function validateDirection(direction: unknown): 'forwards' | 'backwards' {
  if (direction === undefined) return 'forwards';
  if (direction === 'forwards' || direction === 'backwards') return direction;
  throw new InvalidArgumentError(`direction must be 'forwards' or 'backwards', got ${describe(direction)}`);
}

export function validateFromPosition(position: unknown, fallback: FromPosition): FromPosition {
  if (position === undefined) return fallback;
  if (position === 'start' || position === 'end' || position instanceof Position) return position;
  throw new InvalidArgumentError(
    `fromPosition must be a Position (use Position.parse for strings), 'start' or 'end'; got ${describe(position)}`,
  );
}

export function validateFromRevision(revision: unknown, fallback: bigint | 'start' | 'end'): bigint | 'start' | 'end' {
  if (revision === undefined) return fallback;
  if (revision === 'start' || revision === 'end') return revision;
  if (typeof revision === 'bigint' && revision >= 0n) return revision;
  throw new InvalidArgumentError(`fromRevision must be a bigint >= 0n, 'start' or 'end'; got ${describe(revision)}`);
}

export function validateFilter(filter: unknown): EventFilter | undefined {
  if (filter === undefined) return undefined;
  if (filter === null || typeof filter !== 'object') throw new InvalidArgumentError('filter must be an object');
  const { streamPrefixes, eventTypes } = filter as EventFilter;
  for (const [name, list] of [
    ['streamPrefixes', streamPrefixes],
    ['eventTypes', eventTypes],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item.length === 0)) {
      throw new InvalidArgumentError(`filter.${name} must be an array of non-empty strings`);
    }
  }
  return filter;
}

/** Whether an event passes a filter; used by backends that filter in process. */
export function matchesFilter(filter: EventFilter | undefined, streamName: string, type: string): boolean {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => streamName.startsWith(prefix))) return false;
  return true;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** Checks `readStreamForFold`'s options; returns the first revision and the metadata keys. */
export function validateFoldOptions(options: unknown): { from: bigint; metadataKeys: readonly string[] } {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options must be an object');
  const { fromRevision, metadataKeys } = options as { fromRevision?: unknown; metadataKeys?: unknown };
  let from: bigint;
  if (fromRevision === undefined || fromRevision === 'start') from = 0n;
  else if (typeof fromRevision === 'bigint' && fromRevision >= 0n) from = fromRevision;
  else throw new InvalidArgumentError(`fromRevision must be a bigint >= 0n or 'start'; got ${describe(fromRevision)}`);
  if (metadataKeys === undefined) return { from, metadataKeys: [] };
  if (!Array.isArray(metadataKeys) || !metadataKeys.every((key) => typeof key === 'string')) {
    throw new InvalidArgumentError(`metadataKeys must be an array of strings; got ${describe(metadataKeys)}`);
  }
  return { from, metadataKeys };
}
