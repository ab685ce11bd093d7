import { hash as oneShotHash } from 'node:crypto';
import { InvalidArgumentError } from './errors';
import type { RecordedEvent } from './event-store';
import { GENESIS_HASH } from './hash-chain';

/**
 * A stream's lifecycle settings, as in EventStoreDB: reads leave out events before `truncateBefore`,
 * all but the last `maxCount`, and those older than `maxAge` seconds. The events stay stored (and chained):
 * `verify`, audit exports and reads with `includeHidden` still see them.
 *
 * @example
 * await store.setStreamMetadata('cart-7', { maxCount: 100 });
 */
export interface StreamMetadata {
  readonly maxCount?: number;
  /** In seconds. */
  readonly maxAge?: number;
  /** The first revision reads show. */
  readonly truncateBefore?: bigint;
  /** Set by `deleteStream` (a soft delete): reads see no stream until it is appended to again. */
  readonly deletedAt?: string;
  /** Set by `archiveStreams`: the archive holding the stream, with its SHA-256. */
  readonly archivedTo?: string;
  /**
   * Set by `archiveStreams`: revisions before it were moved out (to `archivedTo` or an earlier archive); only
   * a stub per event (its hash and place) stays in the store. Kept when the metadata is replaced.
   */
  readonly archivedBefore?: bigint;
}

/** Metadata only the kit sets (soft deletes, archiving). */
export type SystemMetadataKey = 'deletedAt' | 'archivedTo' | 'archivedBefore';

/** What a lifecycle record did. */
export type LifecycleAction = 'metadata' | 'delete' | 'archive';

/**
 * One lifecycle action as recorded: the stream's whole metadata after it. Records form their own hash
 * chain (the previous record's hash, the stream, the action, the metadata text and the time), which
 * `verify` checks like the events'.
 */
export interface LifecycleRecord {
  readonly sequence: bigint;
  readonly streamName: string;
  readonly action: LifecycleAction;
  /** The stream's metadata after the action, as stored JSON text (revisions as strings). */
  readonly metadata: string;
  readonly recordedAt: string;
  readonly hash: Buffer | null;
}

/** Stores that keep stream metadata and soft deletes (memory, SQLite, PostgreSQL). */
export interface StreamLifecycleHost {
  /** Replaces the stream's metadata; recorded in the lifecycle log. */
  setStreamMetadata(streamName: string, metadata: Omit<StreamMetadata, SystemMetadataKey>): Promise<void>;
  /** The stream's metadata now (`{}` when none was set). */
  getStreamMetadata(streamName: string): Promise<StreamMetadata>;
  /**
   * Soft delete: reads see no stream (up to its current revision) until it is appended to again; the
   * events stay for `verify` and audits. Recorded in the lifecycle log.
   */
  deleteStream(streamName: string, options?: DeleteStreamOptions): Promise<void>;
}

export interface DeleteStreamOptions {
  /** Recorded as an archiving: the archive (name and SHA-256) that holds the stream. Set by `archiveStreams`. */
  readonly archivedTo?: string;
  /**
   * With `archivedTo`: the last revision the archive holds. Events up to it lose their payload (data and
   * metadata) in the same transaction that records the archiving; events appended since stay.
   */
  readonly archivedThrough?: bigint;
}

/** Whether a store keeps stream metadata and soft deletes. */
export function isStreamLifecycleHost(store: unknown): store is StreamLifecycleHost {
  return typeof (store as Partial<StreamLifecycleHost> | undefined)?.setStreamMetadata === 'function';
}

const LIFECYCLE_DOMAIN = Buffer.from('eventfold/lifecycle/v1', 'utf8');

/** The hash of a lifecycle record given the record before it (GENESIS_HASH for the first). */
export function lifecycleHash(previous: Buffer, record: Pick<LifecycleRecord, 'streamName' | 'action' | 'metadata' | 'recordedAt'>): Buffer {
  const digest = (text: string) => oneShotHash('sha256', text, 'buffer');
  return oneShotHash(
    'sha256',
    Buffer.concat([LIFECYCLE_DOMAIN, previous, digest(record.streamName), digest(record.action), digest(record.metadata), digest(record.recordedAt)]),
    'buffer',
  );
}

export { GENESIS_HASH };

/** Checks metadata a caller gives; throws before anything is recorded. */
export function validateStreamMetadata(metadata: unknown): Omit<StreamMetadata, SystemMetadataKey> {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new InvalidArgumentError('stream metadata must be an object');
  const { maxCount, maxAge, truncateBefore, ...rest } = metadata as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) throw new InvalidArgumentError(`unknown stream metadata ${unknownKeys.map((key) => JSON.stringify(key)).join(', ')}; use maxCount, maxAge, truncateBefore`);
  const positive = (value: unknown, name: string): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1, got ${describe(value)}`);
    return value;
  };
  const count = positive(maxCount, 'maxCount');
  const age = positive(maxAge, 'maxAge');
  if (truncateBefore !== undefined && (typeof truncateBefore !== 'bigint' || truncateBefore < 0n)) {
    throw new InvalidArgumentError(`truncateBefore must be a bigint >= 0n, got ${describe(truncateBefore)}`);
  }
  return { ...(count !== undefined ? { maxCount: count } : {}), ...(age !== undefined ? { maxAge: age } : {}), ...(truncateBefore !== undefined ? { truncateBefore } : {}) };
}

/** Metadata as stored text: revisions as strings, keys in a fixed order. */
export function serialiseStreamMetadata(metadata: StreamMetadata): string {
  return JSON.stringify({
    ...(metadata.maxCount !== undefined ? { maxCount: metadata.maxCount } : {}),
    ...(metadata.maxAge !== undefined ? { maxAge: metadata.maxAge } : {}),
    ...(metadata.truncateBefore !== undefined ? { truncateBefore: metadata.truncateBefore.toString() } : {}),
    ...(metadata.deletedAt !== undefined ? { deletedAt: metadata.deletedAt } : {}),
    ...(metadata.archivedTo !== undefined ? { archivedTo: metadata.archivedTo } : {}),
    ...(metadata.archivedBefore !== undefined ? { archivedBefore: metadata.archivedBefore.toString() } : {}),
  });
}

export function parseStreamMetadata(text: string | undefined): StreamMetadata {
  if (text === undefined) return {};
  const raw = JSON.parse(text) as { maxCount?: number; maxAge?: number; truncateBefore?: string; deletedAt?: string; archivedTo?: string; archivedBefore?: string };
  return {
    ...(raw.maxCount !== undefined ? { maxCount: raw.maxCount } : {}),
    ...(raw.maxAge !== undefined ? { maxAge: raw.maxAge } : {}),
    ...(raw.truncateBefore !== undefined ? { truncateBefore: BigInt(raw.truncateBefore) } : {}),
    ...(raw.deletedAt !== undefined ? { deletedAt: raw.deletedAt } : {}),
    ...(raw.archivedTo !== undefined ? { archivedTo: raw.archivedTo } : {}),
    ...(raw.archivedBefore !== undefined ? { archivedBefore: BigInt(raw.archivedBefore) } : {}),
  };
}

/**
 * For an `archive` record: the revisions whose payload the same transaction removes (those before
 * `archivedBefore`). Undefined for every other action.
 */
export function archivedBeforeOf(action: LifecycleAction, metadataText: string): bigint | undefined {
  return action === 'archive' ? parseStreamMetadata(metadataText).archivedBefore : undefined;
}

/** Whether metadata hides anything at all. */
export function hidesEvents(metadata: StreamMetadata): boolean {
  return metadata.maxCount !== undefined || metadata.maxAge !== undefined || metadata.truncateBefore !== undefined || metadata.archivedBefore !== undefined;
}

/**
 * The rule reads apply: an event is shown when it is at or after `truncateBefore`, among the last
 * `maxCount` of a stream whose last revision is `lastRevision`, and younger than `maxAge` at `now`.
 */
export function visibleUnder(metadata: StreamMetadata, lastRevision: bigint, now: number): (event: RecordedEvent) => boolean {
  const firstShown = [
    metadata.truncateBefore ?? 0n,
    metadata.archivedBefore ?? 0n,
    metadata.maxCount !== undefined ? lastRevision - BigInt(metadata.maxCount) + 1n : 0n,
  ].reduce((left, right) => (left > right ? left : right));
  const oldest = metadata.maxAge !== undefined ? now - metadata.maxAge * 1_000 : Number.NEGATIVE_INFINITY;
  return (event) => event.revision >= firstShown && event.recordedAt.getTime() >= oldest;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
