import type Database from 'better-sqlite3';
import type { ReactorErrorInfo } from '../../handlers/errors';
import {
  checkTimerQuery,
  parseTimerCursor,
  timerPageOf,
  type StoredTimer,
  type HandledEvent,
  type TimerChange,
  type TimerSettlement,
  type TimerPage,
  type TimerQuery,
  type TimerStatus,
  type TimerStore,
  type TimerProgressWriter,
} from '../../handlers/timer-store';
import type { ReactorStateStore } from '../../handlers/reactor-state-store';
import { migrateSqlite } from './migrations';
import { SqliteReactorStateStore } from './sqlite-reactor-state-store';

/** Versioned schema steps of the timer table (its own schema table, apart from the reactors'). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE eventfold_timers (
     reactor TEXT NOT NULL,
     key TEXT NOT NULL,
     partition INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'fired', 'cancelled', 'parked')),
     aggregate TEXT NOT NULL,
     stream_name TEXT NOT NULL,
     command TEXT NOT NULL,
     user_id TEXT,
     tenant_id TEXT,
     metadata TEXT,
     caused_by TEXT NOT NULL,
     version TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     settled_at INTEGER,
     PRIMARY KEY (reactor, key)
   ) WITHOUT ROWID;
   CREATE INDEX eventfold_timers_due ON eventfold_timers (due_at) WHERE status = 'pending';
   CREATE INDEX eventfold_timers_listing ON eventfold_timers (status, due_at, reactor, key);`,
];

interface TimerRow {
  reactor: string;
  key: string;
  partition: number;
  due_at: number;
  status: TimerStatus;
  aggregate: string;
  stream_name: string;
  command: string;
  user_id: string | null;
  tenant_id: string | null;
  metadata: string | null;
  caused_by: string;
  version: string;
  attempts: number;
  error: string | null;
  settled_at: number | null;
}

const UPSERT_SET = `INSERT INTO eventfold_timers
    (reactor, key, partition, due_at, status, aggregate, stream_name, command, user_id, tenant_id, metadata, caused_by, version, attempts, error, settled_at)
  VALUES (@reactor, @key, @partition, @due_at, 'pending', @aggregate, @stream_name, @command, @user_id, @tenant_id, @metadata, @caused_by, @version, 0, NULL, NULL)
  ON CONFLICT (reactor, key) DO UPDATE SET
    partition = excluded.partition, due_at = excluded.due_at, status = 'pending', aggregate = excluded.aggregate,
    stream_name = excluded.stream_name, command = excluded.command, user_id = excluded.user_id, tenant_id = excluded.tenant_id,
    metadata = excluded.metadata, caused_by = excluded.caused_by, version = excluded.version, attempts = 0, error = NULL, settled_at = NULL
  WHERE excluded.version > eventfold_timers.version`;

const UPSERT_CANCEL = `INSERT INTO eventfold_timers
    (reactor, key, partition, due_at, status, aggregate, stream_name, command, caused_by, version, settled_at)
  VALUES (@reactor, @key, @partition, 0, 'cancelled', '', '', '{"type":""}', '{"id":"","metadata":{}}', @version, @settled_at)
  ON CONFLICT (reactor, key) DO UPDATE SET
    status = CASE WHEN eventfold_timers.status IN ('pending', 'parked') THEN 'cancelled' ELSE eventfold_timers.status END,
    settled_at = CASE WHEN eventfold_timers.status IN ('pending', 'parked') THEN excluded.settled_at ELSE eventfold_timers.settled_at END,
    version = excluded.version
  WHERE excluded.version > eventfold_timers.version`;

/**
 * Timers in the event store's SQLite file, with a partial index on the due time of pending timers.
 *
 * @example
 * const timers = SqliteTimerStore.open(sqliteStore.database);
 */
export class SqliteTimerStore implements TimerStore {
  readonly backend = 'sqlite' as const;
  private readonly statements: ReturnType<SqliteTimerStore['prepare']>;

  private constructor(private readonly db: Database.Database) {
    this.statements = this.prepare();
  }

  /** Creates or migrates the table, then returns the store. */
  static open(db: Database.Database): SqliteTimerStore {
    migrateSqlite(db, { table: 'eventfold_timer_schema', steps: MIGRATIONS });
    return new SqliteTimerStore(db);
  }

  private prepare() {
    const db = this.db;
    return {
      set: db.prepare(UPSERT_SET),
      cancel: db.prepare(UPSERT_CANCEL),
      // Walks the due index in order; rows of partitions held elsewhere are skipped.
      next: db.prepare<[number], { due_at: number; partition: number }>(
        "SELECT due_at, partition FROM eventfold_timers INDEXED BY eventfold_timers_due WHERE status = 'pending' AND due_at > ? ORDER BY due_at",
      ),
      due: db.prepare<[number], TimerRow>(
        "SELECT * FROM eventfold_timers INDEXED BY eventfold_timers_due WHERE status = 'pending' AND due_at <= ? ORDER BY due_at",
      ),
      settle: db.prepare<[string, number, string | null, number, string, string, string]>(
        "UPDATE eventfold_timers SET status = ?, attempts = ?, error = ?, settled_at = ? WHERE reactor = ? AND key = ? AND version = ? AND status = 'pending'",
      ),
      get: db.prepare<[string, string], TimerRow>('SELECT * FROM eventfold_timers WHERE reactor = ? AND key = ?'),
      cancelOne: db.prepare<[number, string, string]>(
        "UPDATE eventfold_timers SET status = 'cancelled', settled_at = ? WHERE reactor = ? AND key = ? AND status IN ('pending', 'parked')",
      ),
      redrive: db.prepare<[number, string, string]>(
        "UPDATE eventfold_timers SET status = 'pending', attempts = 0, error = NULL, settled_at = NULL, due_at = ? WHERE reactor = ? AND key = ? AND status = 'parked'",
      ),
    };
  }

  applyTimerChanges(changes: readonly TimerChange[]): Promise<void> {
    this.db.transaction(() => this.applyInTransaction(changes))();
    return Promise.resolve();
  }

  /** With the reactor state in this connection's file: the handled records and the timers in one transaction. */
  progressWriter(state: ReactorStateStore): TimerProgressWriter | undefined {
    const record = state instanceof SqliteReactorStateStore ? state.handledRecorder(this.db) : undefined;
    if (!record) return undefined;
    const write = this.db.transaction((changes: readonly TimerChange[], handled: readonly HandledEvent[]) => {
      record(handled);
      this.applyInTransaction(changes);
    });
    return (changes, handled) => {
      try {
        write(changes, handled);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
  }

  private applyInTransaction(changes: readonly TimerChange[]): void {
    const now = Date.now();
    for (const change of changes) {
      if (change.kind === 'cancel') {
        this.statements.cancel.run({ reactor: change.reactor, key: change.key, partition: change.partition, version: change.version, settled_at: now });
        continue;
      }
      const timer = change.timer;
      this.statements.set.run({
        reactor: timer.reactor,
        key: timer.key,
        partition: timer.partition,
        due_at: timer.dueAt.getTime(),
        aggregate: timer.aggregate,
        stream_name: timer.streamName,
        command: JSON.stringify(timer.command),
        user_id: timer.userId ?? null,
        tenant_id: timer.tenantId ?? null,
        metadata: timer.metadata === undefined ? null : JSON.stringify(timer.metadata),
        caused_by: JSON.stringify(timer.causedBy),
        version: timer.version,
      });
    }
  }

  nextDue(partitions: readonly number[], after: Date): Promise<Date | undefined> {
    const held = new Set(partitions);
    for (const row of this.statements.next.iterate(after.getTime()) as IterableIterator<{ due_at: number; partition: number }>) {
      if (held.has(row.partition)) return Promise.resolve(new Date(row.due_at));
    }
    return Promise.resolve(undefined);
  }

  dueTimers(partitions: readonly number[], now: Date, limit: number): Promise<StoredTimer[]> {
    const held = new Set(partitions);
    const timers: StoredTimer[] = [];
    for (const row of this.statements.due.iterate(now.getTime())) {
      if (!held.has(row.partition)) continue;
      timers.push(fromRow(row));
      if (timers.length >= limit) break;
    }
    return Promise.resolve(timers);
  }

  settleTimers(settlements: readonly TimerSettlement[]): Promise<void> {
    this.db.transaction(() => {
      for (const { reactor, key, version, outcome, at } of settlements) {
        const error = outcome.status === 'parked' ? JSON.stringify(outcome.error) : null;
        this.statements.settle.run(outcome.status, outcome.attempts, error, at.getTime(), reactor, key, version);
      }
    })();
    return Promise.resolve();
  }

  // async: a bad query rejects, as with the other stores.
  // eslint-disable-next-line @typescript-eslint/require-await
  async listTimers(query: TimerQuery): Promise<TimerPage> {
    const { status, limit } = checkTimerQuery(query);
    const after = parseTimerCursor(query.after);
    const conditions = ['status = @status'];
    if (query.reactor !== undefined) conditions.push('reactor = @reactor');
    if (after) conditions.push('(due_at, reactor, key) > (@due_at, @after_reactor, @after_key)');
    const rows = this.db
      .prepare<Record<string, unknown>, TimerRow>(`SELECT * FROM eventfold_timers WHERE ${conditions.join(' AND ')} ORDER BY due_at, reactor, key LIMIT @limit`)
      .all({
        status,
        limit: limit + 1,
        ...(query.reactor !== undefined ? { reactor: query.reactor } : {}),
        ...(after ? { due_at: after.dueAt, after_reactor: after.reactor, after_key: after.key } : {}),
      });
    return timerPageOf(rows.map(fromRow), limit);
  }

  getTimer(reactor: string, key: string): Promise<StoredTimer | undefined> {
    const row = this.statements.get.get(reactor, key);
    return Promise.resolve(row ? fromRow(row) : undefined);
  }

  cancelTimer(reactor: string, key: string, at: Date): Promise<boolean> {
    return Promise.resolve(this.statements.cancelOne.run(at.getTime(), reactor, key).changes > 0);
  }

  redriveTimer(reactor: string, key: string, at: Date): Promise<boolean> {
    return Promise.resolve(this.statements.redrive.run(at.getTime(), reactor, key).changes > 0);
  }

  /** The database belongs to the event store; nothing to close here. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function fromRow(row: TimerRow): StoredTimer {
  return {
    reactor: row.reactor,
    key: row.key,
    partition: row.partition,
    dueAt: new Date(row.due_at),
    aggregate: row.aggregate,
    streamName: row.stream_name,
    command: JSON.parse(row.command) as StoredTimer['command'],
    ...(row.user_id !== null ? { userId: row.user_id } : {}),
    ...(row.tenant_id !== null ? { tenantId: row.tenant_id } : {}),
    ...(row.metadata !== null ? { metadata: JSON.parse(row.metadata) as StoredTimer['metadata'] } : {}),
    causedBy: JSON.parse(row.caused_by) as StoredTimer['causedBy'],
    version: row.version,
    status: row.status,
    attempts: row.attempts,
    ...(row.error !== null ? { error: JSON.parse(row.error) as ReactorErrorInfo } : {}),
    ...(row.settled_at !== null ? { settledAt: new Date(row.settled_at) } : {}),
  };
}
