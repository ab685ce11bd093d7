import type { JsonValue } from '../event-store/event-store';
import type { Position } from '../event-store/position';

/**
 * An aggregate's state folded up to `revision`, saved so that loading reads only the events after it.
 * A cache: losing one costs a longer read, never correctness.
 *
 * @example
 * const snapshot: Snapshot = { streamName: 'cart-1', revision: 99n, position, version: 1, state: { status: 'open' }, recentCommandIds: [] };
 */
export interface Snapshot {
  readonly streamName: string;
  /** The revision of the last event folded into `state`. */
  readonly revision: bigint;
  /** That event's global position. */
  readonly position: Position;
  /** The aggregate's `snapshots.version` when it was saved; any other version is ignored on load. */
  readonly version: number;
  readonly state: JsonValue;
  /**
   * The ids of the last commands folded into `state`, oldest first, so that a retried command hidden
   * behind the snapshot is still recognised.
   */
  readonly recentCommandIds: readonly string[];
}

/**
 * Where snapshots live: one (the newest) per stream.
 *
 * @example
 * const snapshots = new SqliteSnapshotStore(store.database);
 * await handleCommand({ store, snapshots }, cart, request);
 */
export interface SnapshotStore {
  load(streamName: string): Promise<Snapshot | undefined>;
  /**
   * Keeps the newer snapshot: a save at a lower or equal revision under the same version is ignored,
   * so racing writers never move a snapshot backwards. A different version always replaces.
   */
  save(snapshot: Snapshot): Promise<void>;
}

/** The rule every backend applies in its own way (SQL `WHERE`, a comparison in memory). */
export function replacesSnapshot(current: Pick<Snapshot, 'revision' | 'version'> | undefined, next: Snapshot): boolean {
  return current === undefined || current.version !== next.version || next.revision > current.revision;
}
