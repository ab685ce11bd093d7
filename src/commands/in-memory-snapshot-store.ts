import type { JsonValue } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { replacesSnapshot, type Snapshot, type SnapshotStore } from './snapshot-store';

interface StoredSnapshot {
  readonly revision: bigint;
  readonly position: Position;
  readonly version: number;
  /** Serialised, so that a caller mutating a loaded state cannot change the stored one. */
  readonly state: string;
  readonly recentCommandIds: readonly string[];
}

/**
 * Snapshots in process memory, for unit tests and the in-memory event store.
 *
 * @example
 * const receipt = await handleCommand({ store: new InMemoryEventStore(), snapshots: new InMemorySnapshotStore() }, cart, request);
 */
export class InMemorySnapshotStore implements SnapshotStore {
  private readonly snapshots = new Map<string, StoredSnapshot>();

  load(streamName: string): Promise<Snapshot | undefined> {
    const stored = this.snapshots.get(streamName);
    if (!stored) return Promise.resolve(undefined);
    const { revision, position, version, state, recentCommandIds } = stored;
    return Promise.resolve({ streamName, revision, position, version, state: JSON.parse(state) as JsonValue, recentCommandIds: [...recentCommandIds] });
  }

  save(snapshot: Snapshot): Promise<void> {
    // A throwing executor rejects the promise: a state JSON cannot hold fails the save, not the caller.
    return new Promise((resolve) => {
      if (replacesSnapshot(this.snapshots.get(snapshot.streamName), snapshot)) {
        const { revision, position, version } = snapshot;
        const recentCommandIds = [...snapshot.recentCommandIds];
        this.snapshots.set(snapshot.streamName, { revision, position, version, state: JSON.stringify(snapshot.state), recentCommandIds });
      }
      resolve();
    });
  }

  /** How many streams have a snapshot; for tests. */
  get size(): number {
    return this.snapshots.size;
  }
}
