import Database from 'better-sqlite3';
import {
  GENESIS_HASH,
  batchHash,
  chainEvents,
  eventHash,
  type ChainBatch,
  type ChainBatchHead,
  type ChainSnapshot,
  type ChainedEvent,
} from '../../event-store/hash-chain';
import { Position } from '../../event-store/position';
import { archivedBeforeOf, lifecycleHash, type LifecycleAction, type LifecycleRecord } from '../../event-store/stream-lifecycle';

/**
 * Schema step: the hash columns, the `$all` chain table, and the chain computed for every event already
 * stored (in `$all` order). Old stores kept no batches, so consecutive events of one stream written in
 * the same millisecond become one batch (at most 1,000 events).
 */
export function addHashChain(db: Database.Database): void {
  db.exec(`ALTER TABLE eventfold_events ADD COLUMN hash BLOB;
    CREATE TABLE eventfold_chain (
      batch INTEGER PRIMARY KEY,
      first_position INTEGER NOT NULL,
      last_position INTEGER NOT NULL,
      event_count INTEGER NOT NULL,
      hash BLOB NOT NULL
    );
    CREATE INDEX eventfold_chain_first ON eventfold_chain (first_position);`);
  const rows = db
    .prepare<[], { position: number; event_id: string; stream_name: string; revision: number; type: string; data: string; metadata: string; recorded_at: number }>(
      'SELECT position, event_id, stream_name, revision, type, data, metadata, recorded_at FROM eventfold_events ORDER BY position',
    )
    .iterate();
  const setHash = db.prepare('UPDATE eventfold_events SET hash = ? WHERE position = ?');
  const insertBatch = db.prepare('INSERT INTO eventfold_chain (batch, first_position, last_position, event_count, hash) VALUES (?, ?, ?, ?, ?)');
  const tips = new Map<string, Buffer>();
  const updates: Array<[Buffer, number]> = [];
  const batches: Array<{ first: number; last: number; streamName: string; recordedAt: number; hashes: Buffer[] }> = [];
  // The iterator holds the connection: compute everything first, write after.
  for (const row of rows) {
    const hash = eventHash(tips.get(row.stream_name) ?? GENESIS_HASH, {
      streamName: row.stream_name,
      revision: BigInt(row.revision),
      id: row.event_id,
      type: row.type,
      data: row.data,
      metadata: row.metadata,
    });
    tips.set(row.stream_name, hash);
    updates.push([hash, row.position]);
    let open = batches[batches.length - 1];
    if (!open || open.streamName !== row.stream_name || open.recordedAt !== row.recorded_at || open.hashes.length >= 1_000) {
      open = { first: row.position, last: row.position, streamName: row.stream_name, recordedAt: row.recorded_at, hashes: [] };
      batches.push(open);
    }
    open.last = row.position;
    open.hashes.push(hash);
  }
  for (const [hash, position] of updates) setHash.run(hash, position);
  let previous = GENESIS_HASH;
  batches.forEach((pending, index) => {
    const batch = BigInt(index + 1);
    previous = batchHash(previous, batch, pending.hashes);
    insertBatch.run(batch, pending.first, pending.last, pending.hashes.length, previous);
  });
}

/**
 * Schema step: the events table rebuilt for fewer pages written per commit, positions kept.
 * - Each event row names its `$all` batch (`batch`), and the chain table loses its index on
 *   `first_position`: an event's batch is found from its row, so an append writes one chain row and no
 *   index entry. Existing rows get the batch whose range covers them (through the index, before it
 *   goes); rows no batch covers keep NULL.
 * - `position` is an INTEGER PRIMARY KEY without AUTOINCREMENT: SQLite no longer updates
 *   `sqlite_sequence` (a page of its own) in every commit. A new position is the highest one + 1, the
 *   same as before, since the kit never deletes an event row (archiving keeps a stub).
 */
export const EVENTS_LAYOUT_MIGRATION = `CREATE TABLE eventfold_events_next (
    position INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    stream_name TEXT NOT NULL,
    revision INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    correlation_id TEXT,
    recorded_at INTEGER NOT NULL,
    hash BLOB,
    archived INTEGER,
    batch INTEGER,
    UNIQUE (stream_name, revision)
  );
  INSERT INTO eventfold_events_next (position, event_id, stream_name, revision, type, data, metadata, correlation_id, recorded_at, hash, archived, batch)
    SELECT e.position, e.event_id, e.stream_name, e.revision, e.type, e.data, e.metadata, e.correlation_id, e.recorded_at, e.hash, e.archived,
      (SELECT CASE WHEN c.last_position >= e.position THEN c.batch END
       FROM eventfold_chain c WHERE c.first_position <= e.position ORDER BY c.first_position DESC LIMIT 1)
    FROM eventfold_events e ORDER BY e.position;
  DROP TABLE eventfold_events;
  ALTER TABLE eventfold_events_next RENAME TO eventfold_events;
  CREATE INDEX eventfold_events_correlation ON eventfold_events (correlation_id, position) WHERE correlation_id IS NOT NULL;
  DELETE FROM sqlite_sequence WHERE name = 'eventfold_events';
  DROP INDEX eventfold_chain_first;`;

/** Schema step: the lifecycle log (stream metadata and soft deletes), a hash chain of its own. */
export const LIFECYCLE_MIGRATION = `CREATE TABLE eventfold_lifecycle (
    sequence INTEGER PRIMARY KEY,
    stream_name TEXT NOT NULL,
    action TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    hash BLOB NOT NULL
  );
  CREATE INDEX eventfold_lifecycle_stream ON eventfold_lifecycle (stream_name, sequence);`;

/**
 * Schema step: archiving. An archived event keeps a stub row (its hash, place and `archived`, the sequence
 * of the lifecycle record that moved its payload out); its data and metadata become empty text.
 */
export const ARCHIVE_MIGRATION = 'ALTER TABLE eventfold_events ADD COLUMN archived INTEGER;';

/** The lifecycle log's reads and writes on the store's connection. */
export class SqliteLifecycle {
  private readonly current: Database.Statement<[string], { metadata: string }>;
  private readonly last: Database.Statement<[], { hash: Buffer }>;
  private readonly revision: Database.Statement<[string], { revision: number }>;
  private readonly insert: Database.Statement;
  private readonly strip: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.current = db.prepare('SELECT metadata FROM eventfold_lifecycle WHERE stream_name = ? ORDER BY sequence DESC LIMIT 1');
    this.last = db.prepare('SELECT hash FROM eventfold_lifecycle ORDER BY sequence DESC LIMIT 1');
    this.revision = db.prepare('SELECT revision FROM eventfold_streams WHERE stream_name = ?');
    this.insert = db.prepare('INSERT INTO eventfold_lifecycle (stream_name, action, metadata, recorded_at, hash) VALUES (?, ?, ?, ?, ?)');
    this.strip = db.prepare(
      `UPDATE eventfold_events SET data = '', metadata = '', correlation_id = NULL, archived = ?
       WHERE stream_name = ? AND revision < ? AND archived IS NULL`,
    );
  }

  metadataText(streamName: string): string | undefined {
    return this.current.get(streamName)?.metadata;
  }

  record(streamName: string, action: LifecycleAction, next: (current: string | undefined, revision: bigint) => string): void {
    this.db
      .transaction(() => {
        const metadata = next(this.metadataText(streamName), BigInt(this.revision.get(streamName)?.revision ?? -1));
        const recordedAt = new Date().toISOString();
        const hash = lifecycleHash(this.last.get()?.hash ?? GENESIS_HASH, { streamName, action, metadata, recordedAt });
        const sequence = this.insert.run(streamName, action, metadata, recordedAt, hash).lastInsertRowid;
        // The record and the removal commit together: no payload leaves without its record, nor the reverse.
        const archivedBefore = archivedBeforeOf(action, metadata);
        if (archivedBefore !== undefined) this.strip.run(sequence, streamName, Number(archivedBefore));
      })
      .immediate();
  }
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    streamTip: db.prepare<[string, number], { hash: Buffer | null }>('SELECT hash FROM eventfold_events WHERE stream_name = ? AND revision = ?'),
    chainHead: db.prepare<[], { batch: number; hash: Buffer }>('SELECT batch, hash FROM eventfold_chain ORDER BY batch DESC LIMIT 1'),
    insertBatch: db.prepare('INSERT INTO eventfold_chain (batch, first_position, last_position, event_count, hash) VALUES (?, ?, ?, ?, ?)'),
  };
}

/** The batch a transaction seals next: its number (written on each of its event rows) and the hash before it. */
export interface NextBatch {
  readonly batch: number;
  readonly previous: Buffer;
}

/**
 * The chain's part of an append, inside its transaction: the batch to write the events into, the hashes
 * of the events to insert, then the chain row that seals them into `$all`.
 */
export class SqliteChainWriter {
  private readonly statements: Statements;

  constructor(db: Database.Database) {
    this.statements = prepare(db);
  }

  /** The next batch, read inside the writing transaction (which holds the write lock). */
  next(): NextBatch {
    const head = this.statements.chainHead.get();
    return { batch: (head?.batch ?? 0) + 1, previous: head?.hash ?? GENESIS_HASH };
  }

  /** The hashes of `events`, appended to a stream now at `current` (-1n: new). */
  hashes(streamName: string, current: bigint, events: readonly { id: string; type: string; data: string; metadata: string }[]): Buffer[] {
    const tip = current < 0n ? GENESIS_HASH : (this.statements.streamTip.get(streamName, Number(current))?.hash ?? GENESIS_HASH);
    return chainEvents(tip, streamName, current + 1n, events);
  }

  /**
   * The hashes of `events`, appended to a stream now at `current` (-1n: new) whose last event has the hash
   * `tip` (read by the caller with the stream's revision; null: the stream's first event comes next).
   */
  hashesOn(tip: Buffer | null, streamName: string, current: bigint, events: readonly { id: string; type: string; data: string; metadata: string }[]): Buffer[] {
    return chainEvents(current < 0n ? GENESIS_HASH : (tip ?? GENESIS_HASH), streamName, current + 1n, events);
  }

  /** Records `next`, the batch of the events just inserted at positions `first`..`last`. */
  seal(next: NextBatch, first: number, last: number, hashes: readonly Buffer[]): void {
    const batch = BigInt(next.batch);
    this.statements.insertBatch.run(batch, first, last, hashes.length, batchHash(next.previous, batch, hashes));
  }
}

const EVENT_COLUMNS = 'position, event_id, stream_name, revision, type, data, metadata, recorded_at, hash, archived';

interface EventRow {
  position: number;
  event_id: string;
  stream_name: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: number;
  hash: Buffer | null;
  archived: number | null;
}

interface BatchRow {
  batch: number;
  first_position: number;
  last_position: number;
  event_count: number;
  hash: Buffer;
}

function toChained(row: EventRow): ChainedEvent {
  const position = BigInt(row.position);
  return {
    position: Position.of(position, position),
    id: row.event_id,
    streamName: row.stream_name,
    revision: BigInt(row.revision),
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: new Date(row.recorded_at),
    hash: row.hash,
    ...(row.archived !== null ? { archivedBy: BigInt(row.archived) } : {}),
  };
}

/**
 * A snapshot of the chain on its own read-only connection in one read transaction (WAL keeps it
 * consistent while the store appends). A `:memory:` database has no second connection: its snapshot
 * reads the store's own connection.
 */
export function openSqliteChainSnapshot(db: Database.Database): ChainSnapshot {
  const own = db.memory ? undefined : new Database(db.name, { readonly: true, fileMustExist: true });
  const reader = own ?? db;
  if (own) {
    own.pragma('busy_timeout = 5000');
    own.exec('BEGIN');
    // The first read fixes the snapshot.
    own.prepare('SELECT count(*) FROM eventfold_chain').get();
  }
  const batchesAfter = reader.prepare<[number, number], BatchRow>(
    'SELECT batch, first_position, last_position, event_count, hash FROM eventfold_chain WHERE batch > ? ORDER BY batch LIMIT ?',
  );
  const eventsBetween = reader.prepare<[number, number], EventRow>(`SELECT ${EVENT_COLUMNS} FROM eventfold_events WHERE position BETWEEN ? AND ? ORDER BY position`);
  const heads = reader.prepare<[string, number], { stream_name: string; revision: number }>(
    'SELECT stream_name, revision FROM eventfold_streams WHERE stream_name > ? ORDER BY stream_name LIMIT ?',
  );
  const head = reader.prepare<[string], { revision: number }>('SELECT revision FROM eventfold_streams WHERE stream_name = ?');
  const streamEvents = reader.prepare<[string, number, number], EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM eventfold_events WHERE stream_name = ? AND revision >= ? ORDER BY revision LIMIT ?`,
  );
  const count = reader.prepare<[], { count: number }>('SELECT count(*) AS count FROM eventfold_events');
  // An event's batch is the one its row names; a row without one (written by a process of an earlier
  // version after the conversion) belongs to the last batch that starts at or before it. An event is
  // chained when that batch exists and its range holds the event.
  const batchOf = `coalesce(e.batch, (SELECT c2.batch FROM eventfold_chain c2 WHERE c2.first_position <= e.position ORDER BY c2.batch DESC LIMIT 1))`;
  const unchained = reader.prepare<[], EventRow>(
    `SELECT ${EVENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ')} FROM eventfold_events e
     LEFT JOIN eventfold_chain c ON c.batch = ${batchOf}
     WHERE c.batch IS NULL OR e.position < c.first_position OR e.position > c.last_position
     ORDER BY e.position LIMIT 1`,
  );
  const batchesOfStream = reader.prepare<[string, number, number], { batch: number }>(
    `SELECT DISTINCT c.batch AS batch FROM eventfold_events e JOIN eventfold_chain c ON c.batch = ${batchOf}
     WHERE e.stream_name = ? AND e.revision >= 0 AND c.batch > ? AND e.position BETWEEN c.first_position AND c.last_position
     ORDER BY c.batch LIMIT ?`,
  );
  const lastBatch = reader.prepare<[], BatchRow>('SELECT batch, first_position, last_position, event_count, hash FROM eventfold_chain ORDER BY batch DESC LIMIT 1');
  const toHead = (row: BatchRow | undefined): ChainBatchHead | undefined =>
    row ? { batch: BigInt(row.batch), eventCount: row.event_count, hash: row.hash } : undefined;
  const batchByNumber = reader.prepare<[number], BatchRow>('SELECT batch, first_position, last_position, event_count, hash FROM eventfold_chain WHERE batch = ?');
  const withEvents = (rows: readonly BatchRow[]): ChainBatch[] => {
    if (rows.length === 0) return [];
    const events = eventsBetween.all(Math.min(...rows.map((row) => row.first_position)), Math.max(...rows.map((row) => row.last_position)));
    let index = 0;
    return [...rows]
      .sort((left, right) => left.first_position - right.first_position)
      .map((row) => {
        while (index < events.length && events[index]!.position < row.first_position) index++;
        const inside: ChainedEvent[] = [];
        while (index < events.length && events[index]!.position <= row.last_position) inside.push(toChained(events[index++]!));
        return { batch: BigInt(row.batch), eventCount: row.event_count, hash: row.hash, events: inside };
      })
      .sort((left, right) => (left.batch < right.batch ? -1 : 1));
  };
  const lifecycle = reader.prepare<[number, number], { sequence: number; stream_name: string; action: string; metadata: string; recorded_at: string; hash: Buffer }>(
    'SELECT sequence, stream_name, action, metadata, recorded_at, hash FROM eventfold_lifecycle WHERE sequence > ? ORDER BY sequence LIMIT ?',
  );
  const read = <T>(work: () => T): Promise<T> => new Promise((resolve) => resolve(work()));
  return {
    readBatches: (after, limit) => read(() => withEvents(batchesAfter.all(Number(after), limit))),
    readStreamHeads: (after, limit) =>
      read(() => heads.all(after ?? '', limit).map((row) => ({ streamName: row.stream_name, revision: BigInt(row.revision) }))),
    readStreamHead: (streamName) =>
      read(() => {
        const row = head.get(streamName);
        return row ? BigInt(row.revision) : undefined;
      }),
    readStreamEvents: (streamName, from, limit) => read(() => streamEvents.all(streamName, Number(from), limit).map(toChained)),
    countEvents: () => read(() => BigInt(count.get()!.count)),
    readPendingBatches: () => Promise.resolve([]),
    readChainHead: () => read(() => toHead(lastBatch.get())),
    readBatchHead: (batch) => read(() => toHead(batchByNumber.get(Number(batch)))),
    findUnchainedEvent: () =>
      read(() => {
        const row = unchained.get();
        return row ? toChained(row) : undefined;
      }),
    readBatchesOfStream: (streamName, after, limit) =>
      read(() => withEvents(batchesOfStream.all(streamName, Number(after), limit).map((row) => batchByNumber.get(row.batch)!))),
    readLifecycle: (after, limit) =>
      read(() =>
        lifecycle.all(Number(after), limit).map(
          (row): LifecycleRecord => ({
            sequence: BigInt(row.sequence),
            streamName: row.stream_name,
            action: row.action as LifecycleAction,
            metadata: row.metadata,
            recordedAt: row.recorded_at,
            hash: row.hash,
          }),
        ),
      ),
    close: () =>
      read(() => {
        if (own) {
          own.exec('COMMIT');
          own.close();
        }
      }),
  };
}
