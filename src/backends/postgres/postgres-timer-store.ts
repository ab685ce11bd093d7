import type pg from 'pg';
import type { ReactorErrorInfo } from '../../handlers/errors';
import {
  checkTimerQuery,
  highestVersionPerKey,
  parseTimerCursor,
  timerPageOf,
  type StoredTimer,
  type TimerChange,
  type TimerSettlement,
  type TimerPage,
  type TimerQuery,
  type TimerStatus,
  type TimerStore,
  type TimerProgressWriter,
} from '../../handlers/timer-store';
import type { ReactorStateStore } from '../../handlers/reactor-state-store';
import { migratePostgres } from './migrations';
import { PostgresReactorStateStore } from './postgres-reactor-state-store';
import { withTransaction } from './pool';

/** Versioned schema steps of the timer table (its own schema table, apart from the reactors'). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE eventfold_timers (
     reactor text COLLATE "C" NOT NULL,
     key text COLLATE "C" NOT NULL,
     partition int NOT NULL,
     due_at bigint NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'fired', 'cancelled', 'parked')),
     aggregate text NOT NULL,
     stream_name text NOT NULL,
     command jsonb NOT NULL,
     user_id text,
     tenant_id text,
     metadata jsonb,
     caused_by jsonb NOT NULL,
     version text COLLATE "C" NOT NULL,
     attempts int NOT NULL DEFAULT 0,
     error jsonb,
     settled_at bigint,
     PRIMARY KEY (reactor, key)
   );
   CREATE INDEX eventfold_timers_due ON eventfold_timers (due_at) WHERE status = 'pending';
   CREATE INDEX eventfold_timers_listing ON eventfold_timers (status, due_at, reactor, key);`,
];

interface TimerRow {
  reactor: string;
  key: string;
  partition: number;
  due_at: string;
  status: TimerStatus;
  aggregate: string;
  stream_name: string;
  command: StoredTimer['command'];
  user_id: string | null;
  tenant_id: string | null;
  metadata: StoredTimer['metadata'] | null;
  caused_by: StoredTimer['causedBy'];
  version: string;
  attempts: number;
  error: ReactorErrorInfo | null;
  settled_at: string | null;
}

/**
 * Timers in the event store's PostgreSQL database, with a partial index on the due time of pending
 * timers. Each worker fires the timers of the partitions it leases, so exactly one worker fires each,
 * and a dead worker's timers move with its partitions.
 *
 * @example
 * const timers = await PostgresTimerStore.create(postgresStore.pool);
 */
export class PostgresTimerStore implements TimerStore {
  readonly backend = 'postgres' as const;

  private constructor(private readonly pool: pg.Pool) {}

  /** Creates or migrates the table (once, even when many processes start together), then returns the store. */
  static async create(pool: pg.Pool): Promise<PostgresTimerStore> {
    await migratePostgres(pool, { table: 'eventfold_timer_schema', steps: MIGRATIONS });
    return new PostgresTimerStore(pool);
  }

  /** Two statements per batch (sets, cancels), each row applied only over a lower version. */
  async applyTimerChanges(changes: readonly TimerChange[]): Promise<void> {
    // One row per key: a statement may not touch a row twice, and the highest version wins anyway.
    const latest = highestVersionPerKey(changes);
    if (latest.length === 0) return;
    await withTransaction(this.pool, (client) => this.applyIn(client, latest));
  }

  /** With the reactor state in this store's pool: the handled records and the timers in one transaction. */
  progressWriter(state: ReactorStateStore): TimerProgressWriter | undefined {
    const record = state instanceof PostgresReactorStateStore ? state.handledRecorder(this.pool) : undefined;
    if (!record) return undefined;
    return async (changes, handled) => {
      const latest = highestVersionPerKey(changes);
      if (latest.length === 0 && handled.length === 0) return;
      await withTransaction(this.pool, async (client) => {
        await record(client, handled);
        await this.applyIn(client, latest);
      });
    };
  }

  /** Two statements (sets, cancels) on a connection inside a transaction; one change per key. */
  private async applyIn(client: pg.PoolClient, latest: readonly TimerChange[]): Promise<void> {
    const sets = latest.flatMap((change) => (change.kind === 'set' ? [change.timer] : []));
    const cancels = latest.flatMap((change) => (change.kind === 'cancel' ? [change] : []));
    if (sets.length > 0) {
      await client.query(
        `INSERT INTO eventfold_timers
           (reactor, key, partition, due_at, status, aggregate, stream_name, command, user_id, tenant_id, metadata, caused_by, version)
         SELECT reactor, key, partition, due_at, 'pending', aggregate, stream_name, command::jsonb, user_id, tenant_id, metadata::jsonb, caused_by::jsonb, version
         FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
           AS t(reactor, key, partition, due_at, aggregate, stream_name, command, user_id, tenant_id, metadata, caused_by, version)
         ON CONFLICT (reactor, key) DO UPDATE SET
           partition = excluded.partition, due_at = excluded.due_at, status = 'pending', aggregate = excluded.aggregate,
           stream_name = excluded.stream_name, command = excluded.command, user_id = excluded.user_id, tenant_id = excluded.tenant_id,
           metadata = excluded.metadata, caused_by = excluded.caused_by, version = excluded.version, attempts = 0, error = NULL, settled_at = NULL
         WHERE excluded.version > eventfold_timers.version`,
        [
          sets.map((timer) => timer.reactor),
          sets.map((timer) => timer.key),
          sets.map((timer) => timer.partition),
          sets.map((timer) => timer.dueAt.getTime()),
          sets.map((timer) => timer.aggregate),
          sets.map((timer) => timer.streamName),
          sets.map((timer) => JSON.stringify(timer.command)),
          sets.map((timer) => timer.userId ?? null),
          sets.map((timer) => timer.tenantId ?? null),
          sets.map((timer) => (timer.metadata === undefined ? null : JSON.stringify(timer.metadata))),
          sets.map((timer) => JSON.stringify(timer.causedBy)),
          sets.map((timer) => timer.version),
        ],
      );
    }
    if (cancels.length > 0) {
      await client.query(
        `INSERT INTO eventfold_timers (reactor, key, partition, due_at, status, aggregate, stream_name, command, caused_by, version, settled_at)
         SELECT reactor, key, partition, 0, 'cancelled', '', '', '{"type":""}', '{"id":"","metadata":{}}', version, $5::bigint
         FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS t(reactor, key, partition, version)
         ON CONFLICT (reactor, key) DO UPDATE SET
           status = CASE WHEN eventfold_timers.status IN ('pending', 'parked') THEN 'cancelled' ELSE eventfold_timers.status END,
           settled_at = CASE WHEN eventfold_timers.status IN ('pending', 'parked') THEN excluded.settled_at ELSE eventfold_timers.settled_at END,
           version = excluded.version
         WHERE excluded.version > eventfold_timers.version`,
        [cancels.map((change) => change.reactor), cancels.map((change) => change.key), cancels.map((change) => change.partition), cancels.map((change) => change.version), Date.now()],
      );
    }
}

  async nextDue(partitions: readonly number[], after: Date): Promise<Date | undefined> {
    const { rows } = await this.pool.query<{ due_at: string | null }>(
      "SELECT min(due_at) AS due_at FROM eventfold_timers WHERE status = 'pending' AND due_at > $1 AND partition = ANY($2::int[])",
      [after.getTime(), partitions],
    );
    const due = rows[0]?.due_at;
    return due === null || due === undefined ? undefined : new Date(Number(due));
  }

  async dueTimers(partitions: readonly number[], now: Date, limit: number): Promise<StoredTimer[]> {
    const { rows } = await this.pool.query<TimerRow>(
      "SELECT * FROM eventfold_timers WHERE status = 'pending' AND due_at <= $1 AND partition = ANY($2::int[]) ORDER BY due_at LIMIT $3",
      [now.getTime(), partitions, limit],
    );
    return rows.map(fromRow);
  }

  async settleTimers(settlements: readonly TimerSettlement[]): Promise<void> {
    if (settlements.length === 0) return;
    await this.pool.query(
      `UPDATE eventfold_timers AS timer SET status = s.status, attempts = s.attempts, error = s.error::jsonb, settled_at = s.settled_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::bigint[]) AS s(reactor, key, version, status, attempts, error, settled_at)
       WHERE timer.reactor = s.reactor AND timer.key = s.key AND timer.version = s.version AND timer.status = 'pending'`,
      [
        settlements.map((settlement) => settlement.reactor),
        settlements.map((settlement) => settlement.key),
        settlements.map((settlement) => settlement.version),
        settlements.map((settlement) => settlement.outcome.status),
        settlements.map((settlement) => settlement.outcome.attempts),
        settlements.map((settlement) => (settlement.outcome.status === 'parked' ? JSON.stringify(settlement.outcome.error) : null)),
        settlements.map((settlement) => settlement.at.getTime()),
      ],
    );
  }

  async listTimers(query: TimerQuery): Promise<TimerPage> {
    const { status, limit } = checkTimerQuery(query);
    const after = parseTimerCursor(query.after);
    const values: unknown[] = [status, limit + 1];
    const conditions = ['status = $1'];
    if (query.reactor !== undefined) {
      values.push(query.reactor);
      conditions.push(`reactor = $${values.length}`);
    }
    if (after) {
      values.push(after.dueAt, after.reactor, after.key);
      conditions.push(`(due_at, reactor, key) > ($${values.length - 2}, $${values.length - 1}, $${values.length})`);
    }
    const { rows } = await this.pool.query<TimerRow>(
      `SELECT * FROM eventfold_timers WHERE ${conditions.join(' AND ')} ORDER BY due_at, reactor, key LIMIT $2`,
      values,
    );
    return timerPageOf(rows.map(fromRow), limit);
  }

  async getTimer(reactor: string, key: string): Promise<StoredTimer | undefined> {
    const { rows } = await this.pool.query<TimerRow>('SELECT * FROM eventfold_timers WHERE reactor = $1 AND key = $2', [reactor, key]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async cancelTimer(reactor: string, key: string, at: Date): Promise<boolean> {
    const result = await this.pool.query(
      "UPDATE eventfold_timers SET status = 'cancelled', settled_at = $1 WHERE reactor = $2 AND key = $3 AND status IN ('pending', 'parked')",
      [at.getTime(), reactor, key],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async redriveTimer(reactor: string, key: string, at: Date): Promise<boolean> {
    const result = await this.pool.query(
      "UPDATE eventfold_timers SET status = 'pending', attempts = 0, error = NULL, settled_at = NULL, due_at = $1 WHERE reactor = $2 AND key = $3 AND status = 'parked'",
      [at.getTime(), reactor, key],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** The pool belongs to the event store; nothing to close here. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function fromRow(row: TimerRow): StoredTimer {
  return {
    reactor: row.reactor,
    key: row.key,
    partition: row.partition,
    dueAt: new Date(Number(row.due_at)),
    aggregate: row.aggregate,
    streamName: row.stream_name,
    command: row.command,
    ...(row.user_id !== null ? { userId: row.user_id } : {}),
    ...(row.tenant_id !== null ? { tenantId: row.tenant_id } : {}),
    ...(row.metadata !== null ? { metadata: row.metadata } : {}),
    causedBy: row.caused_by,
    version: row.version,
    status: row.status,
    attempts: row.attempts,
    ...(row.error !== null ? { error: row.error } : {}),
    ...(row.settled_at !== null ? { settledAt: new Date(Number(row.settled_at)) } : {}),
  };
}
