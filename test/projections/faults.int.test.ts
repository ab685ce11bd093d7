import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import { ProjectionEngine, defineProjection } from '../../src/projections';
import { SqliteReadModelStore } from '../../src/backends/sqlite/sqlite-read-model-store';
import { orderEvent, orderSummary } from './support/order-summary.projection';
import { tempDir } from './support/temp-dir';

/** Quantities must be positive: the table's CHECK constraint, not the handler, says so. */
const stock = defineProjection({
  name: 'stock',
  version: 1,
  eventTypes: ['Restocked'],
  tables: {
    stock_levels: {
      create: (table) => [`CREATE TABLE ${table} (sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL CHECK (quantity > 0))`],
    },
  },
  async handle(events, tx) {
    for (const event of events) {
      const { sku, quantity } = event.data as { sku: string; quantity: number };
      await tx.execute(
        `INSERT INTO ${tx.table('stock_levels')} (sku, quantity) VALUES (?, ?) ON CONFLICT (sku) DO UPDATE SET quantity = quantity + excluded.quantity`,
        [sku, quantity],
      );
    }
  },
});

describe('faults (SQLite)', () => {
  const dir = tempDir();
  let eventStore: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  let readPath: string;
  let engine: ProjectionEngine | undefined;

  beforeEach(() => {
    const name = `${Date.now()}-${Math.random()}`;
    eventStore = SqliteEventStore.open(dir.file(`events-${name}.db`));
    readPath = dir.file(`read-${name}.db`);
    readModels = SqliteReadModelStore.open(readPath, { busyTimeoutMs: 20 });
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await readModels.close();
    await eventStore.close();
  });

  afterAll(() => dir.remove());

  it('stops a projection on a write that violates a constraint, records the event, and resumes from the checkpoint after a fix', async () => {
    const ok = await eventStore.appendToStream('sku-1', [orderEvent('Restocked', { sku: 'a', quantity: 5 })]);
    const bad = await eventStore.appendToStream('sku-2', [orderEvent('Restocked', { sku: 'b', quantity: -1 })]);
    const later = await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [stock, orderSummary] });
    await engine.start();
    await engine.waitForPosition('order-summary', later.position);
    const failed = await engine.waitForState('stock', 'failed');
    expect(failed.lastError).toMatchObject({ code: 'SQLITE_CONSTRAINT_CHECK' });
    expect(failed.lastError?.event?.position.equals(bad.position)).toBe(true);
    expect(failed.position?.equals(ok.position)).toBe(true);
    await engine.stop();

    // "The fix": the bad event's effect is made valid by a corrected handler of the same version.
    const fixed = defineProjection({
      ...stock,
      async handle(events, tx) {
        const corrected = events.map((event) => {
          const data = event.data as { sku: string; quantity: number };
          return { ...event, data: { ...data, quantity: Math.max(1, data.quantity) } };
        });
        await stock.handle(corrected, tx);
      },
    });
    engine = new ProjectionEngine({ eventStore, readModels, projections: [fixed, orderSummary] });
    await engine.start();
    // The failure recorded in the database is visible before the fix has proven itself.
    expect((await readModels.load('stock')).slots[0]?.failure?.eventId).toBe(failed.lastError?.event?.id);
    await engine.waitForPosition('stock', later.position);
    expect(readModels.database.prepare('SELECT sku, quantity FROM stock_levels ORDER BY sku').all()).toEqual([
      { sku: 'a', quantity: 5 },
      { sku: 'b', quantity: 1 },
    ]);
    expect((await readModels.load('stock')).slots[0]?.failure).toBeUndefined();
  });

  it('retries by itself with backoff while the database is locked, shows it in status, and goes on when it is free', async () => {
    const first = await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary], retry: { initialDelayMs: 10, maxDelayMs: 50 } });
    await engine.start();
    await engine.waitForPosition('order-summary', first.position);

    // Another connection takes the write lock, as another process would.
    const blocker = new Database(readPath);
    blocker.exec('BEGIN IMMEDIATE');
    try {
      const second = await eventStore.appendToStream('order-2', [orderEvent('OrderPlaced', { orderId: 'o-2' })]);
      const retrying = await engine.waitForStatus('order-summary', (status) => status.retry !== undefined);
      expect(retrying.lastError?.code).toBe('READ_MODEL_UNAVAILABLE');
      expect(retrying.retry?.attempt).toBeGreaterThanOrEqual(1);
      expect(retrying.position?.equals(first.position)).toBe(true);
      expect(await readModels.documents(orderSummary, 'orders').get('o-2')).toBeUndefined();
      blocker.exec('ROLLBACK');
      await engine.waitForPosition('order-summary', second.position, { timeoutMs: 5_000 });
      expect(await readModels.documents(orderSummary, 'orders').get('o-2')).toMatchObject({ status: 'placed' });
      expect((await engine.status('order-summary')).retry).toBeUndefined();
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
    }
  });

  it('reads its own writes: after waitForPosition the read model has the appended events', async () => {
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
    await engine.start();
    const docs = readModels.documents(orderSummary, 'orders');
    for (let i = 0; i < 50; i++) {
      const { position } = await eventStore.appendToStream(`order-${i}`, [
        orderEvent('OrderPlaced', { orderId: `o-${i}` }),
        orderEvent('ItemAdded', { orderId: `o-${i}`, price: i }),
      ]);
      await engine.waitForPosition('order-summary', position, { timeoutMs: 2_000 });
      expect(await docs.get(`o-${i}`)).toMatchObject({ total: i, items: 1 });
    }
  });
});
