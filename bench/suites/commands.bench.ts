import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleCommand, StateCache, type CommandEnvironment, type SnapshotStore } from '../../src/commands';
import { SqliteSnapshotStore } from '../../src/backends/sqlite';
import { PostgresSnapshotStore } from '../../src/backends/postgres';
import type { Aggregate } from '../../src/domain';
import { type EventStore } from '../../src/event-store';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { startPostgres } from '../../test/support/postgres-server';
import { throughput, type BenchContext } from '../harness';
import { counter, counterHistory, snapshottingCounter, type CounterCommand, type CounterEvent, type CounterState } from './bench-decider';

/** Snapshot cadence of the `_snapshot` metrics. */
const SNAPSHOT_EVERY = 100;

interface Scenario {
  readonly metric: string;
  readonly workers: number;
  /** Each worker cycles over its own streams, so workers never race each other. */
  readonly streamsPerWorker: number;
  /** Events in each stream when the timed loop starts. */
  readonly length: number;
  readonly snapshots: boolean;
  readonly cached: boolean;
}

interface Backend {
  readonly name: string;
  readonly store: EventStore;
  readonly snapshots: SnapshotStore;
}

/**
 * `handleCommand` (load + decide + append) per backend. Every metric gets its own streams, pre-filled
 * with batched appends to one event short of their length; an untimed warm-up command per stream brings
 * them to it (and saves the snapshots, fills the cache where the metric uses them). The timed loop then
 * sends `Increment` round-robin over each worker's streams, bounded in time and in count (so that
 * streams grow by at most 50% / 10% while measured). Metrics without `_cached` run with no state cache:
 * every command loads its stream from the store (or from its snapshot).
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-commands-'));
  const postgres = await startPostgres();
  try {
    const openers: Array<[string, () => Promise<Backend>]> = [
      [
        'sqlite',
        () => {
          const store = SqliteEventStore.open(join(folder, 'commands.db'));
          return Promise.resolve({ name: 'sqlite', store, snapshots: new SqliteSnapshotStore(store.database) });
        },
      ],
      [
        'postgres',
        async () => {
          const store = await PostgresEventStore.connect(postgres.url);
          return { name: 'postgres', store, snapshots: await PostgresSnapshotStore.create(store.pool) };
        },
      ],
    ];
    for (const [name, open] of openers) {
      context.progress(`${name}: opening`);
      const backend = await open();
      try {
        await measureBackend(context, backend);
      } finally {
        await backend.store.close();
      }
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

async function measureBackend(context: BenchContext, backend: Backend): Promise<void> {
  const shortStreams = context.quick ? 512 : 1_024; // a multiple of 16
  const longStreamsPerWorker = 4;
  const base: Scenario[] = [
    { metric: 'commands_short_1c', workers: 1, streamsPerWorker: shortStreams, length: 10, snapshots: false, cached: false },
    { metric: 'commands_short_16c', workers: 16, streamsPerWorker: shortStreams / 16, length: 10, snapshots: false, cached: false },
    { metric: 'commands_long_16c', workers: 16, streamsPerWorker: longStreamsPerWorker, length: 1_000, snapshots: false, cached: false },
    { metric: 'commands_long_snapshot_16c', workers: 16, streamsPerWorker: longStreamsPerWorker, length: 1_000, snapshots: true, cached: false },
  ];
  const scenarios = [...base, ...base.map((s) => ({ ...s, metric: `${s.metric}_cached`, cached: true }))];
  for (const scenario of scenarios) await measureScenario(context, backend, scenario);
}

async function measureScenario(context: BenchContext, backend: Backend, scenario: Scenario): Promise<void> {
  const { metric, workers, streamsPerWorker, length } = scenario;
  const maxMs = context.quick ? 1_500 : 5_000;
  // At most this many timed commands per stream (on average), so that streams stay near their length:
  // 10 → at most 15 events, 1,000 → at most 1,100.
  const maxGrowth = Math.max(5, length / 10);
  const run = randomUUID().slice(0, 8);
  const streams = Array.from({ length: workers }, (_, worker) =>
    Array.from({ length: streamsPerWorker }, (_, index) => counter.streamName(`${run}_${metric}_${worker}_${index}`)),
  );
  const aggregate: Aggregate<CounterCommand, CounterEvent, CounterState> = scenario.snapshots ? snapshottingCounter(SNAPSHOT_EVERY) : counter;
  let snapshotErrors = 0;
  const environment: CommandEnvironment = {
    store: backend.store,
    ...(scenario.snapshots ? { snapshots: backend.snapshots } : {}),
    ...(scenario.cached ? { cache: new StateCache() } : {}),
    onSnapshotError: () => snapshotErrors++,
  };
  let appended = 0;
  const increment = async (streamName: string) => {
    const receipt = await handleCommand(environment, aggregate, { streamName, command: { type: 'Increment', data: { by: 1 } } });
    appended += receipt.events.length;
  };

  const all = streams.flat();
  context.progress(`${backend.name} ${metric}: pre-filling ${all.length} streams to ${length} events`);
  await inParallel(all, 32, (streamName) => backend.store.appendToStream(streamName, counterHistory(length - 1), { expectedRevision: 'no_stream' }));
  // One untimed command per stream brings it to `length` events, and saves its snapshot or caches its
  // state where the metric uses them.
  await inParallel(all, 16, increment);

  appended = 0;
  const result = await throughput({ workers, maxOperations: all.length * maxGrowth, maxMs }, (worker, iteration) =>
    increment(streams[worker]![iteration % streamsPerWorker]!),
  );
  if (appended !== result.units) throw new Error(`${metric}: ${result.units} commands appended ${appended} events, expected one each`);
  if (snapshotErrors > 0) throw new Error(`${metric}: ${snapshotErrors} snapshot errors`);
  if (scenario.snapshots && !(await backend.snapshots.load(all[0]!))) throw new Error(`${metric}: no snapshot was saved`);
  context.progress(
    `${backend.name} ${metric}: ${result.units} commands in ${Math.round(result.ms)} ms; streams grew by ${(result.units / all.length).toFixed(1)} events on average`,
  );
  context.record({ backend: backend.name, metric, value: result.perSecond, unit: 'commands/s' });
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
