import type Database from 'better-sqlite3';
import { Position } from '../../event-store/position';
import { InvalidReactorError, toError, type ReactorErrorInfo } from '../../handlers/errors';
import {
  pageOf,
  parkedEvent,
  parseParkedCursor,
  redriveIds,
  type Invocation,
  type InvocationQuery,
  type LeaseGrant,
  type LeaseInfo,
  type ParkedEvent,
  type ParkedEventRecord,
  type ParkedPage,
  type ParkedQuery,
  type ReactorStateStore,
  type RedriveParkedRequest,
} from '../../handlers/reactor-state-store';
import { expandSegment, toSegments } from '../../handlers/invocation-segments';
import type { HandledEvent } from '../../handlers/timer-store';
import { decodeEvent, encodeEvent } from '../../handlers/stored-event';
import { migrateSqlite } from './migrations';

/** Versioned schema steps; each runs once, in the transaction that records it. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE eventfold_reactor_checkpoints (
     reactor TEXT NOT NULL,
     partition INTEGER NOT NULL,
     position TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (reactor, partition)
   ) WITHOUT ROWID;
   CREATE TABLE eventfold_reactor_parked (
     reactor TEXT NOT NULL,
     event_id TEXT NOT NULL,
     stream_name TEXT NOT NULL,
     partition INTEGER NOT NULL,
     position TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('parked', 'waiting')),
     attempts INTEGER NOT NULL,
     error TEXT NOT NULL,
     event TEXT NOT NULL,
     parked_at INTEGER NOT NULL,
     redrive_requested INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (reactor, event_id)
   ) WITHOUT ROWID;
   CREATE INDEX eventfold_reactor_parked_stream ON eventfold_reactor_parked (reactor, stream_name, position);
   CREATE INDEX eventfold_reactor_parked_position ON eventfold_reactor_parked (reactor, position);
   CREATE TABLE eventfold_reactor_invocations (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     reactor TEXT NOT NULL,
     event_id TEXT NOT NULL,
     stream_name TEXT NOT NULL,
     position TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     outcome TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     error TEXT,
     at INTEGER NOT NULL,
     worker_id TEXT NOT NULL
   );
   CREATE INDEX eventfold_reactor_invocations_at ON eventfold_reactor_invocations (at);
   CREATE INDEX eventfold_reactor_invocations_event ON eventfold_reactor_invocations (event_id);
   CREATE INDEX eventfold_reactor_invocations_reactor ON eventfold_reactor_invocations (reactor, id);
   CREATE TABLE eventfold_reactor_leases (
     group_name TEXT NOT NULL,
     partition INTEGER NOT NULL,
     owner TEXT,
     expires_at INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (group_name, partition)
   ) WITHOUT ROWID;
   CREATE TABLE eventfold_reactor_workers (
     group_name TEXT NOT NULL,
     worker_id TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (group_name, worker_id)
   ) WITHOUT ROWID;`,
  // The invocation log in segments (see invocation-segments.ts): one row per flush instead of one
  // per attempt, so that logging every attempt costs less than handling it.
  `CREATE TABLE eventfold_reactor_invocation_segments (
     id INTEGER PRIMARY KEY,
     reactor TEXT NOT NULL,
     worker_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     first_position TEXT NOT NULL,
     last_position TEXT NOT NULL,
     count INTEGER NOT NULL,
     entries TEXT NOT NULL
   );
   INSERT INTO eventfold_reactor_invocation_segments (reactor, worker_id, at, first_position, last_position, count, entries)
     SELECT reactor, worker_id, at, position, position, 1,
            json_array(json_array(event_id, stream_name, position, attempt, outcome, duration_ms, json(error), at))
     FROM eventfold_reactor_invocations ORDER BY id;
   DROP TABLE eventfold_reactor_invocations;
   CREATE INDEX eventfold_reactor_invocation_segments_at ON eventfold_reactor_invocation_segments (at);
   CREATE INDEX eventfold_reactor_invocation_segments_reactor ON eventfold_reactor_invocation_segments (reactor, id);
   CREATE INDEX eventfold_reactor_invocation_segments_position ON eventfold_reactor_invocation_segments (last_position);`,
  // Events whose handlers changed timers, written in the timers' transaction (see HandledEvent) and
  // deleted by the checkpoint that passes them.
  `CREATE TABLE eventfold_reactor_handled (
     reactor TEXT NOT NULL,
     partition INTEGER NOT NULL,
     position TEXT NOT NULL,
     event_id TEXT NOT NULL,
     handled_at INTEGER NOT NULL,
     PRIMARY KEY (reactor, partition, position)
   ) WITHOUT ROWID;`,
];

interface ParkedRow {
  reactor: string;
  partition: number;
  status: 'parked' | 'waiting';
  attempts: number;
  error: string;
  event: string;
  parked_at: number;
  redrive_requested: number;
}

interface SegmentRow {
  reactor: string;
  worker_id: string;
  entries: string;
}

const PARKED_COLUMNS = 'reactor, partition, status, attempts, error, event, parked_at, redrive_requested';

/**
 * Reactor bookkeeping in the event store's SQLite file (`SqliteEventStore.database`): checkpoints,
 * parked events, the invocation log and leases, in tables of their own with versioned migrations.
 * Writes are synchronous transactions, so a checkpoint is on disk when the promise resolves.
 *
 * @example
 * const state = SqliteReactorStateStore.open(sqliteStore.database);
 */
export class SqliteReactorStateStore implements ReactorStateStore {
  readonly backend = 'sqlite' as const;
  readonly shared = true;
  readonly singleWriter = true;
  private readonly statements: ReturnType<SqliteReactorStateStore['prepare']>;

  private constructor(private readonly db: Database.Database) {
    this.statements = this.prepare();
  }

  /** Creates or migrates the tables, then returns the store. */
  static open(db: Database.Database): SqliteReactorStateStore {
    migrateSqlite(db, { table: 'eventfold_reactor_schema', steps: MIGRATIONS });
    return new SqliteReactorStateStore(db);
  }

  private prepare() {
    const db = this.db;
    return {
      countPartitions: db.prepare<[string], { count: number }>('SELECT COUNT(*) AS count FROM eventfold_reactor_leases WHERE group_name = ?'),
      insertPartition: db.prepare<[string, number]>(
        'INSERT INTO eventfold_reactor_leases (group_name, partition, owner, expires_at) VALUES (?, ?, NULL, 0) ON CONFLICT DO NOTHING',
      ),
      heartbeat: db.prepare<[string, string, number]>(
        `INSERT INTO eventfold_reactor_workers (group_name, worker_id, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (group_name, worker_id) DO UPDATE SET expires_at = excluded.expires_at`,
      ),
      liveWorkers: db.prepare<[string, number], { count: number }>(
        'SELECT COUNT(*) AS count FROM eventfold_reactor_workers WHERE group_name = ? AND expires_at > ?',
      ),
      forgetWorkers: db.prepare<[string, number]>('DELETE FROM eventfold_reactor_workers WHERE group_name = ? AND expires_at < ?'),
      renew: db.prepare<[number, string, string, number], { partition: number }>(
        `UPDATE eventfold_reactor_leases SET expires_at = ? WHERE group_name = ? AND owner = ? AND expires_at > ? RETURNING partition`,
      ),
      free: db.prepare<[string, number, number], { partition: number }>(
        `SELECT partition FROM eventfold_reactor_leases WHERE group_name = ? AND (owner IS NULL OR expires_at <= ?) ORDER BY partition LIMIT ?`,
      ),
      take: db.prepare<[string, number, string, number]>(
        'UPDATE eventfold_reactor_leases SET owner = ?, expires_at = ? WHERE group_name = ? AND partition = ?',
      ),
      release: db.prepare<[string, number, string]>(
        'UPDATE eventfold_reactor_leases SET owner = NULL, expires_at = 0 WHERE group_name = ? AND partition = ? AND owner = ?',
      ),
      releaseAll: db.prepare<[string, string]>('UPDATE eventfold_reactor_leases SET owner = NULL, expires_at = 0 WHERE group_name = ? AND owner = ?'),
      leaveWorker: db.prepare<[string, string]>('DELETE FROM eventfold_reactor_workers WHERE group_name = ? AND worker_id = ?'),
      listLeases: db.prepare<[string], { partition: number; owner: string | null; expires_at: number }>(
        'SELECT partition, owner, expires_at FROM eventfold_reactor_leases WHERE group_name = ? ORDER BY partition',
      ),
      leaseHeld: db.prepare<[string, number, string, number], { partition: number }>(
        'SELECT partition FROM eventfold_reactor_leases WHERE group_name = ? AND partition = ? AND owner = ? AND expires_at > ?',
      ),
      loadCheckpoints: db.prepare<[string], { partition: number; position: string }>(
        'SELECT partition, position FROM eventfold_reactor_checkpoints WHERE reactor = ?',
      ),
      saveCheckpoint: db.prepare<[string, number, string, number]>(
        `INSERT INTO eventfold_reactor_checkpoints (reactor, partition, position, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (reactor, partition) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
         WHERE excluded.position > eventfold_reactor_checkpoints.position`,
      ),
      forgetHandled: db.prepare<[string, number, string]>('DELETE FROM eventfold_reactor_handled WHERE reactor = ? AND partition = ? AND position <= ?'),
      recordHandled: db.prepare<[string, number, string, string, number]>(
        'INSERT INTO eventfold_reactor_handled (reactor, partition, position, event_id, handled_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      handledAfter: db.prepare<[string, string, number], { position: string }>(
        `SELECT handled.position FROM eventfold_reactor_handled AS handled
         LEFT JOIN eventfold_reactor_checkpoints AS checkpoint ON checkpoint.reactor = handled.reactor AND checkpoint.partition = handled.partition
         WHERE handled.reactor = ? AND handled.partition IN (SELECT value FROM json_each(?))
           AND handled.position > coalesce(checkpoint.position, '')
         ORDER BY handled.position LIMIT ?`,
      ),
      park: db.prepare<[string, string, string, number, string, string, number, string, string, number]>(
        `INSERT INTO eventfold_reactor_parked (reactor, event_id, stream_name, partition, position, status, attempts, error, event, parked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      repark: db.prepare<[number, string, number, string, string]>(
        `UPDATE eventfold_reactor_parked SET status = 'parked', attempts = ?, error = ?, parked_at = ?, redrive_requested = 0
         WHERE reactor = ? AND event_id = ?`,
      ),
      remove: db.prepare<[string, string]>('DELETE FROM eventfold_reactor_parked WHERE reactor = ? AND event_id = ?'),
      inStream: db.prepare<[string, string], ParkedRow>(
        `SELECT ${PARKED_COLUMNS} FROM eventfold_reactor_parked WHERE reactor = ? AND stream_name = ? ORDER BY position`,
      ),
      blocked: db.prepare<[string, string], { stream_name: string }>(
        `SELECT DISTINCT stream_name FROM eventfold_reactor_parked WHERE reactor = ? AND partition IN (SELECT value FROM json_each(?))`,
      ),
      count: db.prepare<[string], { status: string; count: number }>(
        'SELECT status, COUNT(*) AS count FROM eventfold_reactor_parked WHERE reactor = ? GROUP BY status',
      ),
      requestRedrive: db.prepare<[{ reactor: string; ids: string | null; stream: string | null; limit: number }], { event_id: string }>(
        `UPDATE eventfold_reactor_parked SET redrive_requested = 1
         WHERE (reactor, event_id) IN (
           SELECT reactor, event_id FROM eventfold_reactor_parked
           WHERE reactor = @reactor AND status = 'parked' AND redrive_requested = 0
             AND (@ids IS NULL OR event_id IN (SELECT value FROM json_each(@ids))) AND (@stream IS NULL OR stream_name = @stream)
           ORDER BY position LIMIT @limit)
         RETURNING event_id`,
      ),
      redriveRequested: db.prepare<[string, string, number], ParkedRow>(
        `SELECT ${PARKED_COLUMNS} FROM eventfold_reactor_parked
         WHERE reactor = ? AND redrive_requested = 1 AND partition IN (SELECT value FROM json_each(?)) ORDER BY position LIMIT ?`,
      ),
      listParked: db.prepare<[{ reactor: string | null; stream: string | null; limit: number; position: string; afterReactor: string }], ParkedRow>(
        `SELECT ${PARKED_COLUMNS} FROM eventfold_reactor_parked
         WHERE (@reactor IS NULL OR reactor = @reactor) AND (@stream IS NULL OR stream_name = @stream)
           AND (position, reactor) > (@position, @afterReactor)
         ORDER BY position, reactor LIMIT @limit`,
      ),
      insertSegment: db.prepare<[string, string, number, string, string, number, string]>(
        `INSERT INTO eventfold_reactor_invocation_segments (reactor, worker_id, at, first_position, last_position, count, entries)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      segments: db.prepare<[{ reactor: string | null }], SegmentRow>(
        `SELECT reactor, worker_id, entries FROM eventfold_reactor_invocation_segments
         WHERE (@reactor IS NULL OR reactor = @reactor) ORDER BY id DESC`,
      ),
      segmentsAt: db.prepare<[{ reactor: string | null; position: string }], SegmentRow>(
        `SELECT reactor, worker_id, entries FROM eventfold_reactor_invocation_segments
         WHERE last_position >= @position AND first_position <= @position AND (@reactor IS NULL OR reactor = @reactor) ORDER BY id DESC`,
      ),
      prune: db.prepare<[number]>('DELETE FROM eventfold_reactor_invocation_segments WHERE at < ?'),
    };
  }

  preparePartitions(group: string, count: number): Promise<void> {
    return this.run(() =>
      this.db.transaction(() => {
        const existing = this.statements.countPartitions.get(group)!.count;
        if (existing !== 0 && existing !== count) {
          throw new InvalidReactorError(`worker group "${group}" has ${existing} partitions, not ${count}`);
        }
        for (let partition = 0; partition < count; partition++) this.statements.insertPartition.run(group, partition);
      }).immediate(),
    );
  }

  claimLeases(group: string, workerId: string, ttlMs: number, want: (liveWorkers: number) => number): Promise<LeaseGrant> {
    return this.run(() =>
      this.db.transaction(() => {
        const now = Date.now();
        const { statements } = this;
        statements.heartbeat.run(group, workerId, now + ttlMs);
        statements.forgetWorkers.run(group, now - 3_600_000);
        const liveWorkers = statements.liveWorkers.get(group, now)!.count;
        const held = statements.renew.all(now + ttlMs, group, workerId, now).map((row) => row.partition);
        const missing = want(liveWorkers) - held.length;
        if (missing > 0) {
          for (const { partition } of statements.free.all(group, now, missing)) {
            statements.take.run(workerId, now + ttlMs, group, partition);
            held.push(partition);
          }
        }
        return { held: held.sort((a, b) => a - b), liveWorkers };
      }).immediate(),
    );
  }

  releaseLeases(group: string, workerId: string, partitions: readonly number[]): Promise<void> {
    return this.run(() =>
      this.db.transaction(() => {
        for (const partition of partitions) this.statements.release.run(group, partition, workerId);
      }).immediate(),
    );
  }

  leaveGroup(group: string, workerId: string): Promise<void> {
    return this.run(() =>
      this.db.transaction(() => {
        this.statements.releaseAll.run(group, workerId);
        this.statements.leaveWorker.run(group, workerId);
      }).immediate(),
    );
  }

  listLeases(group: string): Promise<LeaseInfo[]> {
    return this.run(() =>
      this.statements.listLeases.all(group).map((row) => ({
        partition: row.partition,
        owner: row.owner ?? undefined,
        expiresAt: row.owner === null ? undefined : new Date(row.expires_at),
      })),
    );
  }

  loadCheckpoints(reactor: string): Promise<Map<number, Position>> {
    return this.run(() => new Map(this.statements.loadCheckpoints.all(reactor).map((row) => [row.partition, Position.parse(row.position)])));
  }

  saveCheckpoints(
    reactor: string,
    checkpoints: ReadonlyMap<number, Position>,
    fence: { readonly group: string; readonly workerId: string } | undefined,
  ): Promise<number[]> {
    return this.run(() =>
      this.db.transaction(() => {
        const now = Date.now();
        const lost: number[] = [];
        for (const [partition, position] of checkpoints) {
          if (fence && !this.statements.leaseHeld.get(fence.group, partition, fence.workerId, now)) {
            lost.push(partition);
            continue;
          }
          this.statements.saveCheckpoint.run(reactor, partition, position.toString(), now);
          this.statements.forgetHandled.run(reactor, partition, position.toString());
        }
        return lost;
      }).immediate(),
    );
  }

  handledAfterCheckpoints(reactor: string, partitions: readonly number[], limit: number): Promise<string[]> {
    return this.run(() => this.statements.handledAfter.all(reactor, JSON.stringify(partitions), limit).map((row) => row.position));
  }

  /**
   * Records handled events inside a transaction open on `db` (the timer store's, see
   * `SqliteTimerStore.progressWriter`); undefined when `db` is not this store's connection.
   */
  handledRecorder(db: Database.Database): ((handled: readonly HandledEvent[]) => void) | undefined {
    if (db !== this.db) return undefined;
    return (handled) => {
      const now = Date.now();
      for (const event of handled) this.statements.recordHandled.run(event.reactor, event.partition, event.position, event.eventId, now);
    };
  }

  park(events: readonly ParkedEventRecord[]): Promise<void> {
    return this.run(() =>
      this.db.transaction(() => {
        for (const parked of events) {
          this.statements.park.run(
            parked.reactor,
            parked.event.id,
            parked.event.streamName,
            parked.partition,
            parked.event.position.toString(),
            parked.status,
            parked.attempts,
            JSON.stringify(parked.error),
            encodeEvent(parked.event),
            parked.parkedAt.getTime(),
          );
        }
      }).immediate(),
    );
  }

  repark(reactor: string, eventId: string, attempts: number, error: ReactorErrorInfo): Promise<void> {
    return this.run(() => void this.statements.repark.run(attempts, JSON.stringify(error), Date.now(), reactor, eventId));
  }

  removeParked(reactor: string, eventId: string): Promise<void> {
    return this.run(() => void this.statements.remove.run(reactor, eventId));
  }

  listParked(query: ParkedQuery): Promise<ParkedPage> {
    return this.run(() => {
      const after = parseParkedCursor(query.after);
      const limit = query.limit ?? 100;
      const rows = this.statements.listParked.all({
        reactor: query.reactor ?? null,
        stream: query.streamName ?? null,
        limit: limit + 1,
        position: after?.position ?? '',
        afterReactor: after?.reactor ?? '',
      });
      return pageOf(rows.map(toParked), limit);
    });
  }

  parkedInStream(reactor: string, streamName: string): Promise<ParkedEvent[]> {
    return this.run(() => this.statements.inStream.all(reactor, streamName).map(toParked));
  }

  blockedStreams(reactor: string, partitions: readonly number[]): Promise<string[]> {
    return this.run(() => this.statements.blocked.all(reactor, JSON.stringify(partitions)).map((row) => row.stream_name));
  }

  countParked(reactor: string): Promise<{ parked: number; waiting: number }> {
    return this.run(() => {
      const counts = { parked: 0, waiting: 0 };
      for (const row of this.statements.count.all(reactor)) counts[row.status === 'parked' ? 'parked' : 'waiting'] = row.count;
      return counts;
    });
  }

  requestRedrive(request: RedriveParkedRequest): Promise<number> {
    return this.run(
      () => {
        const ids = redriveIds(request);
        return this.statements.requestRedrive.all({
          reactor: request.reactor,
          ids: ids ? JSON.stringify(ids) : null,
          stream: request.streamName ?? null,
          limit: request.limit ?? 1_000,
        }).length;
      },
    );
  }

  redriveRequested(reactor: string, partitions: readonly number[], limit: number): Promise<ParkedEvent[]> {
    return this.run(() => this.statements.redriveRequested.all(reactor, JSON.stringify(partitions), limit).map(toParked));
  }

  recordInvocations(invocations: readonly Invocation[]): Promise<void> {
    return this.run(() =>
      this.db.transaction(() => {
        for (const segment of toSegments(invocations)) {
          this.statements.insertSegment.run(
            segment.reactor,
            segment.workerId,
            segment.at,
            segment.firstPosition,
            segment.lastPosition,
            segment.count,
            segment.entries,
          );
        }
      }).immediate(),
    );
  }

  listInvocations(query: InvocationQuery): Promise<Invocation[]> {
    return this.run(() => {
      const limit = query.limit ?? 100;
      const rows =
        query.position !== undefined
          ? this.statements.segmentsAt.iterate({ reactor: query.reactor ?? null, position: query.position })
          : this.statements.segments.iterate({ reactor: query.reactor ?? null });
      const result: Invocation[] = [];
      for (const row of rows) {
        result.push(...expandSegment(row.reactor, row.worker_id, row.entries, query));
        if (result.length >= limit) break;
      }
      return result.slice(0, limit);
    });
  }

  pruneInvocations(before: Date): Promise<number> {
    return this.run(() => this.statements.prune.run(before.getTime()).changes);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Runs a synchronous step as a promise, so that a failure rejects instead of throwing. */
  private run<T>(step: () => T): Promise<T> {
    try {
      return Promise.resolve(step());
    } catch (error) {
      return Promise.reject(toError(error));
    }
  }
}

function toParked(row: ParkedRow): ParkedEvent {
  return parkedEvent(
    {
      reactor: row.reactor,
      event: decodeEvent(row.event),
      partition: row.partition,
      status: row.status,
      attempts: row.attempts,
      error: JSON.parse(row.error) as ReactorErrorInfo,
      parkedAt: new Date(row.parked_at),
    },
    row.redrive_requested === 1,
  );
}
