import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handleCommand, StateCache } from '../../src/commands';
import { type EventStore, type JsonValue } from '../../src/event-store';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { defineCollection, defineProjection, ProjectionEngine, type ReadModelStore } from '../../src/projections';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { PostgresReadModelStore } from '../../src/backends/postgres';
import { createDatabase, startPostgres } from '../../test/support/postgres-server';
import { throughput, type BenchContext } from '../harness';
import { counter, counterHistory } from './bench-decider';
import { naivePostgres, naiveSqlite } from './peers-naive';

/**
 * eventfold side by side with Emmett (`@event-driven-io/emmett`, `-postgresql`, `-sqlite`) and with a
 * naive store written here, on one throwaway PostgreSQL server and on SQLite files, in the same run.
 * Each side gets databases (files) of its own; every write metric runs eventfold, Emmett and the
 * naive store in alternating rounds, so that their ratio is measured under the same load; the
 * projection catch-up runs them one after the other over the same 200,000 events. See bench/README.md.
 */

/** The folder Emmett is installed into, apart from eventfold's own dependencies. */
const PEERS_FOLDER = join(__dirname, '..', 'peers');

export interface BenchEvent {
  readonly type: string;
  readonly data: unknown;
}

export interface CartDocument {
  readonly cartId: string;
  readonly customerId: string;
  readonly items: number;
  readonly total: number;
  readonly status: 'open' | 'confirmed';
}

export interface CatchUpOptions {
  /** Collection (table) name of the read model, fresh for each run. */
  readonly collection: string;
  readonly batchSize: number;
  readonly maxMs: number;
  /** Events in the log; the catch-up is done when it has handled them all. */
  readonly expectedEvents: number;
  /** Global position of the last event, as the side's own append reported it. */
  readonly lastPosition: string;
}

export interface CatchUpResult {
  readonly events: number;
  readonly ms: number;
}

/** One contender: the same operations, each done the way its kit is meant to be used. */
export interface PeerSide {
  readonly name: 'eventfold' | 'emmett' | 'naive';
  /** Appends without a revision check; resolves with the position of the last event. */
  append(streamName: string, events: readonly BenchEvent[]): Promise<string>;
  /** Handles `Increment` on a counter stream (load, decide, append); resolves with the events appended. */
  increment(streamName: string): Promise<number>;
  /** Fills the log for the catch-up faster than `append` would, where a side has a bulk path (not measured). */
  seed?(streams: ReadonlyArray<readonly [string, readonly BenchEvent[]]>): Promise<string>;
  /** The same with the kit's in-memory state cache, where it has one. */
  incrementCached?(streamName: string): Promise<number>;
  catchUp(options: CatchUpOptions): Promise<CatchUpResult>;
  readDocuments(collection: string, ids: readonly string[]): Promise<{ count: number; documents: Map<string, CartDocument> }>;
  close(): Promise<void>;
}

export type CounterState = { status: 'none' } | { status: 'open'; name: string; increments: number; total: number };

export const initialCounter = (): CounterState => ({ status: 'none' });

/** The counter of bench-decider.ts as a plain fold, for the naive store. */
export function evolveCounter(state: CounterState, event: { type: string; data: unknown }): CounterState {
  if (event.type === 'CounterOpened') return { status: 'open', name: (event.data as { name: string }).name, increments: 0, total: 0 };
  if (event.type === 'Incremented' && state.status === 'open') {
    return { ...state, increments: state.increments + 1, total: state.total + (event.data as { by: number }).by };
  }
  return state;
}

/** The cart read model every side builds (Emmett's copy is in bench/peers/emmett-adapter.cjs). */
export function evolveCart(document: CartDocument | null, event: { type: string; data: unknown }): CartDocument | null {
  switch (event.type) {
    case 'CartOpened': {
      const data = event.data as { cartId: string; customerId: string };
      return { cartId: data.cartId, customerId: data.customerId, items: 0, total: 0, status: 'open' };
    }
    case 'ItemAdded': {
      const data = event.data as { quantity: number; price: number };
      return document ? { ...document, items: document.items + data.quantity, total: document.total + data.price * data.quantity } : null;
    }
    case 'CartConfirmed':
      return document ? { ...document, status: 'confirmed' } : null;
    default:
      return document;
  }
}

const CART_EVENT_TYPES = ['CartOpened', 'ItemAdded', 'CartConfirmed'] as const;

/** One cart's history: opened, `length - 2` items of 2 × 3.5, confirmed. */
function cartHistory(index: number, length: number): BenchEvent[] {
  const cartId = `cart${index}`;
  return [
    { type: 'CartOpened', data: { cartId, customerId: `customer${index % 97}` } },
    ...Array.from({ length: length - 2 }, (_, item): BenchEvent => ({ type: 'ItemAdded', data: { cartId, productId: `product${item}`, quantity: 2, price: 3.5 } })),
    { type: 'CartConfirmed', data: { cartId } },
  ];
}

function expectedCart(index: number, length: number): CartDocument {
  return { cartId: `cart${index}`, customerId: `customer${index % 97}`, items: 2 * (length - 2), total: 7 * (length - 2), status: 'confirmed' };
}

const payload = { orderId: 'o-123', customerId: 'c-456', items: [{ menuItemId: 'm-1', quantity: 2 }], total: 25.5 };
const orderPlaced: BenchEvent = { type: 'OrderPlaced', data: payload };

export async function run(context: BenchContext): Promise<void> {
  ensurePeersInstalled(context);
  const emmett = loadEmmett();
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-peers-'));
  context.progress('starting PostgreSQL');
  const postgres = await startPostgres();
  try {
    const backends: Array<[string, (role: string) => Promise<Array<() => Promise<PeerSide>>>]> = [
      [
        'postgres',
        async (role) => {
          const [ours, theirs, naive] = await Promise.all(['eventfold', 'emmett', 'naive'].map((side) => createDatabase(postgres.url, `${side}_${role}`)));
          return [() => eventfoldPostgres(ours!.url), () => Promise.resolve(emmett.postgres(theirs!.url)), () => naivePostgres(naive!.url)];
        },
      ],
      [
        'sqlite',
        (role) =>
          Promise.resolve([
            () => Promise.resolve(eventfoldSqlite(join(folder, `eventfold-${role}.db`), join(folder, `eventfold-${role}-read.db`))),
            () => Promise.resolve(emmett.sqlite(join(folder, `emmett-${role}.db`))),
            () => Promise.resolve(naiveSqlite(join(folder, `naive-${role}.db`))),
          ]),
      ],
    ];
    ratios.length = 0;
    for (const [backend, open] of backends) {
      await measureWrites(context, backend, open);
      await measureCatchUp(context, backend, await open('projection'));
    }
    printRatios();
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

async function withSides(openers: ReadonlyArray<() => Promise<PeerSide>>, work: (sides: PeerSide[]) => Promise<void>): Promise<void> {
  const sides: PeerSide[] = [];
  try {
    for (const open of openers) sides.push(await open());
    await work(sides);
  } finally {
    for (const side of sides) await side.close();
  }
}

/** The goals of the side-by-side issue: eventfold / Emmett, same run. */
const GOALS: Readonly<Record<string, number>> = {
  // Issue 15: 2× Emmett wherever one durable flush per operation does not bound the figure (all but
  // the single-writer appends), and never behind the naive store.
  ratio_append_16w: 2,
  ratio_append_batch: 2,
  ratio_commands_short: 2,
  ratio_commands_long: 2,
  ratio_projection_catchup: 3,
  ratio_naive_append_1w: 1,
  ratio_naive_append_16w: 1,
  ratio_naive_append_batch: 1,
  ratio_naive_commands_short: 1,
  ratio_naive_commands_long: 1,
  ratio_naive_projection_catchup: 1,
};

/** Ratios recorded in this run, for the summary at its end. */
const ratios: Array<{ backend: string; metric: string; value: number }> = [];

function printRatios(): void {
  const metrics = [...new Set(ratios.map((r) => r.metric))];
  const backends = [...new Set(ratios.map((r) => r.backend))];
  console.log('\neventfold / Emmett (ratio_*) and eventfold / naive (ratio_naive_*), same run:');
  console.log(`  ${'metric'.padEnd(32)}${backends.map((b) => b.padStart(10)).join('')}${'goal'.padStart(8)}`);
  for (const metric of metrics) {
    const cells = backends.map((backend) => {
      const found = ratios.find((r) => r.metric === metric && r.backend === backend);
      return (found ? `${found.value.toFixed(2)}×` : '-').padStart(10);
    });
    const goal = GOALS[metric];
    console.log(`  ${metric.padEnd(32)}${cells.join('')}${(goal ? `≥ ${goal}×` : '').padStart(8)}`);
  }
}

/** Records each side's figure and the eventfold/Emmett ratio. */
function recordSideBySide(context: BenchContext, backend: string, metric: string, unit: string, figures: ReadonlyMap<string, number>, ratio?: string): void {
  for (const [side, value] of figures) context.record({ backend, metric: `${metric}_${side}`, value, unit });
  if (!ratio) return;
  const ours = figures.get('eventfold')!;
  const theirs = figures.get('emmett')!;
  const value = ours / theirs;
  context.record({ backend, metric: ratio, value, unit: '×' });
  ratios.push({ backend, metric: ratio, value });
  // eventfold ÷ the naive store, goal ≥ 1 for every metric: `ratio_append_batch` → `ratio_naive_append_batch`.
  const naive = figures.get('naive');
  if (naive !== undefined) {
    const naiveRatio = ratio.replace(/^ratio_/, 'ratio_naive_');
    context.record({ backend, metric: naiveRatio, value: ours / naive, unit: '×' });
    ratios.push({ backend, metric: naiveRatio, value: ours / naive });
  }
  context.progress(`${backend} ${ratio} = ${value.toFixed(2)} (eventfold ${Math.round(ours)}, Emmett ${Math.round(theirs)}, naive ${Math.round(figures.get('naive') ?? NaN)} ${unit})`);
}

/** One contender of an interleaved measurement: prepares once, then runs one timed round at a time. */
interface Contender {
  readonly label: string;
  setup(): Promise<(round: number) => Promise<{ units: number; ms: number }>>;
}

/**
 * Runs the contenders in alternating rounds (A B C, C B A, A B C, …) and returns units per second of
 * each over all its rounds, so that load that drifts during a run (this machine is shared) weighs on
 * every side alike rather than on whichever ran in the worse moment.
 */
async function interleaved(context: BenchContext, backend: string, label: string, contenders: readonly Contender[], rounds: number): Promise<Map<string, number>> {
  context.progress(`${backend} ${label}: ${contenders.map((c) => c.label).join(', ')} in ${rounds} alternating rounds`);
  const runs = [];
  for (const contender of contenders) runs.push(await contender.setup());
  const totals = contenders.map(() => ({ units: 0, ms: 0 }));
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const result = await runs[index]!(round);
      totals[index]!.units += result.units;
      totals[index]!.ms += result.ms;
    }
  }
  return new Map(contenders.map((contender, index) => [contender.label, (totals[index]!.units / totals[index]!.ms) * 1000]));
}

type OpenSides = (role: string) => Promise<Array<() => Promise<PeerSide>>>;

async function measureWrites(context: BenchContext, backend: string, open: OpenSides): Promise<void> {
  const rounds = context.quick ? 2 : 3;
  // Per side and metric, over all rounds.
  const maxMs = (context.quick ? 1_000 : 3_000) / rounds;
  // Each metric starts every side on empty databases of its own: appends slow down as a table and its
  // unique index on random ids grow, so a side that wrote more in an earlier metric (the faster one)
  // would otherwise start the next with a handicap.
  const fresh = async (role: string, work: (sides: PeerSide[]) => Promise<void>): Promise<void> => withSides(await open(role), work);
  {
    const run = randomUUID().slice(0, 6);
    const appends = (sides: readonly PeerSide[], label: string, workers: number, maxOperations: number, unitsPerCall: number, work: (side: PeerSide, round: number, worker: number, iteration: number) => Promise<unknown>) =>
      interleaved(
        context,
        backend,
        label,
        sides.map((side) => ({
          label: side.name,
          setup: () =>
            Promise.resolve((round: number) =>
              throughput({ workers, maxOperations: maxOperations / rounds, maxMs, unitsPerCall }, (worker, iteration) => work(side, round, worker, iteration)),
            ),
        })),
        rounds,
      );

    await fresh('writes_1w', async (sides) => {
      const single = await appends(sides, 'single-event appends, 1 writer', 1, 20_000, 1, (side, _round, _worker, i) => side.append(`order-${run}1-${i % 100}`, [orderPlaced]));
      recordSideBySide(context, backend, 'append_1w', 'events/s', single, 'ratio_append_1w');
    });

    await fresh('writes_16w', async (sides) => {
      const concurrent = await appends(sides, 'single-event appends, 16 writers', 16, 100_000, 1, (side, _round, worker, i) =>
        side.append(`order-${run}16-${worker}-${i % 50}`, [orderPlaced]),
      );
      recordSideBySide(context, backend, 'append_16w', 'events/s', concurrent, 'ratio_append_16w');
    });

    const hundred = Array.from({ length: 100 }, () => orderPlaced);
    await fresh('writes_batch', async (sides) => {
      const batch = await appends(sides, 'batches of 100 events, 1 writer', 1, 3_000, 100, (side, round, _worker, i) => side.append(`order-${run}b${round}-${i}`, hundred));
      recordSideBySide(context, backend, 'append_batch100', 'events/s', batch, 'ratio_append_batch');
    });

    for (const scenario of [
      { label: 'short', length: 10, streamsPerWorker: context.quick ? 16 : 32, ratio: 'ratio_commands_short' },
      { label: 'long', length: 1_000, streamsPerWorker: context.quick ? 1 : 2, ratio: 'ratio_commands_long' },
    ]) {
      const workers = 16;
      // At most this many commands per stream on average over all rounds (10 → 15 events, 1,000 → 1,100).
      const maxGrowth = Math.max(5, scenario.length / 10);
      const history: BenchEvent[] = counterHistory(scenario.length).map(({ type, data }) => ({ type, data }));
      const commands = (side: PeerSide, label: string, increment: (streamName: string) => Promise<number>): Contender => ({
        label,
        async setup() {
          const streams = Array.from({ length: workers }, (_, worker) =>
            Array.from({ length: scenario.streamsPerWorker }, (_, index) => `counter-${run}${scenario.label}${label}-${worker}-${index}`),
          );
          const all = streams.flat();
          await inParallel(all, 8, (streamName) => side.append(streamName, history));
          return async () => {
            let appended = 0;
            const result = await throughput({ workers, maxOperations: (all.length * maxGrowth) / rounds, maxMs }, async (worker, iteration) => {
              const events = await increment(streams[worker]![iteration % scenario.streamsPerWorker]!);
              appended += events;
            });
            if (appended !== result.units) throw new Error(`${label}: ${result.units} commands appended ${appended} events, expected one each`);
            return result;
          };
        },
      });
      await fresh(`commands_${scenario.label}`, async (sides) => {
        const contenders = sides.map((side) => commands(side, side.name, (streamName) => side.increment(streamName)));
        // eventfold's opt-in state cache, as a figure apart: Emmett has no equivalent, so it stays out of the ratio.
        for (const side of sides) {
          if (side.incrementCached) contenders.push(commands(side, `${side.name}_cached`, (streamName) => side.incrementCached!(streamName)));
        }
        const figures = await interleaved(context, backend, `commands on ${scenario.label} streams (${scenario.length} events), 16 callers`, contenders, rounds);
        recordSideBySide(context, backend, `commands_${scenario.label}_16c`, 'commands/s', figures, scenario.ratio);
      });
    }
  }
}

async function measureCatchUp(context: BenchContext, backend: string, openers: ReadonlyArray<() => Promise<PeerSide>>): Promise<void> {
  const cartLength = 40;
  const carts = context.quick ? 500 : 5_000;
  const expectedEvents = carts * cartLength;
  // Emmett and the naive store handle one event at a time; a full pass over 200,000 events would
  // take them many minutes here, so their catch-up is stopped after this long and measured over the
  // events they got through.
  const maxMs = context.quick ? 5_000 : 10_000;
  const seedDeadline = performance.now() + 600_000;
  await withSides(openers, async (sides) => {
    const figures = new Map<string, number>();
    for (const side of sides) {
      context.progress(`${backend} projection: ${side.name} seeding ${expectedEvents.toLocaleString('en-US')} events (${carts} carts × ${cartLength})`);
      let lastPosition = '0';
      if (side.seed) {
        lastPosition = await side.seed(Array.from({ length: carts }, (_, index) => [`cart-${index}`, cartHistory(index, cartLength)] as const));
      } else {
        await inParallel(
          Array.from({ length: carts }, (_, index) => index),
          8,
          async (index) => {
            if (performance.now() > seedDeadline) throw new Error(`${side.name}: seeding took over 10 minutes`);
            const position = await side.append(`cart-${index}`, cartHistory(index, cartLength));
            if (laterPosition(position, lastPosition)) lastPosition = position;
          },
        );
      }
      const collection = `carts_${randomUUID().slice(0, 8)}`;
      context.progress(`${backend} projection: ${side.name} catching up`);
      const result = await side.catchUp({ collection, batchSize: side.name === 'eventfold' ? 5_000 : 1_000, maxMs, expectedEvents, lastPosition });
      const complete = result.events >= expectedEvents;
      context.progress(
        `${backend} projection: ${side.name} handled ${result.events.toLocaleString('en-US')} events in ${Math.round(result.ms)} ms${complete ? '' : ' (stopped at the time limit)'}`,
      );
      await verifyCarts(side, collection, complete ? carts : 1, cartLength, complete);
      figures.set(side.name, (result.events / result.ms) * 1000);
    }
    recordSideBySide(context, backend, 'projection_catchup', 'events/s', figures, 'ratio_projection_catchup');
  });
}

/** Checks the read model: every cart when the catch-up finished, else the first one (handled first). */
async function verifyCarts(side: PeerSide, collection: string, carts: number, cartLength: number, complete: boolean): Promise<void> {
  const sample = Array.from(new Set([0, Math.floor(carts / 2), carts - 1]));
  const { count, documents } = await side.readDocuments(collection, sample.map((index) => `cart-${index}`));
  if (complete && count !== carts) throw new Error(`${side.name}: ${count} cart documents, expected ${carts}`);
  for (const index of sample) {
    const actual = documents.get(`cart-${index}`);
    const expected = expectedCart(index, cartLength);
    const same = actual !== undefined && (Object.keys(expected) as Array<keyof CartDocument>).every((key) => actual[key] === expected[key]);
    if (!same) throw new Error(`${side.name}: cart-${index} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/** Positions as the sides report them: decimal numbers (Emmett, naive) or fixed-width hex (eventfold). */
function laterPosition(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
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

async function eventfoldPostgres(url: string): Promise<PeerSide> {
  const store = await PostgresEventStore.connect(url);
  // Durable read-model commits, like Emmett's (eventfold's default is synchronous_commit=off for them).
  return eventfoldSide(store, () => PostgresReadModelStore.connect(url, { synchronousCommit: true }));
}

function eventfoldSqlite(path: string, readModelPath: string): PeerSide {
  const store = SqliteEventStore.open(path);
  return eventfoldSide(store, () => Promise.resolve(SqliteReadModelStore.open(readModelPath, { synchronous: 'full' })));
}

function eventfoldSide(store: EventStore, openReadModels: () => Promise<ReadModelStore>): PeerSide {
  let readModels: ReadModelStore | undefined;
  const cache = new StateCache();
  const carts = defineCollection<CartDocument>();
  const projectionFor = (collection: string) =>
    defineProjection({
      name: collection.replace(/_/g, '-'),
      version: 1,
      eventTypes: CART_EVENT_TYPES,
      collections: { [collection]: carts },
      documentKeys: { [collection]: (event: { streamName: string }) => event.streamName },
      async handle(events, tx) {
        const documents = tx.documents(collection);
        for (const event of events) {
          const next = evolveCart((await documents.get(event.streamName)) ?? null, event);
          if (next) documents.put(event.streamName, next);
        }
      },
    });
  const projections = new Map<string, ReturnType<typeof projectionFor>>();
  return {
    name: 'eventfold',
    async append(streamName, events) {
      const result = await store.appendToStream(
        streamName,
        events.map((event) => ({ id: randomUUID(), type: event.type, data: event.data as JsonValue })),
      );
      return result.position.toString();
    },
    async increment(streamName) {
      const receipt = await handleCommand({ store }, counter, { streamName, command: { type: 'Increment', data: { by: 1 } } });
      return receipt.events.length;
    },
    async incrementCached(streamName) {
      const receipt = await handleCommand({ store, cache }, counter, { streamName, command: { type: 'Increment', data: { by: 1 } } });
      return receipt.events.length;
    },
    async catchUp(options) {
      readModels ??= await openReadModels();
      const projection = projectionFor(options.collection);
      projections.set(options.collection, projection);
      const head = await store.headPosition();
      if (!head) throw new Error('nothing to catch up on');
      const engine = new ProjectionEngine({ eventStore: store, readModels, projections: [projection], batchSize: options.batchSize });
      const begin = performance.now();
      await engine.start();
      try {
        await engine.waitForPosition(projection.name, head, { timeoutMs: options.maxMs });
      } catch (error) {
        if ((error as { code?: string }).code !== 'WAIT_TIMEOUT') throw error;
      }
      const ms = performance.now() - begin;
      const status = await engine.status(projection.name);
      await engine.stop();
      return { events: status.eventsHandled, ms };
    },
    async readDocuments(collection, ids) {
      const projection = projections.get(collection)!;
      const documents = readModels!.documents(projection, collection);
      const found = new Map<string, CartDocument>();
      for (const id of ids) {
        const document = await documents.get(id);
        if (document) found.set(id, document);
      }
      return { count: await documents.count(), documents: found };
    },
    async close() {
      await readModels?.close();
      await store.close();
    },
  };
}

interface EmmettSide {
  stats: { busyRetries: number };
  append(streamName: string, events: readonly BenchEvent[]): Promise<string>;
  increment(streamName: string): Promise<number>;
  catchUp(options: CatchUpOptions): Promise<CatchUpResult>;
  readDocuments(collection: string, ids: readonly string[]): Promise<{ count: number | bigint; documents: Array<CartDocument & { id: string }> }>;
  close(): Promise<void>;
}

interface EmmettAdapter {
  emmettPostgres(url: string): EmmettSide;
  emmettSqlite(fileName: string): EmmettSide;
}

/** Emmett through bench/peers/emmett-adapter.cjs, required at run time (no Emmett types needed here). */
function loadEmmett(): { postgres(url: string): PeerSide; sqlite(fileName: string): PeerSide } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const adapter = require(join(PEERS_FOLDER, 'emmett-adapter.cjs')) as EmmettAdapter;
  const wrap = (side: EmmettSide): PeerSide => ({
    name: 'emmett',
    append: (streamName, events) => side.append(streamName, events),
    increment: (streamName) => side.increment(streamName),
    catchUp: (options) => side.catchUp(options),
    async readDocuments(collection, ids) {
      const { count, documents } = await side.readDocuments(collection, ids);
      return { count: Number(count), documents: new Map(documents.map(({ id, ...document }) => [id, document])) };
    },
    async close() {
      if (side.stats.busyRetries > 0) console.log(`  emmett: ${side.stats.busyRetries} calls retried after SQLITE_BUSY`);
      await side.close();
    },
  });
  return { postgres: (url) => wrap(adapter.emmettPostgres(url)), sqlite: (fileName) => wrap(adapter.emmettSqlite(fileName)) };
}

/** Installs bench/peers (Emmett) on first use; users and CI never pull it in otherwise. */
function ensurePeersInstalled(context: BenchContext): void {
  const installed = ['@event-driven-io/emmett-postgresql', '@event-driven-io/emmett-sqlite', 'sqlite3/build/Release/node_sqlite3.node'].every((path) =>
    existsSync(join(PEERS_FOLDER, 'node_modules', path)),
  );
  if (installed) return;
  context.progress('installing Emmett into bench/peers (npm install --prefix bench/peers; sqlite3 compiles from source: a few minutes, once)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--prefix', PEERS_FOLDER, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm install --prefix ${PEERS_FOLDER} failed (exit ${result.status ?? result.signal})`);
  if (!existsSync(join(PEERS_FOLDER, 'node_modules', 'sqlite3/build/Release/node_sqlite3.node'))) {
    context.progress('building sqlite3 for Emmett (npm rebuild sqlite3)');
    const rebuilt = spawnSync(npm, ['rebuild', 'sqlite3', '--prefix', PEERS_FOLDER], { stdio: 'inherit' });
    if (rebuilt.status !== 0) throw new Error('npm rebuild sqlite3 failed in bench/peers');
  }
  context.progress('bench/peers installed');
}
