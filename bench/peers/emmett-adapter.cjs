// The Emmett side of `npm run bench -- peers`, written the way Emmett's docs show: a decider run by
// DeciderCommandHandler, a Pongo single-stream projection run by the PostgreSQL consumer's projector,
// and on SQLite (which has no Pongo document helper in this version) a projection run by the SQLite
// consumer's processor that keeps each document as JSON in a table. Plain CommonJS on purpose: it is
// loaded with require() from bench/suites/peers.bench.ts, so that the main project's typecheck and
// lint never need Emmett's types.
'use strict';

const { DeciderCommandHandler } = require('@event-driven-io/emmett');
const { getPostgreSQLEventStore, pongoSingleStreamProjection } = require('@event-driven-io/emmett-postgresql');
const { getSQLiteEventStore, sqliteConnection, sqliteProjection } = require('@event-driven-io/emmett-sqlite');
const { pongoClient } = require('@event-driven-io/pongo');

const MAX_TOTAL = Number.MAX_SAFE_INTEGER;

/** The same counter as bench/suites/bench-decider.ts, as a plain Emmett decider. */
const counterDecider = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'OpenCounter':
        return [{ type: 'CounterOpened', data: command.data }];
      case 'Increment':
        if (state.status !== 'open') throw new Error('the counter is not open');
        if (state.total + command.data.by > MAX_TOTAL) throw new Error('the counter would overflow');
        return [{ type: 'Incremented', data: command.data }];
      default:
        throw new Error(`unknown command ${command.type}`);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'CounterOpened':
        return { status: 'open', name: event.data.name, increments: 0, total: 0 };
      case 'Incremented':
        return state.status === 'open' ? { ...state, increments: state.increments + 1, total: state.total + event.data.by } : state;
      default:
        return state;
    }
  },
};

const handleCounter = DeciderCommandHandler(counterDecider);

/** The cart document both kits build from the same events (see peers.bench.ts). */
function evolveCart(document, event) {
  switch (event.type) {
    case 'CartOpened':
      return { cartId: event.data.cartId, customerId: event.data.customerId, items: 0, total: 0, status: 'open' };
    case 'ItemAdded':
      return document ? { ...document, items: document.items + event.data.quantity, total: document.total + event.data.price * event.data.quantity } : null;
    case 'CartConfirmed':
      return document ? { ...document, status: 'confirmed' } : null;
    default:
      return document;
  }
}

const CART_EVENTS = ['CartOpened', 'ItemAdded', 'CartConfirmed'];

function common(store, run = (work) => work()) {
  return {
    /** Resolves with the global position of the last event appended, as a string. */
    async append(streamName, events) {
      const result = await run(() => store.appendToStream(streamName, events));
      return result.lastEventGlobalPosition.toString();
    },
    async increment(streamName) {
      const result = await run(() => handleCounter(store, streamName, { type: 'Increment', data: { by: 1 } }));
      return result.newEvents.length;
    },
  };
}

/**
 * Emmett's SQLite store opens a connection per call and takes the write lock with BEGIN IMMEDIATE;
 * concurrent calls from one process fail with SQLITE_BUSY ("database is locked") once sqlite3's 1 s
 * busy timeout runs out, and now and then a COMMIT fails with "SQL statements in progress" (a
 * statement of the same call not yet finalized). Its docs say SQLite takes a single writer at a
 * time, so calls go through one queue here, as an application would have to do; a call that still
 * fails with SQLITE_BUSY was rolled back by Emmett and is retried (counted in `busyRetries`).
 */
function serialised(stats) {
  let tail = Promise.resolve();
  const attempt = async (work, left) => {
    try {
      return await work();
    } catch (error) {
      if (left > 0 && error && error.code === 'SQLITE_BUSY') {
        stats.busyRetries++;
        return attempt(work, left - 1);
      }
      throw error;
    }
  };
  return (work) => {
    const result = tail.then(() => attempt(work, 5));
    tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  };
}

/**
 * Runs the consumer until `lastPosition` has been handled or `maxMs` has passed; resolves with the
 * events the projection evolved and the elapsed time.
 */
async function runConsumer(consumer, counted, maxMs) {
  const begin = performance.now();
  const timer = setTimeout(() => {
    void consumer.stop();
  }, maxMs);
  try {
    await consumer.start();
  } finally {
    clearTimeout(timer);
  }
  return { events: counted.events, ms: performance.now() - begin };
}

/** Emmett on PostgreSQL; `url` names a database of its own. */
function emmettPostgres(url) {
  const store = getPostgreSQLEventStore(url);
  return {
    ...common(store),
    stats: { busyRetries: 0 },
    async catchUp({ collection, batchSize, maxMs }) {
      const counted = { events: 0 };
      const projection = pongoSingleStreamProjection({
        collectionName: collection,
        canHandle: CART_EVENTS,
        evolve: (document, event) => {
          counted.events++;
          return evolveCart(document, event);
        },
      });
      const consumer = store.consumer({ stopWhen: { noMessagesLeft: true }, pulling: { batchSize, pullingFrequencyInMs: 0 } });
      consumer.projector({ processorId: `bench-${collection}`, projection });
      return runConsumer(consumer, counted, maxMs);
    },
    async readDocuments(collection, ids) {
      const pongo = pongoClient(url);
      try {
        const docs = pongo.db().collection(collection);
        const found = await docs.find({ _id: { $in: ids } });
        const count = await docs.countDocuments();
        return { count, documents: found.map(({ _id, _version, ...document }) => ({ id: _id, ...document })) };
      } finally {
        await pongo.close();
      }
    },
    close: () => store.close(),
  };
}

/** Emmett on SQLite; `fileName` is a file of its own. */
function emmettSqlite(fileName) {
  // One connection for the store's life (Emmett's `singleton` option). By default Emmett opens and
  // closes a connection per call, and closing the last connection to a WAL database checkpoints and
  // deletes the WAL, which made every append ~7× slower here (64 vs 490 appends/s); the calls are
  // serialised below anyway.
  const connection = sqliteConnection({ fileName });
  const store = getSQLiteEventStore({ fileName, connectionOptions: { singleton: true, connection } });
  const stats = { busyRetries: 0 };
  return {
    ...common(store, serialised(stats)),
    stats,
    async catchUp({ collection, batchSize, maxMs, lastPosition }) {
      const counted = { events: 0 };
      const table = `bench_${collection.replace(/[^a-z0-9_]/gi, '_')}`;
      const setup = sqliteConnection({ fileName });
      try {
        await setup.command(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, data JSONB NOT NULL)`);
      } finally {
        setup.close();
      }
      const projection = sqliteProjection({
        name: collection,
        canHandle: CART_EVENTS,
        handle: async (events, { connection }) => {
          for (const event of events) {
            const id = event.metadata.streamName;
            const row = await connection.querySingle(`SELECT data FROM ${table} WHERE id = ?`, [id]);
            const document = evolveCart(row ? JSON.parse(row.data) : null, event);
            counted.events++;
            if (document === null) await connection.command(`DELETE FROM ${table} WHERE id = ?`, [id]);
            else await connection.command(`INSERT INTO ${table} (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data`, [id, JSON.stringify(document)]);
          }
        },
      });
      const consumer = store.consumer({ pulling: { batchSize, pullingFrequencyInMs: 0 } });
      consumer.processor({
        processorId: `bench-${collection}`,
        projection,
        startFrom: 'BEGINNING',
        stopAfter: (event) => event.metadata.globalPosition >= BigInt(lastPosition),
      });
      return runConsumer(consumer, counted, maxMs);
    },
    async readDocuments(collection, ids) {
      const table = `bench_${collection.replace(/[^a-z0-9_]/gi, '_')}`;
      const connection = sqliteConnection({ fileName });
      try {
        const rows = await connection.query(`SELECT id, data FROM ${table} WHERE id IN (${ids.map(() => '?').join(',')})`, ids);
        const [{ count }] = await connection.query(`SELECT count(*) AS count FROM ${table}`);
        return { count, documents: rows.map((row) => ({ id: row.id, ...JSON.parse(row.data) })) };
      } finally {
        connection.close();
      }
    },
    close: () => {
      connection.close();
      return Promise.resolve();
    },
  };
}

module.exports = { emmettPostgres, emmettSqlite };
