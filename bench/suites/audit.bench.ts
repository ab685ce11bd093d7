import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { InMemoryEventStore, verifyStore, type EventData, type EventStore } from '../../src/event-store';
import { chainEvents, GENESIS_HASH } from '../../src/event-store/hash-chain';
import { PostgresEventStore } from '../../src/backends/postgres';
import { MIGRATIONS } from '../../src/backends/postgres/postgres-schema';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { createDatabase, startPostgres } from '../../test/support/postgres-server';
import { throughput, type BenchContext } from '../harness';

const payload = { orderId: 'o-123', customerId: 'c-456', items: [{ menuItemId: 'm-1', quantity: 2 }], total: 25.5 };
const newEvent = (): EventData => ({ id: randomUUID(), type: 'OrderPlaced', data: payload, metadata: { correlationId: 'c' } });

/**
 * What the hash chain costs: the same append loops as the store suite on a store with the chain and on
 * the same store with it switched off, side by side, plus the hashing alone and `verifyStore`'s speed.
 * "Off" is bench-only: SQLite's chain writer replaced by a no-op, PostgreSQL's chain triggers disabled.
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-audit-'));
  const postgres = await startPostgres();
  try {
    measureHashing(context);
    const memory = new InMemoryEventStore();
    await measureAppends(context, 'memory', memory);
    await measureVerify(context, 'memory', memory);
    await memory.close();
    for (const chained of [true, false]) {
      const sqlite = SqliteEventStore.open(join(folder, `store-${chained}.db`));
      if (!chained) unchainSqlite(sqlite);
      await measureAppends(context, chained ? 'sqlite' : 'sqlite-no-chain', sqlite);
      if (chained) await measureVerify(context, 'sqlite', sqlite);
      await sqlite.close();
      const database = await createDatabase(postgres.url, 'bench_audit');
      const store = await PostgresEventStore.connect(database.url);
      if (!chained) await unchainPostgres(database.url);
      await measureAppends(context, chained ? 'postgres' : 'postgres-no-chain', store);
      if (chained) await measureVerify(context, 'postgres', store);
      await store.close();
      await database.drop();
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

function measureHashing(context: BenchContext): void {
  const events = Array.from({ length: 100 }, () => {
    const event = newEvent();
    return { id: event.id, type: event.type, data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) };
  });
  const rounds = context.quick ? 200 : 1_000;
  const started = performance.now();
  for (let round = 0; round < rounds; round++) chainEvents(GENESIS_HASH, 'order-1', 0n, events);
  context.record({ backend: 'js', metric: 'hash_events', value: (rounds * events.length * 1000) / (performance.now() - started), unit: 'events/s' });
}

async function measureAppends(context: BenchContext, backend: string, store: EventStore): Promise<void> {
  const scale = context.quick ? 0.25 : 1;
  const maxMs = context.quick ? 1_500 : 5_000;
  const run = randomUUID().slice(0, 6);
  context.progress(`${backend}: appends`);
  const single = await throughput({ workers: 1, maxOperations: 20_000 * scale, maxMs }, (_w, i) => store.appendToStream(`${run}-single-${i % 100}`, [newEvent()]));
  context.record({ backend, metric: 'append_single_1w', value: single.perSecond, unit: 'events/s' });
  const concurrent = await throughput({ workers: 16, maxOperations: 200_000 * scale, maxMs }, (worker, i) =>
    store.appendToStream(`${run}-w${worker}-${i % 50}`, [newEvent()]),
  );
  context.record({ backend, metric: 'append_single_16w', value: concurrent.perSecond, unit: 'events/s' });
  const batch = await throughput({ workers: 1, maxOperations: 5_000 * scale, maxMs, unitsPerCall: 100 }, (_w, i) =>
    store.appendToStream(`${run}-batch-${i}`, Array.from({ length: 100 }, newEvent)),
  );
  context.record({ backend, metric: 'append_batch100', value: batch.perSecond, unit: 'events/s' });
}

async function measureVerify(context: BenchContext, backend: string, store: EventStore): Promise<void> {
  context.progress(`${backend}: verify`);
  const started = performance.now();
  const report = await verifyStore(store);
  if (!report.ok) throw new Error(`${backend}: the benchmark's own store does not verify`);
  context.record({ backend, metric: 'verify', value: (report.eventsChecked * 1000) / (performance.now() - started), unit: 'events/s' });
}

/** Bench-only: the same SQLite store with its chain writer replaced by one that hashes and records nothing. */
function unchainSqlite(store: SqliteEventStore): void {
  (store as unknown as { chain: unknown }).chain = {
    next: () => ({ batch: null, previous: null }),
    hashes: (_stream: string, _current: bigint, events: readonly unknown[]) => events.map(() => null),
    hashesOn: (_tip: unknown, _stream: string, _current: bigint, events: readonly unknown[]) => events.map(() => null),
    seal: () => undefined,
  };
}

/**
 * Bench-only: the chain's triggers off and the append function of schema step 3 back (step 7's hashes
 * the events itself), so appends run exactly as before the chain.
 */
async function unchainPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('ALTER TABLE eventfold_events DISABLE TRIGGER eventfold_hash_event, DISABLE TRIGGER eventfold_seal_batch');
  await client.query(MIGRATIONS[2]!);
  await client.end();
}
