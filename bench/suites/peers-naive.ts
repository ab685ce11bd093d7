// The naive baseline of the peers suite: the event store a team writes in an afternoon. One table, one
// transaction per append (read the stream's last revision, insert the events one row at a time,
// commit), no group commit, no multi-row inserts; a projection that handles one event per
// transaction (read the document, write it, move the checkpoint). Durable like the kits it is compared
// with: PostgreSQL with fsync and synchronous_commit on, SQLite in WAL mode with synchronous=FULL.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { BenchEvent, CartDocument, CatchUpOptions, CatchUpResult, PeerSide } from './peers.bench';
import { evolveCart, evolveCounter, initialCounter, type CounterState } from './peers.bench';

interface StoredRow {
  readonly revision: number;
  readonly type: string;
  readonly data: unknown;
}

/** Naive store on PostgreSQL; `url` names a database of its own. */
export async function naivePostgres(url: string): Promise<PeerSide> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined);
  await pool.query(`
    CREATE TABLE IF NOT EXISTS naive_events (
      global_position bigserial PRIMARY KEY,
      stream_name text NOT NULL,
      revision integer NOT NULL,
      id uuid NOT NULL UNIQUE,
      type text NOT NULL,
      data jsonb NOT NULL,
      UNIQUE (stream_name, revision)
    );
    CREATE TABLE IF NOT EXISTS naive_documents (collection text NOT NULL, id text NOT NULL, doc jsonb NOT NULL, PRIMARY KEY (collection, id));
    CREATE TABLE IF NOT EXISTS naive_checkpoints (name text PRIMARY KEY, position bigint NOT NULL);
  `);

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async function append(streamName: string, events: readonly BenchEvent[], expectedRevision?: number): Promise<string> {
    return transaction(async (client) => {
      const { rows } = await client.query<{ revision: number | null }>('SELECT max(revision) AS revision FROM naive_events WHERE stream_name = $1', [streamName]);
      const current = rows[0]?.revision ?? -1;
      if (expectedRevision !== undefined && current !== expectedRevision) throw new Error(`${streamName}: expected revision ${expectedRevision}, found ${current}`);
      let position = '';
      for (const [index, event] of events.entries()) {
        const inserted = await client.query<{ global_position: string }>(
          'INSERT INTO naive_events (stream_name, revision, id, type, data) VALUES ($1, $2, $3, $4, $5) RETURNING global_position',
          [streamName, current + 1 + index, randomUUID(), event.type, JSON.stringify(event.data)],
        );
        position = inserted.rows[0]!.global_position;
      }
      return position;
    });
  }

  return {
    name: 'naive',
    append: (streamName, events) => append(streamName, events),
    async seed(streams) {
      let position = '0';
      for (let start = 0; start < streams.length; start += 500) {
        const rows = streams.slice(start, start + 500).flatMap(([streamName, events]) => events.map((event, revision) => ({ streamName, revision, event })));
        position = await transaction(async (client) => {
          const inserted = await client.query<{ global_position: string }>(
            `INSERT INTO naive_events (stream_name, revision, id, type, data)
             SELECT * FROM unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::jsonb[]) ORDER BY 1, 2
             RETURNING global_position`,
            [rows.map((r) => r.streamName), rows.map((r) => r.revision), rows.map(() => randomUUID()), rows.map((r) => r.event.type), rows.map((r) => JSON.stringify(r.event.data))],
          );
          return inserted.rows.reduce((last, row) => (BigInt(row.global_position) > BigInt(last) ? row.global_position : last), position);
        });
      }
      return position;
    },
    async increment(streamName) {
      const { rows } = await pool.query<StoredRow>('SELECT revision, type, data FROM naive_events WHERE stream_name = $1 ORDER BY revision', [streamName]);
      const state = rows.reduce<CounterState>((folded, row) => evolveCounter(folded, row), initialCounter());
      if (state.status !== 'open') throw new Error(`${streamName} is not open`);
      await append(streamName, [{ type: 'Incremented', data: { by: 1 } }], rows.length - 1);
      return 1;
    },
    async catchUp(options) {
      return naiveCatchUp(options, {
        read: async (after, limit) =>
          (
            await pool.query<{ global_position: string; stream_name: string; type: string; data: unknown }>(
              'SELECT global_position, stream_name, type, data FROM naive_events WHERE global_position > $1 ORDER BY global_position LIMIT $2',
              [after, limit],
            )
          ).rows.map((row) => ({ position: row.global_position, streamName: row.stream_name, type: row.type, data: row.data })),
        handle: (event) =>
          transaction(async (client) => {
            const { rows } = await client.query<{ doc: CartDocument }>('SELECT doc FROM naive_documents WHERE collection = $1 AND id = $2', [options.collection, event.streamName]);
            const next = evolveCart(rows[0]?.doc ?? null, event);
            if (next) {
              await client.query(
                'INSERT INTO naive_documents (collection, id, doc) VALUES ($1, $2, $3) ON CONFLICT (collection, id) DO UPDATE SET doc = excluded.doc',
                [options.collection, event.streamName, JSON.stringify(next)],
              );
            }
            await client.query(
              'INSERT INTO naive_checkpoints (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = excluded.position',
              [options.collection, event.position],
            );
          }),
      });
    },
    async readDocuments(collection, ids) {
      const { rows } = await pool.query<{ id: string; doc: CartDocument }>('SELECT id, doc FROM naive_documents WHERE collection = $1 AND id = ANY($2)', [collection, ids]);
      const { rows: counted } = await pool.query<{ count: string }>('SELECT count(*) AS count FROM naive_documents WHERE collection = $1', [collection]);
      return { count: Number(counted[0]!.count), documents: new Map(rows.map((row) => [row.id, row.doc])) };
    },
    close: () => pool.end(),
  };
}

/** Naive store on SQLite; `path` is a file of its own. better-sqlite3 is synchronous: writers queue. */
export function naiveSqlite(path: string): PeerSide {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS naive_events (
      global_position INTEGER PRIMARY KEY AUTOINCREMENT,
      stream_name TEXT NOT NULL,
      revision INTEGER NOT NULL,
      id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      UNIQUE (stream_name, revision)
    );
    CREATE TABLE IF NOT EXISTS naive_documents (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (collection, id));
    CREATE TABLE IF NOT EXISTS naive_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
  `);
  const lastRevision = db.prepare<[string], { revision: number | null }>('SELECT max(revision) AS revision FROM naive_events WHERE stream_name = ?');
  const insert = db.prepare<[string, number, string, string, string]>('INSERT INTO naive_events (stream_name, revision, id, type, data) VALUES (?, ?, ?, ?, ?)');
  const readStream = db.prepare<[string], { revision: number; type: string; data: string }>('SELECT revision, type, data FROM naive_events WHERE stream_name = ? ORDER BY revision');
  const readAll = db.prepare<[number, number], { global_position: number; stream_name: string; type: string; data: string }>(
    'SELECT global_position, stream_name, type, data FROM naive_events WHERE global_position > ? ORDER BY global_position LIMIT ?',
  );
  const loadDocument = db.prepare<[string, string], { doc: string }>('SELECT doc FROM naive_documents WHERE collection = ? AND id = ?');
  const saveDocument = db.prepare<[string, string, string]>(
    'INSERT INTO naive_documents (collection, id, doc) VALUES (?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET doc = excluded.doc',
  );
  const saveCheckpoint = db.prepare<[string, number]>('INSERT INTO naive_checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position');

  const append = db.transaction((streamName: string, events: readonly BenchEvent[], expectedRevision?: number): string => {
    const current = lastRevision.get(streamName)?.revision ?? -1;
    if (expectedRevision !== undefined && current !== expectedRevision) throw new Error(`${streamName}: expected revision ${expectedRevision}, found ${current}`);
    let position = 0n;
    for (const [index, event] of events.entries()) {
      position = BigInt(insert.run(streamName, current + 1 + index, randomUUID(), event.type, JSON.stringify(event.data)).lastInsertRowid);
    }
    return position.toString();
  });
  const handleOne = db.transaction((collection: string, event: { position: string; streamName: string; type: string; data: unknown }) => {
    const row = loadDocument.get(collection, event.streamName);
    const next = evolveCart(row ? (JSON.parse(row.doc) as CartDocument) : null, event);
    if (next) saveDocument.run(collection, event.streamName, JSON.stringify(next));
    saveCheckpoint.run(collection, Number(event.position));
  });

  const seedAll = db.transaction((streams: ReadonlyArray<readonly [string, readonly BenchEvent[]]>): string => {
    let position = '0';
    for (const [streamName, events] of streams) position = append(streamName, events);
    return position;
  });

  return {
    name: 'naive',
    append: (streamName, events) => Promise.resolve(append(streamName, events)),
    seed: (streams) => Promise.resolve(seedAll(streams)),
    increment(streamName) {
      const rows = readStream.all(streamName);
      const state = rows.reduce<CounterState>((folded, row) => evolveCounter(folded, { type: row.type, data: JSON.parse(row.data) as unknown }), initialCounter());
      if (state.status !== 'open') return Promise.reject(new Error(`${streamName} is not open`));
      append(streamName, [{ type: 'Incremented', data: { by: 1 } }], rows.length - 1);
      return Promise.resolve(1);
    },
    catchUp: (options) =>
      naiveCatchUp(options, {
        read: (after, limit) =>
          Promise.resolve(
            readAll.all(Number(after), limit).map((row) => ({ position: String(row.global_position), streamName: row.stream_name, type: row.type, data: JSON.parse(row.data) as unknown })),
          ),
        handle: (event) => Promise.resolve(handleOne(options.collection, event)),
      }),
    readDocuments(collection, ids) {
      const documents = new Map<string, CartDocument>();
      for (const id of ids) {
        const row = loadDocument.get(collection, id);
        if (row) documents.set(id, JSON.parse(row.doc) as CartDocument);
      }
      const counted = db.prepare<[string], { count: number }>('SELECT count(*) AS count FROM naive_documents WHERE collection = ?').get(collection)!;
      return Promise.resolve({ count: counted.count, documents });
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}

interface NaiveEvent {
  readonly position: string;
  readonly streamName: string;
  readonly type: string;
  readonly data: unknown;
}

/** Pages through the log and handles each event in its own transaction, until done or out of time. */
async function naiveCatchUp(
  options: CatchUpOptions,
  io: { read(after: string, limit: number): Promise<NaiveEvent[]>; handle(event: NaiveEvent): Promise<void> },
): Promise<CatchUpResult> {
  const begin = performance.now();
  const deadline = begin + options.maxMs;
  let after = '0';
  let events = 0;
  while (events < options.expectedEvents && performance.now() < deadline) {
    const page = await io.read(after, 1_000);
    if (page.length === 0) break;
    for (const event of page) {
      if (performance.now() >= deadline) break;
      await io.handle(event);
      after = event.position;
      events++;
    }
  }
  return { events, ms: performance.now() - begin };
}
