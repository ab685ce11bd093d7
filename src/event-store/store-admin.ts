import { EventfoldError } from '../internal/eventfold-error';
import { InvalidArgumentError, InvalidEventError } from './errors';
import type { EventMetadata, EventStore, EventStoreLimits, JsonValue } from './event-store';
import { prepareEvents, validateStreamName, type PreparedEvent } from './validation';

/**
 * One stream as an operator lists it.
 *
 * @example
 * const [first] = await admin.listStreams({ prefix: 'order-', limit: 1 }); // { streamName: 'order-1', revision: 4n }
 */
export interface StreamSummary {
  readonly streamName: string;
  /** The revision of its last event. */
  readonly revision: bigint;
}

/**
 * Which streams to list: those whose name starts with `prefix`, in name order, after `after`, at most `limit`.
 *
 * @example
 * const next = await admin.listStreams({ prefix: 'order-', after: page.at(-1)!.streamName, limit: 50 });
 */
export interface ListStreamsOptions {
  readonly prefix?: string;
  /** Exclusive: the last name of the previous page. */
  readonly after?: string;
  /** 1 to 10,000; default 100. */
  readonly limit?: number;
}

/**
 * What a store holds, for `eventfold stats`.
 *
 * @example
 * const { streams, events, bytes } = await admin.statistics();
 */
export interface StoreStatistics {
  readonly streams: number;
  readonly events: number;
  /** Bytes on disk of the events and streams (a backend that cannot tell leaves it undefined). */
  readonly bytes: number | undefined;
  /** When the first event of `$all` was recorded. */
  readonly oldest: Date | undefined;
  /** When the last event of `$all` was recorded. */
  readonly newest: Date | undefined;
}

/**
 * What operators ask of a store beyond the event-store contract: its streams and its size. SQLite and
 * PostgreSQL implement it; find it with {@link storeAdminOf}.
 *
 * @example
 * const admin = storeAdminOf(store);
 * if (admin) console.log(await admin.statistics());
 */
export interface StoreAdmin {
  listStreams(options?: ListStreamsOptions): Promise<readonly StreamSummary[]>;
  statistics(): Promise<StoreStatistics>;
}

/**
 * An event as another store recorded it, to import as it is: same id, stream, revision, metadata and
 * time. Its `$all` position is the order in which it is imported.
 *
 * @example
 * const imported: ImportedEvent = { ...recorded }; // a RecordedEvent fits (its position is ignored)
 */
export interface ImportedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamName: string;
  readonly revision: bigint;
  readonly data: JsonValue;
  readonly metadata: EventMetadata;
  readonly recordedAt: Date;
}

/**
 * How far an import from one source got: stored with each batch, in the batch's transaction, so a
 * copy that crashes resumes exactly after the last batch that committed.
 *
 * @example
 * const checkpoint: ImportCheckpoint = { source: 'sqlite:/data/events.db', position: last.position.toString(), count: 1_000 };
 */
export interface ImportCheckpoint {
  /** Names the source (a connection string without its password). */
  readonly source: string;
  /** The source's position of the last event imported (opaque to the target). */
  readonly position: string;
  /** How many source events were imported so far. */
  readonly count: number;
}

/**
 * What one import batch did: events written, and events already there (same id, stream and revision)
 * and so skipped.
 *
 * @example
 * const { imported, skipped } = await importer.importEvents(batch, checkpoint);
 */
export interface ImportResult {
  readonly imported: number;
  readonly skipped: number;
}

/**
 * Imports recorded events into a store with their ids, revisions, metadata and recorded times, in
 * order: the road for `eventfold copy`. A batch lands whole with its checkpoint, or not at all. Events
 * already in the store at the same stream and revision are skipped, so a batch may be sent again.
 * SQLite and PostgreSQL implement it; find it with {@link eventImporterOf}.
 *
 * @example
 * const importer = eventImporterOf(target)!;
 * await importer.importEvents(batch, { source, position: batch.at(-1)!.position.toString(), count });
 * @throws ImportConflictError when the store holds something else at an event's place (nothing is written).
 */
export interface EventImporter {
  importEvents(events: readonly ImportedEvent[], checkpoint: ImportCheckpoint): Promise<ImportResult>;
  /** The last checkpoint stored for this source, if any. */
  importCheckpoint(source: string): Promise<ImportCheckpoint | undefined>;
}

/**
 * The store's {@link StoreAdmin} side, when its backend has one.
 *
 * @example
 * const streams = await storeAdminOf(store)?.listStreams({ prefix: 'order-' });
 */
export function storeAdminOf(store: EventStore): StoreAdmin | undefined {
  const candidate = store as Partial<StoreAdmin>;
  return typeof candidate.listStreams === 'function' && typeof candidate.statistics === 'function' ? (store as EventStore & StoreAdmin) : undefined;
}

/**
 * The store's {@link EventImporter} side, when its backend has one.
 *
 * @example
 * if (!eventImporterOf(target)) throw new Error('this store cannot import');
 */
export function eventImporterOf(store: EventStore): EventImporter | undefined {
  const candidate = store as Partial<EventImporter>;
  return typeof candidate.importEvents === 'function' && typeof candidate.importCheckpoint === 'function'
    ? (store as EventStore & EventImporter)
    : undefined;
}

/**
 * The target store holds something else where an imported event belongs: another event at its
 * revision, its id in another place, or a gap before it. Nothing of the batch was written.
 *
 * @example
 * catch (error) { if (error instanceof ImportConflictError) console.error(error.streamName, error.revision); }
 */
export class ImportConflictError extends EventfoldError {
  readonly code = 'IMPORT_CONFLICT' as const;
  readonly category = 'conflict' as const;

  constructor(
    readonly streamName: string,
    readonly revision: bigint,
    message: string,
  ) {
    super(message);
  }
}

/** An imported event checked and serialised once, ready for a backend to write. */
export interface PreparedImport extends PreparedEvent {
  readonly streamName: string;
  readonly revision: bigint;
  readonly recordedAt: Date;
}

/** Checks a batch to import (every event, its stream, revision and time) before anything is written. */
export function prepareImport(events: readonly ImportedEvent[], limits: EventStoreLimits, checkpoint: ImportCheckpoint): PreparedImport[] {
  const list: unknown = events;
  if (!Array.isArray(list)) throw new InvalidArgumentError('events must be an array');
  if (
    checkpoint === null ||
    typeof checkpoint !== 'object' ||
    typeof checkpoint.source !== 'string' ||
    checkpoint.source.length === 0 ||
    typeof checkpoint.position !== 'string' ||
    !Number.isSafeInteger(checkpoint.count) ||
    checkpoint.count < 0
  ) {
    throw new InvalidArgumentError('the import checkpoint needs a source, a position and a non-negative count');
  }
  if (events.length === 0) return [];
  const prepared = prepareEvents(events, limits);
  return events.map((event, index) => {
    validateStreamName(event.streamName);
    if (typeof event.revision !== 'bigint' || event.revision < 0n) {
      throw new InvalidEventError(index, 'revision', 'must be a bigint >= 0n');
    }
    if (!(event.recordedAt instanceof Date) || Number.isNaN(event.recordedAt.getTime())) {
      throw new InvalidEventError(index, 'recordedAt', 'must be a valid Date');
    }
    return { ...prepared[index]!, streamName: event.streamName, revision: event.revision, recordedAt: event.recordedAt };
  });
}

/** Where the target holds an imported event's id already. */
export interface KnownEvent {
  readonly streamName: string;
  readonly revision: bigint;
}

/**
 * Decides, for a batch in order, which events to write: an event whose id the target holds at the same
 * stream and revision is skipped; one that continues its stream is written; anything else conflicts.
 * Linear in the batch. `current` maps each stream of the batch to the target's revision (-1n when absent).
 */
export function planImport(
  events: readonly PreparedImport[],
  current: ReadonlyMap<string, bigint>,
  known: ReadonlyMap<string, KnownEvent>,
): PreparedImport[] {
  const revisions = new Map(current);
  const writes: PreparedImport[] = [];
  for (const event of events) {
    const at = known.get(event.id);
    const revision = revisions.get(event.streamName) ?? -1n;
    if (at) {
      if (at.streamName === event.streamName && at.revision === event.revision) continue;
      throw new ImportConflictError(
        event.streamName,
        event.revision,
        `event ${event.id} (${event.streamName}@${event.revision}) is already in the target as ${at.streamName}@${at.revision}`,
      );
    }
    if (event.revision !== revision + 1n) {
      throw new ImportConflictError(
        event.streamName,
        event.revision,
        event.revision <= revision
          ? `the target's stream "${event.streamName}" holds another event at revision ${event.revision}`
          : `the target's stream "${event.streamName}" is at revision ${revision}; event ${event.id} at revision ${event.revision} would leave a gap`,
      );
    }
    revisions.set(event.streamName, event.revision);
    writes.push(event);
  }
  return writes;
}

/** Checks `listStreams` options; returns the prefix, the exclusive start and the page size. */
export function resolveListStreams(options: ListStreamsOptions = {}): { prefix: string; after: string; limit: number } {
  const { prefix = '', after = '', limit = 100 } = options;
  if (typeof prefix !== 'string' || typeof after !== 'string') throw new InvalidArgumentError('prefix and after must be strings');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new InvalidArgumentError(`limit must be from 1 to 10,000, got ${String(limit)}`);
  return { prefix, after, limit };
}
