import type pg from 'pg';
import { Position } from '../../event-store/position';
import { InvalidReactorError, type ReactorErrorInfo } from '../../handlers/errors';
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
import { migratePostgres } from './migrations';
import { withTransaction } from './pool';

/** Versioned schema steps; each runs once, in the transaction that records it. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE eventfold_reactor_checkpoints (
     reactor text COLLATE "C" NOT NULL,
     partition int NOT NULL,
     position text COLLATE "C" NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (reactor, partition)
   );
   CREATE TABLE eventfold_reactor_parked (
     reactor text COLLATE "C" NOT NULL,
     event_id text NOT NULL,
     stream_name text NOT NULL,
     partition int NOT NULL,
     position text COLLATE "C" NOT NULL,
     status text NOT NULL CHECK (status IN ('parked', 'waiting')),
     attempts int NOT NULL,
     error jsonb NOT NULL,
     event jsonb NOT NULL,
     parked_at timestamptz NOT NULL,
     redrive_requested boolean NOT NULL DEFAULT false,
     PRIMARY KEY (reactor, event_id)
   );
   CREATE INDEX eventfold_reactor_parked_stream ON eventfold_reactor_parked (reactor, stream_name, position);
   CREATE INDEX eventfold_reactor_parked_position ON eventfold_reactor_parked (reactor, position);
   CREATE TABLE eventfold_reactor_invocations (
     id bigserial PRIMARY KEY,
     reactor text NOT NULL,
     event_id text NOT NULL,
     stream_name text NOT NULL,
     position text NOT NULL,
     attempt int NOT NULL,
     outcome text NOT NULL,
     duration_ms double precision NOT NULL,
     error jsonb,
     at timestamptz NOT NULL,
     worker_id text NOT NULL
   );
   CREATE INDEX eventfold_reactor_invocations_at ON eventfold_reactor_invocations (at);
   CREATE INDEX eventfold_reactor_invocations_event ON eventfold_reactor_invocations (event_id);
   CREATE INDEX eventfold_reactor_invocations_reactor ON eventfold_reactor_invocations (reactor, id);
   CREATE TABLE eventfold_reactor_leases (
     group_name text NOT NULL,
     partition int NOT NULL,
     owner text,
     expires_at timestamptz NOT NULL DEFAULT '-infinity',
     PRIMARY KEY (group_name, partition)
   );
   CREATE TABLE eventfold_reactor_workers (
     group_name text NOT NULL,
     worker_id text NOT NULL,
     expires_at timestamptz NOT NULL,
     PRIMARY KEY (group_name, worker_id)
   );`,
  // The invocation log in segments (see invocation-segments.ts): one row per flush instead of one
  // per attempt, so that logging every attempt costs less than handling it.
  `CREATE TABLE eventfold_reactor_invocation_segments (
     id bigserial PRIMARY KEY,
     reactor text NOT NULL,
     worker_id text NOT NULL,
     at timestamptz NOT NULL,
     first_position text COLLATE "C" NOT NULL,
     last_position text COLLATE "C" NOT NULL,
     count int NOT NULL,
     entries text NOT NULL
   );
   INSERT INTO eventfold_reactor_invocation_segments (reactor, worker_id, at, first_position, last_position, count, entries)
     SELECT reactor, worker_id, at, position, position, 1,
            json_build_array(json_build_array(event_id, stream_name, position, attempt, outcome, duration_ms, error,
                                              (extract(epoch FROM at) * 1000)::bigint))::text
     FROM eventfold_reactor_invocations ORDER BY id;
   DROP TABLE eventfold_reactor_invocations;
   CREATE INDEX eventfold_reactor_invocation_segments_at ON eventfold_reactor_invocation_segments (at);
   CREATE INDEX eventfold_reactor_invocation_segments_reactor ON eventfold_reactor_invocation_segments (reactor, id);
   CREATE INDEX eventfold_reactor_invocation_segments_position ON eventfold_reactor_invocation_segments (last_position);`,
  // Events whose handlers changed timers, written in the timers' transaction (see HandledEvent) and
  // deleted by the checkpoint that passes them.
  `CREATE TABLE eventfold_reactor_handled (
     reactor text NOT NULL,
     partition int NOT NULL,
     position text COLLATE "C" NOT NULL,
     event_id text NOT NULL,
     handled_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (reactor, partition, position)
   );`,
];

interface ParkedRow {
  reactor: string;
  partition: number;
  status: 'parked' | 'waiting';
  attempts: number;
  error: ReactorErrorInfo;
  event: Parameters<typeof decodeEvent>[0];
  parked_at: Date;
  redrive_requested: boolean;
}

const PARKED_COLUMNS = 'reactor, partition, status, attempts, error, event, parked_at, redrive_requested';
const TTL = "($3::bigint * interval '1 millisecond')";

/**
 * Reactor bookkeeping in the event store's PostgreSQL database (`PostgresEventStore.pool`):
 * checkpoints, parked events, the invocation log, and the partition leases that let several worker
 * processes share the work. Lease times are the database's clock, so workers' clocks need not agree.
 *
 * @example
 * const state = await PostgresReactorStateStore.create(postgresStore.pool);
 */
export class PostgresReactorStateStore implements ReactorStateStore {
  readonly backend = 'postgres' as const;
  readonly shared = true;
  readonly singleWriter = false;

  private constructor(private readonly pool: pg.Pool) {}

  /** Creates or migrates the tables (once, even when many processes start together), then returns the store. */
  static async create(pool: pg.Pool): Promise<PostgresReactorStateStore> {
    await migratePostgres(pool, { table: 'eventfold_reactor_schema', steps: MIGRATIONS });
    return new PostgresReactorStateStore(pool);
  }

  async preparePartitions(group: string, count: number): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventfold_reactor_group:${group}`]);
      const existing = Number((await client.query<{ count: string }>('SELECT count(*) AS count FROM eventfold_reactor_leases WHERE group_name = $1', [group])).rows[0]!.count);
      if (existing !== 0 && existing !== count) throw new InvalidReactorError(`worker group "${group}" has ${existing} partitions, not ${count}`);
      await client.query(
        `INSERT INTO eventfold_reactor_leases (group_name, partition) SELECT $1, generate_series(0, $2::int - 1) ON CONFLICT DO NOTHING`,
        [group, count],
      );
    });
  }

  async claimLeases(group: string, workerId: string, ttlMs: number, want: (liveWorkers: number) => number): Promise<LeaseGrant> {
    return this.transaction(async (client) => {
      const live = await client.query<{ count: string }>(
        `WITH beat AS (
           INSERT INTO eventfold_reactor_workers (group_name, worker_id, expires_at) VALUES ($1, $2, now() + ${TTL})
           ON CONFLICT (group_name, worker_id) DO UPDATE SET expires_at = excluded.expires_at
         ), forget AS (
           DELETE FROM eventfold_reactor_workers WHERE group_name = $1 AND expires_at < now() - interval '1 hour'
         )
         SELECT count(*) + 1 AS count FROM eventfold_reactor_workers WHERE group_name = $1 AND worker_id <> $2 AND expires_at > now()`,
        [group, workerId, ttlMs],
      );
      const liveWorkers = Number(live.rows[0]!.count);
      const renewed = await client.query<{ partition: number }>(
        `UPDATE eventfold_reactor_leases SET expires_at = now() + ${TTL}
         WHERE group_name = $1 AND owner = $2 AND expires_at > now() RETURNING partition`,
        [group, workerId, ttlMs],
      );
      const held = renewed.rows.map((row) => row.partition);
      const missing = want(liveWorkers) - held.length;
      if (missing > 0) {
        const taken = await client.query<{ partition: number }>(
          `UPDATE eventfold_reactor_leases SET owner = $2, expires_at = now() + ${TTL}
           WHERE group_name = $1 AND partition IN (
             SELECT partition FROM eventfold_reactor_leases
             WHERE group_name = $1 AND (owner IS NULL OR expires_at <= now())
             ORDER BY partition LIMIT $4 FOR UPDATE SKIP LOCKED)
           RETURNING partition`,
          [group, workerId, ttlMs, missing],
        );
        held.push(...taken.rows.map((row) => row.partition));
      }
      return { held: held.sort((a, b) => a - b), liveWorkers };
    });
  }

  async releaseLeases(group: string, workerId: string, partitions: readonly number[]): Promise<void> {
    await this.pool.query(
      `UPDATE eventfold_reactor_leases SET owner = NULL, expires_at = '-infinity'
       WHERE group_name = $1 AND owner = $2 AND partition = ANY($3::int[])`,
      [group, workerId, partitions],
    );
  }

  async leaveGroup(group: string, workerId: string): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`UPDATE eventfold_reactor_leases SET owner = NULL, expires_at = '-infinity' WHERE group_name = $1 AND owner = $2`, [group, workerId]);
      await client.query('DELETE FROM eventfold_reactor_workers WHERE group_name = $1 AND worker_id = $2', [group, workerId]);
    });
  }

  async listLeases(group: string): Promise<LeaseInfo[]> {
    const result = await this.pool.query<{ partition: number; owner: string | null; expires_at: Date }>(
      `SELECT partition, owner, CASE WHEN owner IS NULL THEN NULL ELSE expires_at END AS expires_at
       FROM eventfold_reactor_leases WHERE group_name = $1 ORDER BY partition`,
      [group],
    );
    return result.rows.map((row) => ({ partition: row.partition, owner: row.owner ?? undefined, expiresAt: row.owner === null ? undefined : row.expires_at }));
  }

  async loadCheckpoints(reactor: string): Promise<Map<number, Position>> {
    const result = await this.pool.query<{ partition: number; position: string }>(
      'SELECT partition, position FROM eventfold_reactor_checkpoints WHERE reactor = $1',
      [reactor],
    );
    return new Map(result.rows.map((row) => [row.partition, Position.parse(row.position)]));
  }

  async saveCheckpoints(
    reactor: string,
    checkpoints: ReadonlyMap<number, Position>,
    fence: { readonly group: string; readonly workerId: string } | undefined,
  ): Promise<number[]> {
    const partitions = [...checkpoints.keys()];
    const positions = partitions.map((partition) => checkpoints.get(partition)!.toString());
    // The lease check and the write are one statement: a worker whose lease ran out writes nothing.
    // The handled records the saved checkpoints pass go in the same statement.
    const result = await this.pool.query<{ partition: number }>(
      `WITH saved AS (
         INSERT INTO eventfold_reactor_checkpoints (reactor, partition, position, updated_at)
         SELECT $1, given.partition, given.position, now()
         FROM unnest($2::int[], $3::text[]) AS given(partition, position)
         WHERE $4::text IS NULL OR EXISTS (
           SELECT 1 FROM eventfold_reactor_leases AS lease
           WHERE lease.group_name = $4 AND lease.partition = given.partition AND lease.owner = $5 AND lease.expires_at > now())
         ON CONFLICT (reactor, partition) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
         WHERE eventfold_reactor_checkpoints.position <= excluded.position
         RETURNING partition, position
       ), forgotten AS (
         DELETE FROM eventfold_reactor_handled AS handled USING saved
         WHERE handled.reactor = $1 AND handled.partition = saved.partition AND handled.position <= saved.position
       )
       SELECT partition FROM saved`,
      [reactor, partitions, positions, fence?.group ?? null, fence?.workerId ?? null],
    );
    const saved = new Set(result.rows.map((row) => row.partition));
    return partitions.filter((partition) => !saved.has(partition));
  }

  async handledAfterCheckpoints(reactor: string, partitions: readonly number[], limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ position: string }>(
      `SELECT handled.position FROM eventfold_reactor_handled AS handled
       LEFT JOIN eventfold_reactor_checkpoints AS checkpoint ON checkpoint.reactor = handled.reactor AND checkpoint.partition = handled.partition
       WHERE handled.reactor = $1 AND handled.partition = ANY($2::int[]) AND handled.position > coalesce(checkpoint.position, '')
       ORDER BY handled.position LIMIT $3`,
      [reactor, partitions, limit],
    );
    return rows.map((row) => row.position);
  }

  /**
   * Records handled events inside a transaction open on `client` (the timer store's, see
   * `PostgresTimerStore.progressWriter`); undefined when `pool` is not this store's pool.
   */
  handledRecorder(pool: pg.Pool): ((client: pg.PoolClient, handled: readonly HandledEvent[]) => Promise<void>) | undefined {
    if (pool !== this.pool) return undefined;
    return async (client, handled) => {
      if (handled.length === 0) return;
      await client.query(
        `INSERT INTO eventfold_reactor_handled (reactor, partition, position, event_id)
         SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
        [handled.map((event) => event.reactor), handled.map((event) => event.partition), handled.map((event) => event.position), handled.map((event) => event.eventId)],
      );
    };
  }

  async park(events: readonly ParkedEventRecord[]): Promise<void> {
    if (events.length === 0) return;
    await this.pool.query(
      `INSERT INTO eventfold_reactor_parked (reactor, event_id, stream_name, partition, position, status, attempts, error, event, parked_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::jsonb[], $9::jsonb[], $10::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        events.map((parked) => parked.reactor),
        events.map((parked) => parked.event.id),
        events.map((parked) => parked.event.streamName),
        events.map((parked) => parked.partition),
        events.map((parked) => parked.event.position.toString()),
        events.map((parked) => parked.status),
        events.map((parked) => parked.attempts),
        events.map((parked) => JSON.stringify(parked.error)),
        events.map((parked) => encodeEvent(parked.event)),
        events.map((parked) => parked.parkedAt),
      ],
    );
  }

  async repark(reactor: string, eventId: string, attempts: number, error: ReactorErrorInfo): Promise<void> {
    await this.pool.query(
      `UPDATE eventfold_reactor_parked SET status = 'parked', attempts = $3, error = $4::jsonb, parked_at = now(), redrive_requested = false
       WHERE reactor = $1 AND event_id = $2`,
      [reactor, eventId, attempts, JSON.stringify(error)],
    );
  }

  async removeParked(reactor: string, eventId: string): Promise<void> {
    await this.pool.query('DELETE FROM eventfold_reactor_parked WHERE reactor = $1 AND event_id = $2', [reactor, eventId]);
  }

  async listParked(query: ParkedQuery): Promise<ParkedPage> {
    const after = parseParkedCursor(query.after);
    const limit = query.limit ?? 100;
    const result = await this.pool.query<ParkedRow>(
      `SELECT ${PARKED_COLUMNS} FROM eventfold_reactor_parked
       WHERE ($1::text IS NULL OR reactor = $1) AND ($2::text IS NULL OR stream_name = $2)
         AND (position, reactor) > ($4::text, $5::text)
       ORDER BY position, reactor LIMIT $3`,
      [query.reactor ?? null, query.streamName ?? null, limit + 1, after?.position ?? '', after?.reactor ?? ''],
    );
    return pageOf(result.rows.map(toParked), limit);
  }

  async parkedInStream(reactor: string, streamName: string): Promise<ParkedEvent[]> {
    const result = await this.pool.query<ParkedRow>(
      `SELECT ${PARKED_COLUMNS} FROM eventfold_reactor_parked WHERE reactor = $1 AND stream_name = $2 ORDER BY position`,
      [reactor, streamName],
    );
    return result.rows.map(toParked);
  }

  async blockedStreams(reactor: string, partitions: readonly number[]): Promise<string[]> {
    const result = await this.pool.query<{ stream_name: string }>(
      'SELECT DISTINCT stream_name FROM eventfold_reactor_parked WHERE reactor = $1 AND partition = ANY($2::int[])',
      [reactor, partitions],
    );
    return result.rows.map((row) => row.stream_name);
  }

  async countParked(reactor: string): Promise<{ parked: number; waiting: number }> {
    const result = await this.pool.query<{ status: string; count: string }>(
      'SELECT status, count(*) AS count FROM eventfold_reactor_parked WHERE reactor = $1 GROUP BY status',
      [reactor],
    );
    const counts = { parked: 0, waiting: 0 };
    for (const row of result.rows) counts[row.status === 'parked' ? 'parked' : 'waiting'] = Number(row.count);
    return counts;
  }

  async requestRedrive(request: RedriveParkedRequest): Promise<number> {
    const result = await this.pool.query(
      `UPDATE eventfold_reactor_parked SET redrive_requested = true
       WHERE reactor = $1 AND event_id IN (
         SELECT event_id FROM eventfold_reactor_parked
         WHERE reactor = $1 AND status = 'parked' AND NOT redrive_requested
           AND ($2::text[] IS NULL OR event_id = ANY($2::text[])) AND ($3::text IS NULL OR stream_name = $3)
         ORDER BY position LIMIT $4 FOR UPDATE)`,
      [request.reactor, redriveIds(request) ?? null, request.streamName ?? null, request.limit ?? 1_000],
    );
    return result.rowCount ?? 0;
  }

  async redriveRequested(reactor: string, partitions: readonly number[], limit: number): Promise<ParkedEvent[]> {
    const result = await this.pool.query<ParkedRow>(
      `SELECT ${PARKED_COLUMNS} FROM eventfold_reactor_parked
       WHERE reactor = $1 AND redrive_requested AND partition = ANY($2::int[]) ORDER BY position LIMIT $3`,
      [reactor, partitions, limit],
    );
    return result.rows.map(toParked);
  }

  async recordInvocations(invocations: readonly Invocation[]): Promise<void> {
    const segments = toSegments(invocations);
    if (segments.length === 0) return;
    await this.transaction(async (client) => {
      // The log is diagnostics written after the fact: an asynchronous commit (no wait for the WAL
      // flush) loses at most what a crash loses anyway (the attempts buffered since the last flush),
      // and keeps the log's fsyncs from competing with the event store's.
      await client.query('SET LOCAL synchronous_commit TO OFF');
      // One plain insert per segment (usually one per flush): no array parameters to escape.
      for (const segment of segments) {
        await client.query(
          `INSERT INTO eventfold_reactor_invocation_segments (reactor, worker_id, at, first_position, last_position, count, entries)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [segment.reactor, segment.workerId, new Date(segment.at), segment.firstPosition, segment.lastPosition, segment.count, segment.entries],
        );
      }
    });
  }

  async listInvocations(query: InvocationQuery): Promise<Invocation[]> {
    const limit = query.limit ?? 100;
    const result: Invocation[] = [];
    // Newest segments first, a page at a time, until enough attempts match.
    let before: string | null = null;
    for (;;) {
      const page: { rows: { id: string; reactor: string; worker_id: string; entries: string }[] } = await this.pool.query(
        `SELECT id::text AS id, reactor, worker_id, entries FROM eventfold_reactor_invocation_segments
         WHERE ($1::text IS NULL OR reactor = $1) AND ($2::bigint IS NULL OR id < $2)
           AND ($3::text IS NULL OR (last_position >= $3 AND first_position <= $3))
         ORDER BY id DESC LIMIT 50`,
        [query.reactor ?? null, before, query.position ?? null],
      );
      for (const row of page.rows) {
        result.push(...expandSegment(row.reactor, row.worker_id, row.entries, query));
        if (result.length >= limit) return result.slice(0, limit);
      }
      if (page.rows.length < 50) return result;
      before = page.rows[page.rows.length - 1]!.id;
    }
  }

  async pruneInvocations(before: Date): Promise<number> {
    const result = await this.pool.query('DELETE FROM eventfold_reactor_invocation_segments WHERE at < $1', [before]);
    return result.rowCount ?? 0;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, work);
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
      error: row.error,
      parkedAt: row.parked_at,
    },
    row.redrive_requested,
  );
}
