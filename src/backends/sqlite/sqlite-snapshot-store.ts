import type Database from 'better-sqlite3';
import type { JsonValue } from '../../event-store/event-store';
import { Position } from '../../event-store/position';
import { parseRecentCommandIds } from '../../commands/recent-commands';
import type { Snapshot, SnapshotStore } from '../../commands/snapshot-store';

interface SnapshotRow {
  revision: number;
  position: string;
  version: number;
  state: string;
  recent_commands: string;
}

interface PendingSave {
  readonly snapshot: Snapshot;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Snapshots in their own table of the event store's SQLite file (`SqliteEventStore.database`). Saves
 * that arrive in the same event-loop turn share one transaction, so that snapshotting under load costs
 * one sync to disk per turn rather than one per stream.
 *
 * @example
 * const store = SqliteEventStore.open('./data/events.db');
 * const snapshots = new SqliteSnapshotStore(store.database);
 */
export class SqliteSnapshotStore implements SnapshotStore {
  private readonly selectSnapshot: Database.Statement<[string], SnapshotRow>;
  private readonly upsertSnapshot: Database.Statement<[string, number, string, number, string, string, number]>;
  private pending: PendingSave[] = [];
  private flushScheduled = false;

  constructor(private readonly db: Database.Database) {
    db.exec(
      `CREATE TABLE IF NOT EXISTS eventfold_snapshots (
         stream_name TEXT PRIMARY KEY,
         revision INTEGER NOT NULL,
         position TEXT NOT NULL,
         version INTEGER NOT NULL,
         state TEXT NOT NULL,
         recent_commands TEXT NOT NULL,
         saved_at INTEGER NOT NULL
       ) WITHOUT ROWID`,
    );
    this.selectSnapshot = db.prepare('SELECT revision, position, version, state, recent_commands FROM eventfold_snapshots WHERE stream_name = ?');
    // The WHERE clause is the "keep the newer" rule (see SnapshotStore.save), applied atomically.
    this.upsertSnapshot = db.prepare(
      `INSERT INTO eventfold_snapshots (stream_name, revision, position, version, state, recent_commands, saved_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (stream_name) DO UPDATE SET
         revision = excluded.revision, position = excluded.position, version = excluded.version,
         state = excluded.state, recent_commands = excluded.recent_commands, saved_at = excluded.saved_at
       WHERE excluded.version <> eventfold_snapshots.version OR excluded.revision > eventfold_snapshots.revision`,
    );
  }

  load(streamName: string): Promise<Snapshot | undefined> {
    return new Promise((resolve) => {
      const row = this.selectSnapshot.get(streamName);
      resolve(
        row && {
          streamName,
          revision: BigInt(row.revision),
          position: Position.parse(row.position),
          version: row.version,
          state: JSON.parse(row.state) as JsonValue,
          recentCommandIds: parseRecentCommandIds(JSON.parse(row.recent_commands)),
        },
      );
    });
  }

  save(snapshot: Snapshot): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ snapshot, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    const savedAt = Date.now();
    const failures = new Map<PendingSave, unknown>();
    try {
      this.db.transaction(() => {
        for (const save of batch) {
          const { streamName, revision, position, version, state, recentCommandIds } = save.snapshot;
          try {
            const recent = JSON.stringify(recentCommandIds);
            this.upsertSnapshot.run(streamName, Number(revision), position.toString(), version, JSON.stringify(state), recent, savedAt);
          } catch (error) {
            failures.set(save, error);
          }
        }
      }).immediate();
    } catch (error) {
      for (const save of batch) save.reject(error);
      return;
    }
    for (const save of batch) {
      if (failures.has(save)) save.reject(failures.get(save));
      else save.resolve();
    }
  }
}
