import { SqliteEventStore } from '../../src/event-store/sqlite-event-store';
import {
  CheckpointConflictError,
  InvalidIdentifierError,
  InvalidQueryError,
  ProjectionEngine,
  defineCollection,
  defineProjection,
} from '../../src/projections';
import { SqliteReadModelStore } from '../../src/projections/sqlite-read-model-store';
import { slotLayout } from '../../src/projections/read-model-store';
import { Position } from '../../src/event-store/position';
import { orderEvent, orderSummary } from './support/order-summary.projection';
import { tempDir } from './support/temp-dir';

interface Shipment {
  orderId: string;
  carrier: string | null;
  weight: number;
  express: boolean;
}

const shipments = defineProjection({
  name: 'shipments',
  version: 1,
  eventTypes: ['Shipped', 'Broken'],
  collections: { shipments: defineCollection<Shipment>({ indexes: { carrier: 'text', weight: 'number', express: 'boolean' } }) },
  tables: {
    carrier_totals: {
      create: (table) => [`CREATE TABLE ${table} (carrier TEXT PRIMARY KEY, shipped INTEGER NOT NULL)`],
    },
  },
  async handle(events, tx) {
    const docs = tx.documents('shipments');
    for (const event of events) {
      const data = event.data as unknown as Shipment;
      docs.put(data.orderId, data);
      await tx.execute(
        `INSERT INTO ${tx.table('carrier_totals')} (carrier, shipped) VALUES (?, 1)
         ON CONFLICT (carrier) DO UPDATE SET shipped = shipped + 1`,
        [data.carrier ?? 'none'],
      );
      tx.changed(`carrier:${data.carrier ?? 'none'}`);
      // After the writes, so a rollback has something to undo.
      if (event.type === 'Broken') throw new Error('broken shipment');
    }
  },
});

describe('SqliteReadModelStore', () => {
  const dir = tempDir();
  let eventStore: SqliteEventStore;
  let readModels: SqliteReadModelStore;
  let engine: ProjectionEngine | undefined;

  beforeEach(() => {
    eventStore = SqliteEventStore.open(dir.file(`events-${Date.now()}-${Math.random()}.db`));
    readModels = SqliteReadModelStore.open(dir.file(`read-${Date.now()}-${Math.random()}.db`));
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await readModels.close();
    await eventStore.close();
  });

  afterAll(() => dir.remove());

  it('stores documents and hand-written tables, queryable by indexed fields and through views', async () => {
    const { position } = await eventStore.appendToStream('shipment-1', [
      orderEvent('Shipped', { orderId: 'a', carrier: 'ups', weight: 3, express: true }),
      orderEvent('Shipped', { orderId: 'b', carrier: 'dhl', weight: 1, express: false }),
      orderEvent('Shipped', { orderId: 'c', carrier: null, weight: 2, express: false }),
      orderEvent('Shipped', { orderId: 'd', carrier: 'ups', weight: 5, express: false }),
    ]);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [shipments] });
    const announced: string[] = [];
    engine.changes.subscribe((change) => announced.push(...(change.keys === 'all' ? ['all'] : change.keys)));
    await engine.start();
    await engine.waitForPosition('shipments', position);
    const docs = readModels.documents(shipments, 'shipments');
    expect((await docs.find({ where: { carrier: 'ups' } })).map((doc) => doc.orderId)).toEqual(['a', 'd']);
    expect((await docs.find({ where: { carrier: null } })).map((doc) => doc.orderId)).toEqual(['c']);
    expect((await docs.find({ where: { carrier: ['dhl', null] } })).map((doc) => doc.orderId)).toEqual(['b', 'c']);
    expect((await docs.find({ where: { express: true } })).map((doc) => doc.orderId)).toEqual(['a']);
    expect((await docs.find({ orderBy: 'weight', direction: 'desc', limit: 2 })).map((doc) => doc.orderId)).toEqual(['d', 'a']);
    expect((await docs.find({ orderBy: 'carrier' })).map((doc) => doc.orderId)).toEqual(['c', 'b', 'a', 'd']);
    expect(await docs.count({ express: false })).toBe(3);
    expect(await docs.get('b')).toEqual({ orderId: 'b', carrier: 'dhl', weight: 1, express: false });
    // Views carry the declared names, so hand-written queries never see version suffixes.
    const totals = readModels.database.prepare('SELECT carrier, shipped FROM carrier_totals ORDER BY carrier').all();
    expect(totals).toEqual([
      { carrier: 'dhl', shipped: 1 },
      { carrier: 'none', shipped: 1 },
      { carrier: 'ups', shipped: 2 },
    ]);
    expect(announced).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd', 'carrier:ups', 'carrier:none']));
  });

  it('treats query values as values and refuses fields that are not indexed', async () => {
    const { position } = await eventStore.appendToStream('shipment-1', [
      orderEvent('Shipped', { orderId: 'a', carrier: 'ups', weight: 3, express: true }),
    ]);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [shipments] });
    await engine.start();
    await engine.waitForPosition('shipments', position);
    const docs = readModels.documents(shipments, 'shipments');
    expect(await docs.find({ where: { carrier: "ups' OR 1=1 --" } })).toEqual([]);
    await expect(docs.find({ where: { orderId: 'a' } })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(docs.find({ orderBy: 'orderId' as never })).rejects.toBeInstanceOf(InvalidQueryError);
    expect(() =>
      defineProjection({
        name: 'evil',
        version: 1,
        eventTypes: ['X'],
        tables: { 'x; DROP TABLE eventfold_projection_slots': { create: () => [] } },
        handle: () => undefined,
      }),
    ).toThrow(InvalidIdentifierError);
    expect(() =>
      defineProjection({
        name: 'evil',
        version: 1,
        eventTypes: ['X'],
        collections: { things: defineCollection<{ a: string }>({ indexes: { 'a" TEXT); --': 'text' } as never }) },
        handle: () => undefined,
      }),
    ).toThrow(InvalidIdentifierError);
  });

  it('rolls a failed batch back whole: documents, hand-written rows and checkpoint', async () => {
    const good = await eventStore.appendToStream('shipment-1', [
      orderEvent('Shipped', { orderId: 'a', carrier: 'ups', weight: 3, express: true }),
    ]);
    await eventStore.appendToStream('shipment-2', [orderEvent('Broken', { orderId: 'b', carrier: 'ups', weight: 1, express: false })]);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [shipments] });
    await engine.start();
    await engine.waitForPosition('shipments', good.position);
    const failed = await engine.waitForState('shipments', 'failed');
    expect(failed.lastError?.message).toBe('broken shipment');
    expect(failed.position?.equals(good.position)).toBe(true);
    expect(await readModels.documents(shipments, 'shipments').get('b')).toBeUndefined();
    expect(readModels.database.prepare('SELECT shipped FROM carrier_totals WHERE carrier = ?').get('ups')).toEqual({ shipped: 1 });
    const stored = await readModels.load('shipments');
    expect(stored.slots[0]?.position?.equals(good.position)).toBe(true);
    expect(stored.slots[0]?.failure?.error.message).toBe('broken shipment');
  });

  it('refuses a batch whose starting checkpoint has moved (another runner got there first)', async () => {
    const layout = slotLayout(orderSummary, 1, 0);
    await readModels.createSlot(layout);
    await readModels.activate(layout);
    const first = Position.of(1n, 1n);
    await readModels.commitBatch(layout, { from: undefined, to: first, eventCount: 1 }, async (tx) => {
      tx.documents('orders').put('o-1', { orderId: 'o-1', status: 'placed', total: 0, items: 0, customerId: 'c' });
      return Promise.resolve();
    });
    let ran = false;
    const stale = readModels.commitBatch(layout, { from: undefined, to: Position.of(2n, 2n), eventCount: 1 }, async () => {
      ran = true;
      return Promise.resolve();
    });
    await expect(stale).rejects.toBeInstanceOf(CheckpointConflictError);
    expect(ran).toBe(false);
    expect((await readModels.load('order-summary')).slots[0]?.position?.equals(first)).toBe(true);
  });
});
