import type { AppendResult, EventStore } from '../../src/event-store/event-store';
import { Position } from '../../src/event-store/position';
import {
  CheckpointConflictError,
  InvalidQueryError,
  ProjectionEngine,
  ProjectionFailedError,
  ProjectionWatcher,
  WaitForPositionTimeoutError,
  defineCollection,
  defineProjection,
  type ProjectionChange,
  type ProjectionTransaction,
  type ReadModelStore,
  type RebuildStatus,
} from '../../src/projections';
import { slotLayout } from '../../src/projections/read-model-store';
import { orderEvent, orderSummary, orders } from './support/order-summary.projection';

/** A fresh, empty event store and read-model store for one test. */
export interface ReadModelFixture {
  readonly eventStore: EventStore;
  readonly readModels: ReadModelStore;
  /** Runs a query on the read-model database (SQL stores only): checks of hand-written tables. */
  readonly sql?: (text: string) => Promise<Record<string, unknown>[]>;
  /** Opens another store on the same database, as another process would (SQL stores only). */
  readonly reopen?: () => Promise<ReadModelStore>;
  close(): Promise<void>;
}

interface Shipment {
  orderId: string;
  carrier: string | null;
  weight: number;
  express: boolean;
}

/** `?` or `$n`, in the store's own dialect. */
const placeholder = (tx: ProjectionTransaction, n: number): string => (tx.dialect === 'postgres' ? `$${n}` : '?');

const shipments = (withTable: boolean) =>
  defineProjection({
    name: 'shipments',
    version: 1,
    eventTypes: ['Shipped', 'Broken'],
    collections: { shipments: defineCollection<Shipment>({ indexes: { carrier: 'text', weight: 'number', express: 'boolean' } }) },
    tables: withTable
      ? { carrier_totals: { create: (table: string) => [`CREATE TABLE ${table} (carrier TEXT PRIMARY KEY, shipped INTEGER NOT NULL)`] } }
      : {},
    async handle(events, tx) {
      const docs = tx.documents('shipments');
      for (const event of events) {
        const data = event.data as unknown as Shipment;
        docs.put(data.orderId, data);
        if (withTable) {
          await tx.execute(
            `INSERT INTO ${tx.table('carrier_totals')} (carrier, shipped) VALUES (${placeholder(tx, 1)}, 1)
             ON CONFLICT (carrier) DO UPDATE SET shipped = ${tx.table('carrier_totals')}.shipped + 1`,
            [data.carrier ?? 'none'],
          );
          tx.changed(`carrier:${data.carrier ?? 'none'}`);
        }
        // After the writes, so a rollback has something to undo.
        if (event.type === 'Broken') throw new Error('broken shipment');
      }
    },
  });

/** Version 2 of the order summary: totals count 100 times. Same collection, different content. */
const orderSummaryV2 = defineProjection({
  ...orderSummary,
  version: 2,
  collections: { orders },
  async handle(events, tx) {
    await orderSummary.handle(events, tx);
    const docs = tx.documents('orders');
    for (const event of events) {
      const { orderId, price } = event.data as { orderId: string; price?: number };
      const doc = await docs.get(orderId);
      if (doc && event.type === 'ItemAdded') docs.put(orderId, { ...doc, total: doc.total + (price ?? 0) * 99 });
    }
  },
});

/**
 * The one suite every read-model store passes, through the engine. A backend's test file is one call
 * with a factory that opens empty stores.
 */
export function runReadModelStoreSuite(name: string, open: () => Promise<ReadModelFixture>): void {
  describe(`${name} read-model store conformance`, () => {
    let fixture: ReadModelFixture;
    let engine: ProjectionEngine | undefined;
    let sqlStore: boolean;

    beforeEach(async () => {
      fixture = await open();
      sqlStore = fixture.readModels.dialect !== 'memory';
    });

    afterEach(async () => {
      await engine?.stop();
      engine = undefined;
      await fixture.close();
    });

    const start = async (...projections: Parameters<typeof makeEngine>[0]) => {
      engine = makeEngine(projections);
      await engine.start();
      return engine;
    };
    const makeEngine = (projections: ConstructorParameters<typeof ProjectionEngine>[0]['projections'], batchSize?: number) =>
      new ProjectionEngine({ eventStore: fixture.eventStore, readModels: fixture.readModels, projections, batchSize, retry: { initialDelayMs: 10 } });

    async function seedOrders(count: number, from = 0): Promise<AppendResult> {
      const results: AppendResult[] = [];
      for (let i = from; i < from + count; i += 100) {
        const appends = Array.from({ length: Math.min(100, from + count - i) }, (_, n) => {
          const orderId = `o-${i + n}`;
          return fixture.eventStore.appendToStream(`order-${orderId}`, [
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

    it('projects documents that can be read and queried by indexed fields', async () => {
      const projection = shipments(sqlStore);
      const { position } = await fixture.eventStore.appendToStream('shipment-1', [
        orderEvent('Shipped', { orderId: 'a', carrier: 'ups', weight: 3, express: true }),
        orderEvent('Shipped', { orderId: 'b', carrier: 'dhl', weight: 1, express: false }),
        orderEvent('Shipped', { orderId: 'c', carrier: null, weight: 2, express: false }),
        orderEvent('Shipped', { orderId: 'd', carrier: 'ups', weight: 5, express: false }),
      ]);
      engine = makeEngine([projection]);
      const announced: string[] = [];
      engine.changes.subscribe((change) => announced.push(...(change.keys === 'all' ? ['all'] : change.keys)));
      await engine.start();
      await engine.waitForPosition('shipments', position);
      const docs = fixture.readModels.documents(projection, 'shipments');
      const ids = (found: Shipment[]) => found.map((doc) => doc.orderId);
      expect(ids(await docs.find({ where: { carrier: 'ups' } }))).toEqual(['a', 'd']);
      expect(ids(await docs.find({ where: { carrier: null } }))).toEqual(['c']);
      expect(ids(await docs.find({ where: { carrier: ['dhl', null] } }))).toEqual(['b', 'c']);
      expect(ids(await docs.find({ where: { express: true } }))).toEqual(['a']);
      expect(ids(await docs.find({ where: { key: ['a', 'b'] } }))).toEqual(['a', 'b']);
      expect(ids(await docs.find({ orderBy: 'weight', direction: 'desc', limit: 2 }))).toEqual(['d', 'a']);
      expect(ids(await docs.find({ orderBy: 'carrier' }))).toEqual(['c', 'b', 'a', 'd']);
      expect(ids(await docs.find({ orderBy: 'carrier', direction: 'desc' }))).toEqual(['d', 'a', 'b', 'c']);
      expect(ids(await docs.find({ limit: 2, offset: 1 }))).toEqual(['b', 'c']);
      expect(await docs.count({ express: false })).toBe(3);
      expect(await docs.count()).toBe(4);
      expect(await docs.get('b')).toEqual({ orderId: 'b', carrier: 'dhl', weight: 1, express: false });
      expect(await docs.get('zzz')).toBeUndefined();
      expect(announced).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd']));
      if (fixture.sql) {
        // Views carry the declared names, so hand-written queries never see version suffixes.
        expect(await fixture.sql('SELECT carrier, shipped FROM carrier_totals ORDER BY carrier')).toEqual([
          { carrier: 'dhl', shipped: 1 },
          { carrier: 'none', shipped: 1 },
          { carrier: 'ups', shipped: 2 },
        ]);
        expect(announced).toEqual(expect.arrayContaining(['carrier:ups', 'carrier:none']));
      }
    });

    it('keeps query values out of the SQL and refuses fields that are not indexed', async () => {
      const projection = shipments(false);
      const { position } = await fixture.eventStore.appendToStream('shipment-1', [
        orderEvent('Shipped', { orderId: "a'; DROP TABLE shipments; --", carrier: 'ups', weight: 3, express: true }),
      ]);
      await start(projection);
      await engine!.waitForPosition('shipments', position);
      const docs = fixture.readModels.documents(projection, 'shipments');
      expect(await docs.find({ where: { carrier: "ups' OR 1=1 --" } })).toEqual([]);
      expect(await docs.get("a'; DROP TABLE shipments; --")).toMatchObject({ carrier: 'ups' });
      await expect(docs.find({ where: { orderId: 'a' } })).rejects.toBeInstanceOf(InvalidQueryError);
      await expect(docs.find({ orderBy: 'orderId' as never })).rejects.toBeInstanceOf(InvalidQueryError);
      expect(() => fixture.readModels.documents(projection, 'nope' as never)).toThrow(InvalidQueryError);
    });

    it('rolls a failed batch back whole, stops on the poison event while others go on, and resumes after a fix', async () => {
      let fixed = false;
      const base = shipments(sqlStore);
      const projection = defineProjection({
        ...base,
        async handle(events, tx) {
          const ok = fixed ? events.map((event) => ({ ...event, type: 'Shipped' as const })) : events;
          await base.handle(ok, tx);
        },
      });
      const good = await fixture.eventStore.appendToStream('shipment-1', [
        orderEvent('Shipped', { orderId: 'a', carrier: 'ups', weight: 3, express: true }),
      ]);
      const bad = await fixture.eventStore.appendToStream('shipment-2', [
        orderEvent('Broken', { orderId: 'b', carrier: 'ups', weight: 1, express: false }),
      ]);
      const later = await fixture.eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
      await start(projection, orderSummary);
      await engine!.waitForPosition('order-summary', later.position);
      const failed = await engine!.waitForState('shipments', 'failed');
      expect(failed.lastError).toMatchObject({ name: 'Error', message: 'broken shipment' });
      expect(failed.lastError?.event).toMatchObject({ streamName: 'shipment-2', type: 'Broken' });
      expect(failed.lastError?.event?.position.equals(bad.position)).toBe(true);
      expect(failed.position?.equals(good.position)).toBe(true);
      await expect(engine!.waitForPosition('shipments', later.position, { timeoutMs: 1_000 })).rejects.toBeInstanceOf(ProjectionFailedError);
      expect(await fixture.readModels.documents(projection, 'shipments').get('b')).toBeUndefined();
      if (fixture.sql) expect(await fixture.sql("SELECT shipped FROM carrier_totals WHERE carrier = 'ups'")).toEqual([{ shipped: 1 }]);
      const stored = (await fixture.readModels.load('shipments')).slots[0];
      expect(stored?.position?.equals(good.position)).toBe(true);
      expect(stored?.failure).toMatchObject({ eventId: failed.lastError?.event?.id, error: { message: 'broken shipment' } });

      fixed = true;
      engine!.resume('shipments');
      await engine!.waitForPosition('shipments', later.position);
      expect(await fixture.readModels.documents(projection, 'shipments').get('b')).toMatchObject({ carrier: 'ups' });
      if (fixture.sql) expect(await fixture.sql("SELECT shipped FROM carrier_totals WHERE carrier = 'ups'")).toEqual([{ shipped: 2 }]);
      expect((await fixture.readModels.load('shipments')).slots[0]?.failure).toBeUndefined();
    });

    it('refuses a batch whose starting checkpoint has moved, before running it', async () => {
      const layout = slotLayout(orderSummary, 1, 0);
      await fixture.readModels.createSlot(layout);
      await fixture.readModels.activate(layout);
      const first = Position.of(1n, 1n);
      await fixture.readModels.commitBatch(layout, { from: undefined, to: first, eventCount: 1 }, (tx) => {
        tx.documents('orders').put('o-1', { orderId: 'o-1', status: 'placed', total: 0, items: 0, customerId: 'c' });
        return Promise.resolve();
      });
      let ran = false;
      const stale = fixture.readModels.commitBatch(layout, { from: undefined, to: Position.of(2n, 2n), eventCount: 1 }, () => {
        ran = true;
        return Promise.resolve();
      });
      await expect(stale).rejects.toBeInstanceOf(CheckpointConflictError);
      expect(ran).toBe(false);
      const slot = (await fixture.readModels.load('order-summary')).slots[0];
      expect(slot?.position?.equals(first)).toBe(true);
      expect(slot?.eventsHandled).toBe(1);
    });

    it('reads its own writes, also for events of types the projection does not handle', async () => {
      await start(orderSummary);
      const docs = fixture.readModels.documents(orderSummary, 'orders');
      for (let i = 0; i < 20; i++) {
        const { position } = await fixture.eventStore.appendToStream(`order-${i}`, [
          orderEvent('OrderPlaced', { orderId: `o-${i}` }),
          orderEvent('ItemAdded', { orderId: `o-${i}`, price: i }),
        ]);
        await engine!.waitForPosition('order-summary', position, { timeoutMs: 5_000 });
        expect(await docs.get(`o-${i}`)).toMatchObject({ total: i, items: 1 });
      }
      const unrelated = await fixture.eventStore.appendToStream('audit-1', [orderEvent('SomethingElse', {})]);
      await engine!.waitForPosition('order-summary', unrelated.position, { timeoutMs: 5_000 });
      expect(await engine!.status('order-summary')).toMatchObject({ state: 'live', lagEvents: 0, lagMs: 0, eventsHandled: 40 });
    });

    it('rebuilds on request into new tables while queries go on, then switches over and drops the old version', async () => {
      const seeded = await seedOrders(600);
      engine = makeEngine([orderSummary], 50);
      const changes: ProjectionChange[] = [];
      engine.changes.subscribe((change) => changes.push(change));
      await engine.start();
      await engine.waitForPosition('order-summary', seeded.position, { timeoutMs: 30_000 });
      const docs = fixture.readModels.documents(orderSummary, 'orders');
      const running = engine;

      // Readers keep querying through the whole rebuild; every answer must be complete and correct.
      let querying = true;
      let queriesDuringRebuild = 0;
      const problems: string[] = [];
      const progress: RebuildStatus[] = [];
      const reader = (async () => {
        while (querying) {
          const rebuilding = (await running.status('order-summary')).rebuild;
          if (rebuilding) progress.push(rebuilding);
          const [count, paid, one] = await Promise.all([docs.count(), docs.count({ status: 'paid' }), docs.get('o-123')]);
          if (rebuilding) queriesDuringRebuild++;
          if (count < 600 || paid < 600) problems.push(`saw ${count} orders, ${paid} paid`);
          if (one?.total !== 5) problems.push(`saw order o-123 as ${JSON.stringify(one)}`);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();

      await engine.rebuild('order-summary');
      const during = await seedOrders(20, 600);
      await engine.whenRebuilt('order-summary', { timeoutMs: 60_000 });
      await engine.waitForPosition('order-summary', during.position, { timeoutMs: 10_000 });
      querying = false;
      await reader;

      expect(problems).toEqual([]);
      expect(queriesDuringRebuild).toBeGreaterThan(0);
      const observed = progress.filter((status) => status.eventsDone !== undefined && status.eventsTotal !== undefined);
      expect(observed.some((status) => status.eventsDone! < status.eventsTotal!)).toBe(true);
      expect(progress.some((status) => status.eventsPerSecond > 0)).toBe(true);
      expect((await fixture.readModels.load('order-summary')).slots.map((slot) => `v${slot.version}g${slot.generation}`)).toEqual(['v1g1']);
      if (fixture.sql) {
        const indexes = await fixture.sql(
          fixture.readModels.dialect === 'postgres'
            ? "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'orders__v1g1' ORDER BY 1"
            : "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders__v1g1' ORDER BY 1",
        );
        expect(indexes.map((index) => index.name).filter((name) => /_i\d+$/.test(String(name)))).toEqual([
          'orders__v1g1_i0',
          'orders__v1g1_i1',
          'orders__v1g1_i2',
        ]);
        const tables = await fixture.sql(
          fixture.readModels.dialect === 'postgres'
            ? "SELECT tablename AS name FROM pg_tables WHERE tablename LIKE 'orders%' ORDER BY 1"
            : "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'orders%' ORDER BY 1",
        );
        expect(tables).toEqual([{ name: 'orders__v1g1' }]);
      }
      expect(changes.some((change) => change.keys === 'all')).toBe(true);
      expect(await engine.status('order-summary')).toMatchObject({ version: 1, state: 'live', rebuild: undefined });
      expect(await docs.count()).toBe(620);
      expect(await docs.get('o-619')).toMatchObject({ status: 'paid', total: 5 });
    });

    it('rebuilds on a version bump while the old version serves, and refuses older code afterwards', async () => {
      const seeded = await seedOrders(300);
      await start(orderSummary);
      await engine!.waitForPosition('order-summary', seeded.position, { timeoutMs: 30_000 });
      await engine!.stop();

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const gated = defineProjection({
        ...orderSummaryV2,
        async handle(events, tx) {
          await gate;
          await orderSummaryV2.handle(events, tx);
        },
      });
      await start(gated);
      const docs = fixture.readModels.documents(gated, 'orders');
      const serving = await engine!.status('order-summary');
      expect(serving).toMatchObject({ version: 1, definedVersion: 2, state: 'catching-up' });
      expect(serving.rebuild).toMatchObject({ version: 2 });
      expect(await docs.get('o-10')).toMatchObject({ total: 5 });
      expect(await docs.count()).toBe(300);

      release();
      await engine!.whenRebuilt('order-summary', { timeoutMs: 60_000 });
      expect(await docs.get('o-10')).toMatchObject({ total: 5 + 5 * 99 });
      expect(await engine!.status('order-summary')).toMatchObject({ version: 2, definedVersion: 2, state: 'live' });
      expect((await fixture.readModels.load('order-summary')).slots.map((slot) => slot.version)).toEqual([2]);

      await engine!.stop();
      await start(orderSummary);
      const refused = await engine!.status('order-summary');
      expect(refused.state).toBe('failed');
      expect(refused.lastError?.code).toBe('PROJECTION_VERSION_CONFLICT');
      expect(await docs.get('o-10')).toMatchObject({ total: 5 + 5 * 99 });
    });

    it('continues an interrupted rebuild after a restart, handling every event once', async () => {
      const seeded = await seedOrders(200);
      await start(orderSummary);
      await engine!.waitForPosition('order-summary', seeded.position, { timeoutMs: 30_000 });
      await engine!.stop();

      let handled = 0;
      let reached: () => void = () => undefined;
      const halfway = new Promise<void>((resolve) => (reached = resolve));
      const counting = defineProjection({
        ...orderSummaryV2,
        batchSize: 50,
        async handle(events, tx) {
          await orderSummaryV2.handle(events, tx);
          handled += events.length;
          if (handled >= 400) reached();
        },
      });
      await start(counting);
      await halfway;
      await engine!.stop();
      const partial = (await fixture.readModels.load('order-summary')).slots.find((slot) => slot.version === 2);
      expect(partial?.eventsHandled).toBeGreaterThanOrEqual(400);
      expect(partial?.eventsHandled).toBeLessThan(800);

      await start(orderSummaryV2);
      await engine!.whenRebuilt('order-summary', { timeoutMs: 60_000 });
      const done = (await fixture.readModels.load('order-summary')).slots;
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({ version: 2, eventsHandled: 800 });
      expect(await fixture.readModels.documents(orderSummaryV2, 'orders').get('o-199')).toMatchObject({ total: 5 + 5 * 99 });
    });

    it('lets a process that does not run the projection wait for positions and hear of changes', async () => {
      const readModels = fixture.reopen ? await fixture.reopen() : fixture.readModels;
      const watcher = new ProjectionWatcher({ eventStore: fixture.eventStore, readModels, projections: [orderSummary], pollIntervalMs: 20 });
      const abort = new AbortController();
      try {
        await watcher.start();
        const heard = (async () => {
          const keys: string[] = [];
          for await (const change of watcher.changes.watch({ projection: 'order-summary', signal: abort.signal })) {
            if (change.keys !== 'all') keys.push(...change.keys);
            if (keys.includes('o-1')) break;
          }
          return keys;
        })();
        await start(orderSummary);
        const placed = await fixture.eventStore.appendToStream('order-1', [
          orderEvent('OrderPlaced', { orderId: 'o-1' }),
          orderEvent('ItemAdded', { orderId: 'o-1', price: 4 }),
        ]);
        await watcher.waitForPosition('order-summary', placed.position, { timeoutMs: 10_000 });
        expect(await readModels.documents(orderSummary, 'orders').get('o-1')).toMatchObject({ total: 4, items: 1 });
        const unrelated = await fixture.eventStore.appendToStream('audit-1', [orderEvent('SomethingElse', {})]);
        await watcher.waitForPosition('order-summary', unrelated.position, { timeoutMs: 10_000 });
        if (readModels.watchChanges) {
          const timeout = setTimeout(() => abort.abort(), 10_000);
          expect(await heard).toContain('o-1');
          clearTimeout(timeout);
        }
        await engine!.stop();
        const later = await fixture.eventStore.appendToStream('order-2', [orderEvent('OrderPlaced', { orderId: 'o-2' })]);
        const error = await watcher.waitForPosition('order-summary', later.position, { timeoutMs: 100 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WaitForPositionTimeoutError);
        expect((error as WaitForPositionTimeoutError).reached?.equals(placed.position)).toBe(true);
      } finally {
        abort.abort();
        await watcher.stop();
        if (readModels !== fixture.readModels) await readModels.close();
      }
    });

    it('announces committed batches to other store instances on the same database', async () => {
      if (!fixture.reopen) {
        expect('watchChanges' in fixture.readModels).toBe(false);
        return;
      }
      const other = await fixture.reopen();
      const heard: ProjectionChange[] = [];
      let wake: () => void = () => undefined;
      const stop = await other.watchChanges!.call(other, (change: ProjectionChange) => {
        heard.push(change);
        wake();
      });
      try {
        await start(orderSummary);
        const { position } = await fixture.eventStore.appendToStream('order-1', [
          orderEvent('OrderPlaced', { orderId: 'o-1' }),
          orderEvent('OrderPlaced', { orderId: 'o-2' }),
        ]);
        const deadline = Date.now() + 10_000;
        while (!heard.some((change) => !change.position.isBefore(position))) {
          if (Date.now() > deadline) throw new Error(`no announcement heard; got ${JSON.stringify(heard)}`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        const keys = heard.flatMap((change) => (change.keys === 'all' ? [] : change.keys));
        expect(keys.sort()).toEqual(['o-1', 'o-2']);
        expect(heard.every((change) => change.projection === 'order-summary' && change.version === 1)).toBe(true);
        // What the other instance reads after hearing of it is there.
        expect(await other.documents(orderSummary, 'orders').get('o-2')).toMatchObject({ status: 'placed' });
      } finally {
        await stop();
        await other.close();
      }
    });
  });
}
