import { createHash, hash as oneShotHash } from 'node:crypto';
import type { Position } from './position';
import type { LifecycleRecord } from './stream-lifecycle';

/**
 * The hash chain that makes history provable (see docs/audit.md and the README's "For auditors").
 *
 * Every event's hash covers the previous event's hash in its stream and the event as stored:
 *
 *     eventHash = SHA-256( "eventfold/event/v1" ‖ previous ‖ SHA-256(streamName) ‖ int64be(revision)
 *                          ‖ SHA-256(id) ‖ SHA-256(type) ‖ SHA-256(data) ‖ SHA-256(metadata) )
 *
 * where `previous` is the hash of revision − 1 (32 zero bytes for revision 0), strings are UTF-8 and
 * `data` / `metadata` are the JSON text exactly as stored. Each variable-length part enters as its own
 * digest, so the encoding is unambiguous and the same in JavaScript and in SQL (PostgreSQL computes it with
 * `sha256()` in its append; see postgres-schema.ts).
 *
 * The store also chains its committed batches in `$all` order, so that a deleted stream, reordered
 * batches or a cut log are found too:
 *
 *     batchHash = SHA-256( "eventfold/batch/v1" ‖ previousBatch ‖ int64be(batch number) ‖ int64be(count)
 *                          ‖ eventHash₁ ‖ … ‖ eventHashₙ )
 *
 * with the event hashes in position order and `previousBatch` the hash of batch number − 1 (32 zero bytes
 * before batch 1).
 */
export const HASH_BYTES = 32;
/** The `previous` of a stream's first event and of the first batch. */
export const GENESIS_HASH: Buffer = Buffer.alloc(HASH_BYTES);

const EVENT_DOMAIN = Buffer.from('eventfold/event/v1', 'utf8');
const BATCH_DOMAIN = Buffer.from('eventfold/batch/v1', 'utf8');

/** The parts of a stored event the chain covers: `data` and `metadata` as the stored JSON text. */
export interface HashedEventFields {
  readonly streamName: string;
  readonly revision: bigint;
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

// One-shot hashing: about 1.7× faster than a hash object per part on small strings.
function digest(text: string): Buffer {
  return oneShotHash('sha256', text, 'buffer');
}

function int64(value: bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(value);
  return buffer;
}

/**
 * The hash of one event given the hash of the event before it in its stream.
 *
 * @example
 * const first = eventHash(GENESIS_HASH, { streamName: 'order-1', revision: 0n, id, type: 'OrderPlaced', data: '{}', metadata: '{}' });
 */
export function eventHash(previous: Buffer, event: HashedEventFields): Buffer {
  const input = Buffer.allocUnsafe(EVENT_INPUT_BYTES);
  fillEventInput(input, previous, digest(event.streamName), event.revision, digest(event.id), digest(event.type), digest(event.data), digest(event.metadata));
  return oneShotHash('sha256', input, 'buffer');
}

/** domain ‖ previous ‖ stream ‖ revision ‖ id ‖ type ‖ data ‖ metadata: 18 + 32 + 32 + 8 + 4 × 32 bytes. */
const EVENT_INPUT_BYTES = EVENT_DOMAIN.length + 6 * HASH_BYTES + 8;

/** Writes the input of an event hash into `input` (one buffer, no concatenation). */
function fillEventInput(input: Buffer, previous: Buffer, stream: Buffer, revision: bigint, id: Buffer, type: Buffer, data: Buffer, metadata: Buffer): void {
  let offset = EVENT_DOMAIN.copy(input, 0);
  offset += previous.copy(input, offset);
  offset += stream.copy(input, offset);
  offset = input.writeBigInt64BE(revision, offset);
  offset += id.copy(input, offset);
  offset += type.copy(input, offset);
  offset += data.copy(input, offset);
  metadata.copy(input, offset);
}

/**
 * The hash of one committed batch given the hash of the batch before it.
 *
 * @example
 * const head = batchHash(GENESIS_HASH, 1n, [firstEventHash, secondEventHash]);
 */
export function batchHash(previous: Buffer, batch: bigint, eventHashes: readonly Buffer[]): Buffer {
  const hash = createHash('sha256').update(BATCH_DOMAIN).update(previous).update(int64(batch)).update(int64(BigInt(eventHashes.length)));
  for (const event of eventHashes) hash.update(event);
  return hash.digest();
}

/**
 * Chains the events of one append: each event's hash from the one before. `previous` is the stream's
 * head hash (GENESIS_HASH for a new stream), `firstRevision` the revision of `events[0]`.
 */
export function chainEvents(
  previous: Buffer,
  streamName: string,
  firstRevision: bigint,
  events: readonly { readonly id: string; readonly type: string; readonly data: string; readonly metadata: string }[],
): Buffer[] {
  // The same hashes as `eventHash` event by event; the stream's digest is taken once, and a type or a
  // metadata text equal to the previous event's reuses its digest (a batch mostly repeats them).
  const stream = digest(streamName);
  const input = Buffer.allocUnsafe(EVENT_INPUT_BYTES);
  const hashes: Buffer[] = [];
  let last = previous;
  let type: { text: string; digest: Buffer } | undefined;
  let metadata: { text: string; digest: Buffer } | undefined;
  events.forEach((event, index) => {
    if (type?.text !== event.type) type = { text: event.type, digest: digest(event.type) };
    if (metadata?.text !== event.metadata) metadata = { text: event.metadata, digest: digest(event.metadata) };
    fillEventInput(input, last, stream, firstRevision + BigInt(index), digest(event.id), type.digest, digest(event.data), metadata.digest);
    last = oneShotHash('sha256', input, 'buffer');
    hashes.push(last);
  });
  return hashes;
}

/** An event as the chain sees it: exactly what is stored, text for text, and the hash stored with it. */
export interface ChainedEvent extends HashedEventFields {
  readonly position: Position;
  readonly recordedAt: Date;
  /** The stored hash; null when the row has none (written around the kit, or before the migration). */
  readonly hash: Buffer | null;
  /**
   * Set on an archived event's stub: the sequence of the lifecycle record that moved its payload to an
   * archive. `data` and `metadata` are then empty; the hash is what the archived content must match.
   */
  readonly archivedBy?: bigint;
}

/** One committed batch of the `$all` chain, with the events the store finds in it (in position order). */
export interface ChainBatch {
  readonly batch: bigint;
  /** How many events the batch recorded when it was committed. */
  readonly eventCount: number;
  /**
   * The batch's hash in the `$all` chain; null while it is not sealed yet (PostgreSQL seals a batch, in
   * `$all` order, once its transaction and every older one have finished; `batch` is then 0n).
   */
  readonly hash: Buffer | null;
  /** The event hashes the batch recorded when it committed, in order (PostgreSQL), to check a batch not sealed yet. */
  readonly committedHashes?: Buffer;
  readonly events: readonly ChainedEvent[];
}

/** A batch without its events. */
export type ChainBatchHead = Omit<ChainBatch, 'events'>;

/** A stream as the store's stream table records it. */
export interface StreamHead {
  readonly streamName: string;
  /** The revision of the stream's last event. */
  readonly revision: bigint;
}

/**
 * A consistent, read-only view of the stored chain, for `verifyStore` and audit exports. Reads see one
 * snapshot of the store from `openChainSnapshot()` to `close()`.
 */
export interface ChainSnapshot {
  /** Up to `limit` batches numbered above `after` (0n: from the first), in order. */
  readBatches(after: bigint, limit: number): Promise<readonly ChainBatch[]>;
  /** Batches committed but not sealed into the chain yet, in `$all` order, with their events. */
  readPendingBatches(): Promise<readonly ChainBatch[]>;
  /** The last batch of the chain; undefined when there is none. */
  readChainHead(): Promise<ChainBatchHead | undefined>;
  /** One batch, without its events. */
  readBatchHead(batch: bigint): Promise<ChainBatchHead | undefined>;
  /** Up to `limit` rows of the stream table after `after` (by name), in name order. */
  readStreamHeads(after: string | undefined, limit: number): Promise<readonly StreamHead[]>;
  /** The revision the stream table records for one stream; undefined when it has no row. */
  readStreamHead(streamName: string): Promise<bigint | undefined>;
  /** Up to `limit` events of one stream from revision `from` (inclusive), in revision order. */
  readStreamEvents(streamName: string, from: bigint, limit: number): Promise<readonly ChainedEvent[]>;
  /** How many events the store holds. */
  countEvents(): Promise<bigint>;
  /** An event that no batch covers (written around the kit), if any. */
  findUnchainedEvent(): Promise<ChainedEvent | undefined>;
  /** The batches that hold events of `streamName`, in order, each with every event hash it holds. */
  readBatchesOfStream(streamName: string, after: bigint, limit: number): Promise<readonly ChainBatch[]>;
  /** Up to `limit` lifecycle records numbered above `after`, in order. */
  readLifecycle(after: bigint, limit: number): Promise<readonly LifecycleRecord[]>;
  close(): Promise<void>;
}

/** A store that keeps the hash chain (memory, SQLite, PostgreSQL). */
export interface HashChainedStore {
  openChainSnapshot(): Promise<ChainSnapshot>;
}

/** Whether a store keeps the hash chain. */
export function isHashChainedStore(store: unknown): store is HashChainedStore {
  return typeof (store as Partial<HashChainedStore> | undefined)?.openChainSnapshot === 'function';
}
