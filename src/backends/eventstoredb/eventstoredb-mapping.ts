import type {
  AppendExpectedRevision,
  CurrentRevision,
  EventData as EsdbEventData,
  JSONType,
  Position as EsdbPosition,
  ReadPosition,
  RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { StoreUnavailableError } from '../../event-store/errors';
import type { StoredSlot } from '../../event-store/idempotency';
import type { EventFilter, EventMetadata, ExpectedRevision, JsonValue, RecordedEvent } from '../../event-store/event-store';
import { Position, type FromPosition } from '../../event-store/position';
import type { PreparedEvent } from '../../event-store/validation';

/**
 * The top-level metadata key under which an event carries its place in the hash chain (see
 * eventstoredb-chain.ts). Reserved: appends refuse it in the caller's metadata, and reads strip it. Not
 * `$`-prefixed: EventStoreDB keeps `$` keys for itself.
 */
export const CHAIN_METADATA_KEY = 'eventfold:chain';

/**
 * Pure translations between the eventfold contract and `@eventstore/db-client` values. Kept apart from the
 * store so that they can be tested without a server and without loading the gRPC client.
 */

/** "No stream" is -1n here; ESDB has no negative revisions, only its `no_stream` state. */
export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === -1n) return 'no_stream';
  return expected;
}

/** A revision as the contract counts it: -1n when ESDB says the stream does not exist. */
export function toRevision(current: CurrentRevision): bigint {
  if (current === 'no_stream' || current < 0n) return -1n;
  return current;
}

export function toPosition(position: EsdbPosition): Position {
  return Position.of(position.commit, position.prepare);
}

export function toEsdbPosition(position: Position): EsdbPosition {
  return { commit: position.commit, prepare: position.prepare };
}

export function toEsdbReadPosition(from: FromPosition): ReadPosition {
  return from instanceof Position ? toEsdbPosition(from) : from;
}

/**
 * ESDB reserves `$` for its own streams (`$stats-…`, `$$order-1` metadata, projection output) and event
 * types (`$>` links, `$metadata`, `$ProjectionsInitialized`); none of them are the application's events.
 */
export function isSystemEvent(streamName: string, type: string): boolean {
  return streamName.startsWith('$') || type.startsWith('$');
}

/** Matches no string at all, in both .NET (the server) and JavaScript regular expressions. */
export const MATCH_NOTHING = '(?!)';

/** Excludes `$` event types on the server, so an unfiltered subscription is not fed ESDB's own traffic. */
export const NON_SYSTEM_TYPES = '^[^$]';

/**
 * The one server-side filter a `$all` subscription gets. ESDB filters on the stream name *or* the event
 * type, by prefixes or a regex; the full filter is always checked again in process.
 */
export type EsdbFilterSpec =
  | { readonly filterOn: 'streamName'; readonly prefixes: string[] }
  | { readonly filterOn: 'streamName' | 'eventType'; readonly regex: string };

/**
 * Chooses the server-side filter. When both parts are given, the event types win: exact type names are
 * usually the narrower selection, and the stream prefixes are checked in process anyway. An empty list
 * selects nothing, as in `matchesFilter`, which ESDB's prefix filter would not do.
 */
export function toEsdbFilterSpec(filter: EventFilter | undefined): EsdbFilterSpec {
  if (filter?.eventTypes) {
    return {
      filterOn: 'eventType',
      regex: filter.eventTypes.length === 0 ? MATCH_NOTHING : exactNamesRegex(filter.eventTypes),
    };
  }
  if (filter?.streamPrefixes) {
    return filter.streamPrefixes.length === 0
      ? { filterOn: 'streamName', regex: MATCH_NOTHING }
      : { filterOn: 'streamName', prefixes: [...filter.streamPrefixes] };
  }
  return { filterOn: 'eventType', regex: NON_SYSTEM_TYPES };
}

/**
 * A regex matching exactly these names. ESDB's type filter only does prefixes or regexes, and a prefix
 * `OrderPlaced` would also let `OrderPlacedV2` through.
 */
export function exactNamesRegex(names: readonly string[]): string {
  return `^(?:${names.map(escapeRegex).join('|')})$`;
}

/** Escapes the characters that are syntax in both .NET and JavaScript regexes. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/**
 * What the client sends for one prepared event. Data and metadata go as JSON (content type
 * `application/json`), so ESDB's own tools and projections can read them; the client serialises them
 * again, which is why the prepared text is parsed back here.
 */
export function toEsdbEventData(event: PreparedEvent): EsdbEventData {
  return {
    id: event.id,
    contentType: 'application/json',
    type: event.type,
    // The client's JSONType leaves out top-level numbers, booleans and null, but it only ever
    // JSON.stringify-s the value, which handles them all.
    data: JSON.parse(event.data) as JSONType,
    metadata: JSON.parse(event.metadata) as JSONType,
  };
}

/**
 * The contract's event for an ESDB record, or undefined for ESDB's own events.
 *
 * @throws StoreUnavailableError when the record has no position (see {@link recordPosition}).
 */
export function toRecordedEvent(record: EsdbRecordedEvent): RecordedEvent | undefined {
  if (isSystemEvent(record.streamId, record.type)) return undefined;
  return {
    id: record.id,
    type: record.type,
    streamName: record.streamId,
    revision: record.revision,
    position: recordPosition(record),
    data: toJsonValue(record.data),
    metadata: toMetadata(record.metadata),
    recordedAt: record.created,
  };
}

/**
 * What the idempotency rule compares of a stored record, without its position (servers before 22.10
 * leave that out of stream reads).
 */
export function toStoredDecision(record: EsdbRecordedEvent): Pick<StoredSlot, 'id' | 'type' | 'data' | 'metadata'> {
  return { id: record.id, type: record.type, data: toJsonValue(record.data), metadata: toMetadata(record.metadata) };
}

/**
 * A record's `$all` position.
 *
 * @throws StoreUnavailableError when it has none: servers before 22.10 leave it out of stream reads.
 */
export function recordPosition(record: EsdbRecordedEvent): Position {
  if (!record.position) {
    throw new StoreUnavailableError(
      `EventStoreDB returned event ${record.id} of stream "${record.streamId}" without its position; ` +
        'eventfold needs EventStoreDB 22.10 or later',
    );
  }
  return toPosition(record.position);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The client hands back JSON content parsed. Bytes come from events written by other tools as
 * `application/octet-stream`: they are parsed when they hold JSON, and otherwise given as base64 text
 * rather than dropped.
 */
export function toJsonValue(data: unknown): JsonValue {
  if (!(data instanceof Uint8Array)) return data as JsonValue;
  try {
    return JSON.parse(decoder.decode(data)) as JsonValue;
  } catch {
    return Buffer.from(data).toString('base64');
  }
}

/**
 * Metadata is always a JSON object here. Events eventfold wrote always have one; an event written by
 * another tool with no metadata, or metadata that is not an object, reads as `{}`. The chain record is
 * the store's, never the caller's: it is left out.
 */
export function toMetadata(metadata: unknown): EventMetadata {
  const value = toJsonValue(metadata ?? {});
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  if (!Object.hasOwn(value, CHAIN_METADATA_KEY)) return value;
  const { [CHAIN_METADATA_KEY]: _chain, ...metadataOnly } = value;
  return metadataOnly;
}

/** Never echo a password back in an error message. */
export function redactConnectionString(text: string): string {
  return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
