import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryEventStore, type EventData, type EventStore } from '../../src/event-store';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { createDatabase, startPostgres } from '../../test/support/postgres-server';
import { alternating, throughput, type BenchContext } from '../harness';
import { rawPostgres, rawSqlite, type RawAppender } from './store-raw';

const payload = { orderId: 'o-123', customerId: 'c-456', items: [{ menuItemId: 'm-1', quantity: 2 }], total: 25.5 };
const newEvent = (): EventData => ({ id: randomUUID(), type: 'OrderPlaced', data: payload, metadata: { correlationId: 'c' } });

/** What the append loops call: eventfold's store or the raw driver code of `store-raw.ts`. */
type Append = (streamName: string, events: readonly EventData[]) => Promise<unknown>;

/**
 * Appends and reads per backend; the same loops for each, so the figures compare. On SQLite and
 * PostgreSQL the append metrics run eventfold and the raw driver (`<db>_raw`) in alternating rounds on
 * databases of their own, and record eventfold ÷ raw as `ratio_raw_<metric>`.
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-store-'));
  const postgres = await startPostgres();
  try {
    const memory = new InMemoryEventStore();
    try {
      await measureAlone(context, 'memory', memory);
    } finally {
      await memory.close();
    }
    const databases: Array<[string, () => Promise<EventStore>, () => Promise<RawAppender>]> = [
      ['sqlite', () => Promise.resolve(SqliteEventStore.open(join(folder, 'store.db'))), () => Promise.resolve(rawSqlite(join(folder, 'raw.db')))],
      [
        'postgres',
        async () => PostgresEventStore.connect((await createDatabase(postgres.url, 'eventfold')).url),
        async () => rawPostgres((await createDatabase(postgres.url, 'raw')).url, 16),
      ],
    ];
    for (const [backend, open, openRaw] of databases) {
      const store = await open();
      const raw = await openRaw();
      try {
        await measureSideBySide(context, backend, store, raw);
      } finally {
        await raw.close();
        await store.close();
      }
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

interface AppendLoop {
  readonly metric: string;
  readonly label: string;
  readonly workers: number;
  readonly maxOperations: number;
  readonly eventsPerCall: number;
  readonly stream: (run: string, round: number, worker: number, iteration: number) => string;
}

function appendLoops(scale: number): AppendLoop[] {
  return [
    { metric: 'append_single_1w', label: 'single-event appends, 1 writer', workers: 1, maxOperations: 20_000 * scale, eventsPerCall: 1, stream: (run, _r, _w, i) => `${run}-single-${i % 100}` },
    { metric: 'append_single_16w', label: 'single-event appends, 16 writers', workers: 16, maxOperations: 200_000 * scale, eventsPerCall: 1, stream: (run, _r, w, i) => `${run}-w${w}-${i % 50}` },
    { metric: 'append_batch100', label: 'batches of 100', workers: 1, maxOperations: 5_000 * scale, eventsPerCall: 100, stream: (run, r, _w, i) => `${run}-batch-${r}-${i}` },
  ];
}

function loop(append: Append, spec: AppendLoop, run: string, round: number, maxMs: number) {
  return throughput({ workers: spec.workers, maxOperations: spec.maxOperations, maxMs, unitsPerCall: spec.eventsPerCall }, (worker, iteration) =>
    append(spec.stream(run, round, worker, iteration), Array.from({ length: spec.eventsPerCall }, newEvent)),
  );
}

/** The in-memory store: no raw counterpart, one pass per metric. */
async function measureAlone(context: BenchContext, backend: string, store: EventStore): Promise<void> {
  const scale = context.quick ? 0.25 : 1;
  const maxMs = context.quick ? 1_500 : 5_000;
  const run = `${backend}-${randomUUID().slice(0, 6)}`;
  const append: Append = (streamName, events) => store.appendToStream(streamName, events);
  for (const spec of appendLoops(scale)) {
    context.progress(`${backend}: ${spec.label}`);
    const result = await loop(append, spec, run, 0, maxMs);
    context.record({ backend, metric: spec.metric, value: result.perSecond, unit: 'events/s' });
  }
  await measureReadAll(context, backend, store, scale);
}

async function measureSideBySide(context: BenchContext, backend: string, store: EventStore, raw: RawAppender): Promise<void> {
  const scale = context.quick ? 0.25 : 1;
  const rounds = context.quick ? 2 : 4;
  // Per side and metric, over all rounds: the same time as the suite gave one backend before.
  const maxMs = (context.quick ? 1_500 : 5_000) / rounds;
  const run = `${backend}-${randomUUID().slice(0, 6)}`;
  const sides: Array<[string, Append]> = [
    ['eventfold', (streamName, events) => store.appendToStream(streamName, events)],
    ['raw', (streamName, events) => raw.append(streamName, events)],
  ];
  for (const spec of appendLoops(scale)) {
    context.progress(`${backend}: ${spec.label}, eventfold and raw in ${rounds} alternating rounds`);
    const figures = await alternating(
      sides.map(([label, append]) => ({ label, round: (round: number) => loop(append, spec, `${run}-${label}`, round, maxMs) })),
      rounds,
    );
    const ours = figures.get('eventfold')!;
    const theirs = figures.get('raw')!;
    context.record({ backend, metric: spec.metric, value: ours, unit: 'events/s' });
    context.record({ backend: `${backend}_raw`, metric: spec.metric, value: theirs, unit: 'events/s' });
    context.record({ backend, metric: `ratio_raw_${spec.metric}`, value: ours / theirs, unit: '×' });
  }
  await measureReadAll(context, backend, store, scale);
}

async function measureReadAll(context: BenchContext, backend: string, store: EventStore, scale: number): Promise<void> {
  context.progress(`${backend}: read all`);
  let read = 0;
  const begin = performance.now();
  const readLimit = 500_000 * scale;
  for await (const _event of store.readAll({ maxCount: readLimit })) read++;
  const ms = performance.now() - begin;
  context.record({ backend, metric: 'read_all', value: (read / ms) * 1000, unit: 'events/s' });
}
