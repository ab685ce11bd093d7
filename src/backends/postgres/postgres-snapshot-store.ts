import type { QueryResult, QueryResultRow } from 'pg';
import type { JsonValue } from '../../event-store/event-store';
import { Position } from '../../event-store/position';
import { parseRecentCommandIds } from '../../commands/recent-commands';
import type { Snapshot, SnapshotStore } from '../../commands/snapshot-store';

/**
 * What the store needs of `pg`: a `Pool` (or a client) that runs parameterised queries.
 *
 * @example
 * const queryable: PostgresQueryable = new pg.Pool({ connectionString });
 */
export interface PostgresQueryable {
  query<Row extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
}

interface SnapshotRow {
  revision: string;
  position: string;
  version: number;
  state: JsonValue;
  recent_commands: unknown;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS eventfold_snapshots (
  stream_name text PRIMARY KEY,
  revision bigint NOT NULL,
  position text NOT NULL,
  version integer NOT NULL,
  state jsonb NOT NULL,
  recent_commands jsonb NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Snapshots in a table of the event store's PostgreSQL database, through a `pg` pool (e.g.
 * `PostgresEventStore.pool`). One row per stream; the upsert's `WHERE` keeps the newer snapshot when
 * several processes save at once.
 *
 * @example
 * const snapshots = await PostgresSnapshotStore.create(store.pool);
 */
export class PostgresSnapshotStore implements SnapshotStore {
  private constructor(private readonly pool: PostgresQueryable) {}

  /** Creates the snapshot table when missing, then returns the store. */
  static async create(pool: PostgresQueryable): Promise<PostgresSnapshotStore> {
    await pool.query(CREATE_TABLE);
    return new PostgresSnapshotStore(pool);
  }

  async load(streamName: string): Promise<Snapshot | undefined> {
    const result = await this.pool.query<SnapshotRow>(
      'SELECT revision::text AS revision, position, version, state, recent_commands FROM eventfold_snapshots WHERE stream_name = $1',
      [streamName],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    return {
      streamName,
      revision: BigInt(row.revision),
      position: Position.parse(row.position),
      version: row.version,
      state: row.state,
      recentCommandIds: parseRecentCommandIds(row.recent_commands),
    };
  }

  async save(snapshot: Snapshot): Promise<void> {
    await this.pool.query(
      `INSERT INTO eventfold_snapshots (stream_name, revision, position, version, state, recent_commands, saved_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, now())
       ON CONFLICT (stream_name) DO UPDATE SET
         revision = excluded.revision, position = excluded.position, version = excluded.version,
         state = excluded.state, recent_commands = excluded.recent_commands, saved_at = excluded.saved_at
       WHERE excluded.version <> eventfold_snapshots.version OR excluded.revision > eventfold_snapshots.revision`,
      [
        snapshot.streamName,
        snapshot.revision.toString(),
        snapshot.position.toString(),
        snapshot.version,
        JSON.stringify(snapshot.state),
        JSON.stringify(snapshot.recentCommandIds),
      ],
    );
  }
}
