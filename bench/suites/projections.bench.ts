import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventData, type EventStore, type Position } from '../../src/event-store';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { ProjectionEngine, defineCollection, defineProjection, type ReadModelStore } from '../../src/projections';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { PostgresReadModelStore } from '../../src/backends/postgres';
import { startPostgres } from '../../test/support/postgres-server';
import type { BenchContext } from '../harness';

interface OrderDoc {
  orderId: string;
  customerId: string;
  status: string;
  total: number;
  items: number;
}

interface OrderData {
  orderId: string;
  customerId?: string;
  price?: number;
}

/** The document read model of the benchmark: one document per order, three indexed fields. */
const orderTotals = defineProjection({
  name: 'order-totals',
  version: 1,
  eventTypes: ['OrderPlaced', 'ItemAdded'],
  collections: { orders: defineCollection<OrderDoc>({ indexes: { status: 'text', total: 'number', customerId: 'text' } }) },
  documentKeys: { orders: (event) => (event.data as unknown as OrderData).orderId },
  async handle(events, tx) {
    const orders = tx.documents('orders');
    for (const event of events) {
      const data = event.data as unknown as OrderData;
      switch (event.type) {
        case 'OrderPlaced':
          orders.put(data.orderId, { orderId: data.orderId, customerId: data.customerId ?? '', status: 'placed', total: 0, items: 0 });
          break;
        case 'ItemAdded': {
          const order = await orders.get(data.orderId);
          if (order) orders.put(data.orderId, { ...order, total: order.total + (data.price ?? 0), items: order.items + 1 });
          break;
        }
        default: {
          const _never: never = event.type;
          throw new Error(`unhandled ${String(_never)}`);
        }
      }
    }
  },
});

/** Events per order in the seeded history: OrderPlaced and nine ItemAdded. */
const EVENTS_PER_ORDER = 10;

const orderEvents = (orderId: string): EventData[] => [
  { id: randomUUID(), type: 'OrderPlaced', data: { orderId, customerId: `c-${orderId.length}` }, metadata: { correlationId: orderId } },
  ...Array.from({ length: EVENTS_PER_ORDER - 1 }, (_, n) => ({
    id: randomUUID(),
    type: 'ItemAdded',
    data: { orderId, menuItemId: `m-${n}`, price: 5 + n },
    metadata: { correlationId: orderId },
  })),
];

interface Backend {
  readonly name: 'sqlite' | 'postgres';
  readonly events: number;
  openEventStore(): Promise<EventStore>;
  openReadModels(): Promise<ReadModelStore>;
}

/**
 * Rebuild rate (a document read model built from the first event) and live lag (append → change-feed
 * announcement while 2,000 appends/s arrive), on SQLite and PostgreSQL.
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-projections-'));
  const postgres = await startPostgres();
  const events = context.quick ? 100_000 : 1_000_000;
  try {
    const backends: Backend[] = [
      {
        name: 'sqlite',
        events,
        openEventStore: () => Promise.resolve(SqliteEventStore.open(join(folder, 'events.db'))),
        openReadModels: () => Promise.resolve(SqliteReadModelStore.open(join(folder, 'read-models.db'))),
      },
      {
        name: 'postgres',
        events,
        openEventStore: () => PostgresEventStore.connect(postgres.url),
        openReadModels: () => PostgresReadModelStore.connect(postgres.url),
      },
    ];
    for (const backend of backends) await measure(context, backend);
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

async function measure(context: BenchContext, backend: Backend): Promise<void> {
  const eventStore = await backend.openEventStore();
  const readModels = await backend.openReadModels();
  let engine: ProjectionEngine | undefined;
  try {
    const orders = backend.events / EVENTS_PER_ORDER;
    context.progress(`${backend.name}: seeding ${backend.events.toLocaleString('en-US')} events (${orders.toLocaleString('en-US')} orders)`);
    await seed(eventStore, orders);
    const head = (await eventStore.headPosition())!;

    context.progress(`${backend.name}: rebuilding the document read model from the first event`);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderTotals] });
    const begin = performance.now();
    const cpuBefore = process.cpuUsage();
    await engine.start();
    await engine.waitForPosition('order-totals', head, { timeoutMs: 900_000 });
    const seconds = (performance.now() - begin) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    context.record({ backend: backend.name, metric: 'rebuild', value: backend.events / seconds, unit: 'events/s' });
    // Wall time moves with whatever else runs on the machine; this process's CPU time much less so.
    context.progress(
      `${backend.name}: rebuild took ${seconds.toFixed(1)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of this process's CPU (${Math.round(
        backend.events / ((cpu.user + cpu.system) / 1e6),
      ).toLocaleString('en-US')} events per CPU-second${backend.name === 'postgres' ? ', server not included' : ''})`,
    );
    const sample = await readModels.documents(orderTotals, 'orders').get('order-0');
    if (sample?.items !== EVENTS_PER_ORDER - 1) throw new Error(`read model is wrong after the rebuild: ${JSON.stringify(sample)}`);

    context.progress(`${backend.name}: live lag under 2,000 appends/s`);
    const { lags, appendLatencies } = await liveLag(eventStore, engine, orders, context.quick ? 3_000 : 10_000);
    context.record({ backend: backend.name, metric: 'live_lag_p50', value: percentile(lags, 0.5), unit: 'ms' });
    context.record({ backend: backend.name, metric: 'live_lag_p99', value: percentile(lags, 0.99), unit: 'ms' });
    context.progress(
      `${backend.name}: ${lags.length} appends, max lag ${percentile(lags, 1).toFixed(1)} ms; the append alone p50 ${percentile(appendLatencies, 0.5).toFixed(1)} ms, p99 ${percentile(appendLatencies, 0.99).toFixed(1)} ms`,
    );
  } finally {
    await engine?.stop();
    await readModels.close();
    await eventStore.close();
  }
}

/** One append per order (ten events), from 16 concurrent writers so that group commit batches them. */
async function seed(eventStore: EventStore, orders: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let order = next++; order < orders; order = next++) {
        await eventStore.appendToStream(`order-${order}`, orderEvents(`order-${order}`));
      }
    }),
  );
}

/**
 * Appends one ItemAdded at a steady 2,000 appends/s for `durationMs` and returns, per append, the time
 * from calling `appendToStream` to the engine's announcement of a batch that covers it.
 */
async function liveLag(
  eventStore: EventStore,
  engine: ProjectionEngine,
  orders: number,
  durationMs: number,
): Promise<{ lags: number[]; appendLatencies: number[] }> {
  const rate = 2_000;
  const announcements: { position: Position; at: number }[] = [];
  const unsubscribe = engine.changes.subscribe((change) => announcements.push({ position: change.position, at: performance.now() }));
  const appends: Promise<{ startedAt: number; position: Position; resolvedAt: number }>[] = [];
  const total = Math.round((rate * durationMs) / 1000);
  const begin = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - begin) * rate) / 1000));
      while (appends.length < due) {
        const startedAt = performance.now();
        const orderId = `order-${(appends.length * 7919) % orders}`;
        appends.push(
          eventStore
            .appendToStream(orderId, [{ id: randomUUID(), type: 'ItemAdded', data: { orderId, price: 1 } }])
            .then(({ position }) => ({ startedAt, position, resolvedAt: performance.now() })),
        );
      }
      if (appends.length >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const done = await Promise.all(appends);
  const last = done.map((append) => append.position).reduce((a, b) => (a.isAfter(b) ? a : b));
  await engine.waitForPosition('order-totals', last, { timeoutMs: 30_000 });
  unsubscribe();
  // Announcements come in position order: the first one at or after an append's position covers it.
  const lags = done.map(({ startedAt, position }) => {
    let low = 0;
    let high = announcements.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (announcements[middle]!.position.isBefore(position)) low = middle + 1;
      else high = middle;
    }
    const covering = announcements[low];
    if (!covering || covering.position.isBefore(position)) throw new Error(`no announcement covers ${position.toString()}`);
    return covering.at - startedAt;
  });
  return { lags, appendLatencies: done.map((append) => append.resolvedAt - append.startedAt) };
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}
