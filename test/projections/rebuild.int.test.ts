import type { AppendResult } from '../../src/event-store/event-store';
import { SqliteEventStore } from '../../src/event-store/sqlite-event-store';
import {
  ProjectionEngine,
  defineProjection,
  type ProjectionChange,
  type RebuildStatus,
} from '../../src/projections';
import { SqliteReadModelStore } from '../../src/projections/sqlite-read-model-store';
import { orderEvent, orderSummary, orders, type OrderSummary } from './support/order-summary.projection';
import { tempDir } from './support/temp-dir';

/** Version 2 of the order summary: totals in cents. Same collection, different content. */
const orderSummaryV2 = defineProjection({
  ...orderSummary,
  version: 2,
  collections: { orders },
  async handle(events, tx) {
    await orderSummary.handle(events, tx);
    const docs = tx.documents('orders');
    for (const event of events) {
      const { orderId } = event.data as { orderId: string };
      const doc = await docs.get(orderId);
      if (doc && event.type === 'ItemAdded') docs.put(orderId, { ...doc, total: doc.total + (event.data as { price: number }).price * 99 });
    }
  },
});

describe('rebuilds without downtime (SQLite)', () => {
  const dir = tempDir();
  let eventStore: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  let engine: ProjectionEngine | undefined;

  beforeEach(() => {
    const name = `${Date.now()}-${Math.random()}`;
    eventStore = SqliteEventStore.open(dir.file(`events-${name}.db`));
    readModels = SqliteReadModelStore.open(dir.file(`read-${name}.db`));
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await readModels.close();
    await eventStore.close();
  });

  afterAll(() => dir.remove());

  async function seedOrders(count: number, from = 0): Promise<AppendResult> {
    const results: AppendResult[] = [];
    for (let i = from; i < from + count; i += 100) {
      const appends = Array.from({ length: Math.min(100, from + count - i) }, (_, n) => {
        const orderId = `o-${i + n}`;
        return eventStore.appendToStream(`order-${orderId}`, [
          orderEvent('OrderPlaced', { orderId, customerId: `c-${(i + n) % 7}` }),
          orderEvent('ItemAdded', { orderId, price: 2 }),
          orderEvent('ItemAdded', { orderId, price: 3 }),
          orderEvent('OrderPaid', { orderId }),
        ]);
      });
      results.push(...(await Promise.all(appends)));
    }
    return results[results.length - 1]!;
  }

  function physicalTables(): string[] {
    return (readModels.database.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'orders%' ORDER BY name").all() as { name: string }[]).map(
      (row) => row.name,
    );
  }

  it('rebuilds on request into new tables while queries go on, then switches over and drops the old tables', async () => {
    const seeded = await seedOrders(2_000);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary], batchSize: 200 });
    const changes: ProjectionChange[] = [];
    engine.changes.subscribe((change) => changes.push(change));
    await engine.start();
    await engine.waitForPosition('order-summary', seeded.position, { timeoutMs: 30_000 });
    expect(physicalTables()).toContain('orders__v1g0');
    const docs = readModels.documents(orderSummary, 'orders');

    // Readers keep querying through the whole rebuild; every answer must be complete and correct.
    let querying = true;
    let queries = 0;
    let queriesDuringRebuild = 0;
    const problems: string[] = [];
    const progress: RebuildStatus[] = [];
    const running = engine;
    const reader = (async () => {
      while (querying) {
        const rebuilding = (await running.status('order-summary')).rebuild;
        if (rebuilding) progress.push(rebuilding);
        const [count, paid, one] = await Promise.all([docs.count(), docs.count({ status: 'paid' }), docs.get('o-1234')]);
        queries++;
        if (rebuilding) queriesDuringRebuild++;
        if (count < 2_000 || paid < 2_000) problems.push(`query ${queries} saw ${count} orders, ${paid} paid`);
        if (one?.total !== 5) problems.push(`query ${queries} saw order o-1234 as ${JSON.stringify(one)}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    await engine.rebuild('order-summary');
    // Live appends during the rebuild reach readers before and after the switch.
    const during = await seedOrders(50, 2_000);
    await engine.whenRebuilt('order-summary', { timeoutMs: 60_000 });
    await engine.waitForPosition('order-summary', during.position, { timeoutMs: 10_000 });
    querying = false;
    await reader;

    expect(problems).toEqual([]);
    expect(queriesDuringRebuild).toBeGreaterThan(0);
    const observed = progress.filter((status) => status.eventsDone !== undefined && status.eventsTotal !== undefined);
    expect(observed.length).toBeGreaterThan(0);
    expect(observed.some((status) => status.eventsDone! < status.eventsTotal!)).toBe(true);
    expect(observed.at(-1)!.eventsPerSecond).toBeGreaterThan(0);
    expect(physicalTables()).toEqual(['orders__v1g1']);
    expect(changes.some((change) => change.keys === 'all')).toBe(true);
    const status = await engine.status('order-summary');
    expect(status).toMatchObject({ version: 1, state: 'live', rebuild: undefined });
    expect(await docs.count()).toBe(2_050);
    expect(await docs.get('o-2049')).toMatchObject({ status: 'paid', total: 5 });
  });

  it('rebuilds on a version bump while the old version serves, then switches', async () => {
    const seeded = await seedOrders(1_000);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
    await engine.start();
    await engine.waitForPosition('order-summary', seeded.position, { timeoutMs: 30_000 });
    await engine.stop();

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = defineProjection({
      ...orderSummaryV2,
      async handle(events, tx) {
        await gate;
        await orderSummaryV2.handle(events, tx);
      },
    });
    engine = new ProjectionEngine({ eventStore, readModels, projections: [gated] });
    await engine.start();
    const docs = readModels.documents(gated, 'orders');
    // Version 2 is held back: readers still get version 1, complete.
    const serving = await engine.status('order-summary');
    expect(serving).toMatchObject({ version: 1, definedVersion: 2, state: 'catching-up' });
    expect(serving.rebuild).toMatchObject({ version: 2 });
    expect(await docs.get('o-10')).toMatchObject({ total: 5 });
    expect(await docs.count()).toBe(1_000);

    release();
    await engine.whenRebuilt('order-summary', { timeoutMs: 60_000 });
    expect(await docs.get('o-10')).toMatchObject({ total: 5 + 5 * 99 });
    expect(physicalTables()).toEqual(['orders__v2g0']);
    expect(await engine.status('order-summary')).toMatchObject({ version: 2, definedVersion: 2, state: 'live' });

    // Older code must not run against the newer read model.
    await engine.stop();
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
    await engine.start();
    const refused = await engine.status('order-summary');
    expect(refused.state).toBe('failed');
    expect(refused.lastError?.code).toBe('PROJECTION_VERSION_CONFLICT');
    expect((await docs.get('o-10')) as OrderSummary).toMatchObject({ total: 5 + 5 * 99 });
  });

  it('continues an interrupted rebuild after a restart', async () => {
    const seeded = await seedOrders(500);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
    await engine.start();
    await engine.waitForPosition('order-summary', seeded.position, { timeoutMs: 30_000 });
    await engine.stop();

    let handled = 0;
    let stopAfter: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stopAfter = resolve));
    const counting = defineProjection({
      ...orderSummaryV2,
      batchSize: 100,
      async handle(events, tx) {
        await orderSummaryV2.handle(events, tx);
        handled += events.length;
        if (handled >= 1_000) stopAfter();
      },
    });
    engine = new ProjectionEngine({ eventStore, readModels, projections: [counting] });
    await engine.start();
    await stopped;
    await engine.stop();
    const partial = (await readModels.load('order-summary')).slots.find((slot) => slot.version === 2);
    expect(partial?.eventsHandled).toBeGreaterThanOrEqual(1_000);
    expect(partial?.eventsHandled).toBeLessThan(2_000);

    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummaryV2] });
    await engine.start();
    await engine.whenRebuilt('order-summary', { timeoutMs: 60_000 });
    const done = (await readModels.load('order-summary')).slots;
    expect(done).toHaveLength(1);
    // Every event exactly once across both runs: 4 events per order.
    expect(done[0]).toMatchObject({ version: 2, eventsHandled: 2_000 });
    expect(await readModels.documents(orderSummaryV2, 'orders').get('o-499')).toMatchObject({ total: 5 + 5 * 99 });
  });
});
