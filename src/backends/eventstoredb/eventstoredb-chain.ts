import type { EventData as EsdbEventData, JSONType, RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import { InvalidEventError } from '../../event-store/errors';
import type { JsonObject } from '../../event-store/event-store';
import { HASH_BYTES, chainEvents } from '../../event-store/hash-chain';
import type { ChainLink, StreamChainEvent } from '../../event-store/stream-chain';
import type { PreparedEvent } from '../../event-store/validation';
import { CHAIN_METADATA_KEY, toJsonValue } from './eventstoredb-mapping';

/**
 * How the hash chain rides in EventStoreDB metadata. Each event eventfold appends carries, under the
 * reserved top-level key {@link CHAIN_METADATA_KEY} of its metadata,
 *
 *     { "v": 1, "hash": "<hex>", "previous": "<hex>" }
 *
 * where `hash` is the event's hash exactly as the other backends compute it (`eventHash` over the previous
 * hash, stream, revision, id, type, data and metadata) and `previous` the hash it was chained to. The
 * metadata the hash covers is the caller's metadata, i.e. the stored metadata without the reserved key:
 * the chain record cannot cover itself. Data and metadata are covered as the JSON text eventfold
 * prepared; the client sends `JSON.stringify` of it and parses it back on read, and `JSON.stringify`
 * reproduces its own output exactly from the parsed value (same key order, same number and string
 * forms), so the text is recovered from what the server holds. Bytes changed on the server, or JSON
 * that is no longer eventfold's own text, give another text and so another hash.
 */

/** The chain format this code writes; a record with another version is reported, never guessed at. */
export const CHAIN_FORMAT_VERSION = 1;

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * The caller's metadata of each event, parsed once. The reserved key is refused before anything is
 * read or written, so that a caller can neither forge a chain record nor have one silently replaced.
 *
 * @throws InvalidEventError when an event's metadata uses {@link CHAIN_METADATA_KEY}.
 */
export function userMetadataOf(events: readonly PreparedEvent[]): JsonObject[] {
  return events.map((event, index) => {
    const metadata = JSON.parse(event.metadata) as JsonObject;
    if (Object.hasOwn(metadata, CHAIN_METADATA_KEY)) {
      throw new InvalidEventError(index, `metadata.${CHAIN_METADATA_KEY}`, 'is reserved for the hash chain on EventStoreDB and cannot be set');
    }
    return metadata;
  });
}

/**
 * What the client sends for the events of one append: each chained to the one before, the first to
 * `previous` (the stream's last hash, or 32 zero bytes), at revisions from `firstRevision` on.
 */
export function toChainedEsdbEvents(
  streamName: string,
  firstRevision: bigint,
  previous: Buffer,
  events: readonly PreparedEvent[],
  metadata: readonly JsonObject[],
): EsdbEventData[] {
  const hashes = chainEvents(previous, streamName, firstRevision, events);
  return events.map((event, index) => {
    const link = { v: CHAIN_FORMAT_VERSION, hash: hashes[index]!.toString('hex'), previous: (index === 0 ? previous : hashes[index - 1]!).toString('hex') };
    return {
      id: event.id,
      contentType: 'application/json',
      type: event.type,
      // See toEsdbEventData: the client only JSON.stringify-s these.
      data: JSON.parse(event.data) as JSONType,
      metadata: { ...metadata[index]!, [CHAIN_METADATA_KEY]: link },
    };
  });
}

/** A stored record as the chain sees it: the text its hash covers, and the link it carries. */
export function toChainEvent(record: EsdbRecordedEvent): StreamChainEvent {
  const stored = toJsonValue(record.metadata ?? {});
  let link: ChainLink | null | 'malformed' = null;
  let metadata = stored;
  if (stored !== null && typeof stored === 'object' && !Array.isArray(stored) && Object.hasOwn(stored, CHAIN_METADATA_KEY)) {
    const { [CHAIN_METADATA_KEY]: record, ...rest } = stored;
    link = readLink(record);
    metadata = rest;
  }
  return {
    streamName: record.streamId,
    revision: record.revision,
    id: record.id,
    type: record.type,
    data: JSON.stringify(toJsonValue(record.data)) ?? '',
    metadata: JSON.stringify(metadata),
    link,
  };
}

/** The stored hash of a record, when it carries a readable one (what the next append chains to). */
export function storedHash(record: EsdbRecordedEvent): Buffer | null {
  const link = toChainEvent(record).link;
  return link === null || link === 'malformed' ? null : link.hash;
}

function readLink(value: unknown): ChainLink | 'malformed' {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'malformed';
  const { v, hash, previous } = value as { v?: unknown; hash?: unknown; previous?: unknown };
  if (v !== CHAIN_FORMAT_VERSION || typeof hash !== 'string' || typeof previous !== 'string') return 'malformed';
  if (!HEX_HASH.test(hash) || !HEX_HASH.test(previous)) return 'malformed';
  const link = { hash: Buffer.from(hash, 'hex'), previous: Buffer.from(previous, 'hex') };
  return link.hash.length === HASH_BYTES && link.previous.length === HASH_BYTES ? link : 'malformed';
}
