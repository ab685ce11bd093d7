import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { defineAggregate, defineCommands, defineEvents, type Decider } from '../../src/domain';
import type { EventStore } from '../../src/event-store';
import { Position } from '../../src/event-store/position';
import { defineReactor, ReactorRunner, type TimerChange, type TimerStore } from '../../src/handlers';
import { startPostgres } from '../../test/support/postgres-server';
import type { BenchContext } from '../harness';

/**
 * Timers. Lateness: timers set by a reactor (one per `Tick` event) fall due at 100 a second (then 400)
 * over ten seconds while 200 other events a second are appended and handled; each sends a command, and lateness = the moment
 * that command's append resolved (durable) − the timer's due time (p50, p99; target p99 < 50 ms). Pending cost:
 * timers written through the store's own write path (`applyTimerChanges`, batches of 1,000) for up to a
 * time budget, the rest up to a million filled in bulk; then the table's size and the due lookups the
 * wheel makes (`nextDue`, `dueTimers` of 256) with a million pending.
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-timers-'));
  const postgres = await startPostgres();
  try {
    const backends: Array<[string, () => Promise<EventStore>]> = [
      ['sqlite', () => Promise.resolve(SqliteEventStore.open(join(folder, 'timers.db')))],
      ['postgres', () => PostgresEventStore.connect(postgres.url)],
    ];
    for (const [backend, open] of backends) {
      const store = await open();
      try {
        // A rate this machine's durable appends sustain, then four times it (each timer's command is one append).
        await measureLateness(context, backend, store, { perSecond: 100, suffix: '' });
        await measureLateness(context, backend, store, { perSecond: 400, suffix: '_at_400_per_s' });
        await measurePending(context, backend, store);
      } finally {
        await store.close();
      }
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

const beepCommands = defineCommands({ Beep: { schema: z.object({ dueAt: z.number() }), stream: 'any' } });
const beepEvents = defineEvents({ Beeped: z.object({ dueAt: z.number() }) });
type BeepCommand = { type: 'Beep'; data: { dueAt: number } };
type BeepEvent = { type: 'Beeped'; data: { dueAt: number } };
const beepDecider: Decider<BeepCommand, BeepEvent, null> = {
  initialState: () => null,
  decide: (command) => [{ type: 'Beeped', data: { dueAt: command.data.dueAt } }],
  evolve: () => null,
};
const beeper = defineAggregate({ category: 'beep', decider: beepDecider, commands: beepCommands, events: beepEvents });

const scheduler = defineReactor({
  name: 'bench-timers',
  filter: { eventTypes: ['Tick'] },
  ordering: 'unordered',
  concurrency: 64,
  handle(event, context) {
    const { index, dueAt } = event.data as { index: string; dueAt: number };
    context.schedule(beeper, { streamName: `beep-${index}`, command: { type: 'Beep', data: { dueAt } } }, { at: dueAt, key: `t-${index}` });
  },
});

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function measureLateness(context: BenchContext, backend: string, store: EventStore, rate: { perSecond: number; suffix: string }): Promise<void> {
  const spreadMs = context.quick ? 3_000 : 10_000;
  const count = Math.round((rate.perSecond * spreadMs) / 1_000);
  const maxMs = 90_000;
  const prefix = `${rate.perSecond}-`;
  // Lateness runs to the moment the timer's command is durable: when its append resolved.
  const committed = new Map<string, number>();
  const runner = await ReactorRunner.start({
    store,
    reactors: [scheduler],
    aggregates: [beeper],
    commands: { store: noteCommits(store, (streamName) => streamName.startsWith(`beep-${prefix}`) && committed.set(streamName, Date.now())) },
  });
  const fired = (await runner.listTimers({ reactor: 'bench-timers', status: 'fired', limit: 10_000 })).items.length;
  let loading = true;
  try {
    const begin = Date.now() + 1_500;
    // Ticks set timers due from 1.5 s from now over the spread, in appends of 100.
    for (let offset = 0; offset < count; offset += 100) {
      await store.appendToStream(
        `tick-${prefix}${offset / 100}`,
        Array.from({ length: Math.min(100, count - offset) }, (_, index) => {
          const timer = offset + index;
          return { id: randomUUID(), type: 'Tick', data: { index: `${prefix}${timer}`, dueAt: begin + Math.floor((timer * spreadMs) / count) } };
        }),
      );
    }
    context.progress(`${backend}: ${count} timers (${rate.perSecond}/s) set, due over ${spreadMs} ms; appending other events meanwhile`);
    // The load: 200 other events a second (20 every 100 ms) appended and read by the reactor's subscription.
    const load = (async () => {
      let batches = 0;
      while (loading && batches < 10_000) {
        const next = Date.now() + 100;
        await store.appendToStream(`noise-${batches++ % 100}`, Array.from({ length: 20 }, () => ({ id: randomUUID(), type: 'Noise', data: { batch: batches } })));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      }
      return batches * 20;
    })();
    const deadline = Date.now() + maxMs;
    for (;;) {
      const { items } = await runner.listTimers({ reactor: 'bench-timers', limit: 1 });
      if (items.length === 0 && (await runner.listTimers({ reactor: 'bench-timers', status: 'fired', limit: 10_000 })).items.length >= fired + count) break;
      if (Date.now() > deadline) throw new Error(`${backend}: timers did not all fire within ${maxMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    loading = false;
    const noise = await load;
    const lateness: number[] = [];
    for await (const event of store.readAll({ filter: { eventTypes: ['Beeped'], streamPrefixes: [`beep-${prefix}`] } })) {
      const committedAt = committed.get(event.streamName);
      if (committedAt === undefined) throw new Error(`${backend}: ${event.streamName} was appended outside the timer's command path`);
      lateness.push(committedAt - (event.data as { dueAt: number }).dueAt);
    }
    lateness.sort((a, b) => a - b);
    context.record({ backend, metric: `timers_fired${rate.suffix}`, value: lateness.length, unit: 'timers' });
    context.record({ backend, metric: `load_events_during${rate.suffix}`, value: noise, unit: 'events' });
    context.record({ backend, metric: `timer_lateness_p50${rate.suffix}`, value: percentile(lateness, 50), unit: 'ms' });
    context.record({ backend, metric: `timer_lateness_p99${rate.suffix}`, value: percentile(lateness, 99), unit: 'ms' });
    context.record({ backend, metric: `timer_lateness_max${rate.suffix}`, value: lateness[lateness.length - 1]!, unit: 'ms' });
  } finally {
    loading = false;
    await runner.stop();
  }
}

/** The store, with `onCommit(streamName)` called when an append to it has resolved (is durable). */
function noteCommits(store: EventStore, onCommit: (streamName: string) => unknown): EventStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'appendToStream') {
        return async (...args: Parameters<EventStore['appendToStream']>) => {
          const result = await target.appendToStream(...args);
          onCommit(args[0]);
          return result;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

interface DatabaseLike {
  prepare(sql: string): { get(...values: unknown[]): unknown; run(...values: unknown[]): unknown };
}

async function measurePending(context: BenchContext, backend: string, store: EventStore): Promise<void> {
  const total = context.quick ? 100_000 : 1_000_000;
  const writeBudgetMs = context.quick ? 10_000 : 60_000;
  const timers = await (store as unknown as { openTimerStore(): Promise<TimerStore> }).openTimerStore();
  const farFuture = Date.now() + 365 * 86_400_000;
  const change = (index: number): TimerChange => ({
    kind: 'set',
    timer: {
      reactor: 'bench-pending',
      key: `p-${index}`,
      partition: index % 16,
      dueAt: new Date(farFuture + index * 37),
      aggregate: 'beep',
      streamName: `beep-${index}`,
      command: { type: 'Beep', data: { dueAt: farFuture } },
      causedBy: { id: randomUUID(), metadata: {} },
      version: Position.of(BigInt(index + 1), 0n).toString(),
    },
  });
  let written = 0;
  const begin = performance.now();
  while (written < total && performance.now() - begin < writeBudgetMs) {
    const batch = Array.from({ length: Math.min(1_000, total - written) }, (_, offset) => change(written + offset));
    await timers.applyTimerChanges(batch);
    written += batch.length;
  }
  const writeMs = performance.now() - begin;
  context.record({ backend, metric: 'timer_insert_rate', value: (written / writeMs) * 1000, unit: 'timers/s' });
  context.progress(`${backend}: ${written} timers written through applyTimerChanges in ${Math.round(writeMs)} ms; filling to ${total} in bulk`);
  await fill(store, backend, written, total, farFuture);
  context.record({ backend, metric: 'timers_pending', value: total, unit: 'timers' });
  context.record({ backend, metric: 'timers_table_bytes_per_timer', value: (await tableBytes(store, backend)) / total, unit: 'bytes' });

  const partitions = Array.from({ length: 16 }, (_, index) => index);
  const half = partitions.slice(0, 8);
  const now = new Date();
  const timeIt = async (work: () => Promise<unknown>): Promise<number> => {
    const samples: number[] = [];
    for (let round = 0; round < 50; round++) {
      const started = performance.now();
      await work();
      samples.push(performance.now() - started);
    }
    return samples.sort((a, b) => a - b)[25]!;
  };
  context.record({ backend, metric: 'next_due_1m_all_partitions', value: (await timeIt(() => timers.nextDue(partitions, now))) * 1000, unit: 'µs' });
  context.record({ backend, metric: 'next_due_1m_half_partitions', value: (await timeIt(() => timers.nextDue(half, now))) * 1000, unit: 'µs' });
  context.record({ backend, metric: 'due_timers_256_1m', value: (await timeIt(() => timers.dueTimers(partitions, new Date(farFuture + 256 * 37), 256))) * 1000, unit: 'µs' });
  context.record({ backend, metric: 'due_none_1m', value: (await timeIt(() => timers.dueTimers(partitions, now, 256))) * 1000, unit: 'µs' });
}

/** Adds timers `from`…`total` in one statement, shaped like those written through the store. */
async function fill(store: EventStore, backend: string, from: number, total: number, farFuture: number): Promise<void> {
  if (from >= total) return;
  const columns = `reactor, key, partition, due_at, status, aggregate, stream_name, command, caused_by, version, attempts`;
  if (backend === 'sqlite') {
    const database = (store as unknown as { database: DatabaseLike }).database;
    database
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         INSERT INTO eventfold_timers (${columns})
         SELECT 'bench-pending', 'p-' || i, i % 16, ? + i * 37, 'pending', 'beep', 'beep-' || i,
                '{"type":"Beep","data":{"dueAt":0}}', '{"id":"00000000-0000-0000-0000-000000000000","metadata":{}}',
                printf('%016x%016x', i + 1, 0), 0
         FROM n`,
      )
      .run(from, total, farFuture);
    return;
  }
  const pool = (store as unknown as { pool: { query(sql: string, values: unknown[]): Promise<unknown> } }).pool;
  await pool.query(
    `INSERT INTO eventfold_timers (${columns})
     SELECT 'bench-pending', 'p-' || i, i % 16, $3::bigint + i * 37, 'pending', 'beep', 'beep-' || i,
            '{"type":"Beep","data":{"dueAt":0}}'::jsonb, '{"id":"00000000-0000-0000-0000-000000000000","metadata":{}}'::jsonb,
            lpad(to_hex(i + 1), 16, '0') || lpad('0', 16, '0'), 0
     FROM generate_series($1::bigint, $2::bigint - 1) AS i`,
    [from, total, farFuture],
  );
  await pool.query('ANALYZE eventfold_timers', []);
}

async function tableBytes(store: EventStore, backend: string): Promise<number> {
  if (backend === 'sqlite') {
    const database = (store as unknown as { database: DatabaseLike }).database;
    const row = database.prepare("SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name = 'eventfold_timers' OR name LIKE 'eventfold_timers_%'").get() as { bytes: number };
    return row.bytes;
  }
  const pool = (store as unknown as { pool: { query(sql: string, values: unknown[]): Promise<{ rows: { bytes: string }[] }> } }).pool;
  const { rows } = await pool.query("SELECT pg_total_relation_size('eventfold_timers') AS bytes", []);
  return Number(rows[0]!.bytes);
}
