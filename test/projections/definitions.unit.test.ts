import {
  DocumentNotFoundError,
  InvalidDocumentError,
  InvalidIdentifierError,
  InvalidProjectionError,
  InvalidQueryError,
  ProjectionEngine,
  InMemoryReadModelStore,
  defineCollection,
  defineProjection,
} from '../../src/projections';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { planQuery } from '../../src/projections/document';
import { DocumentBatch, type DocumentTable } from '../../src/projections/document-batch';
import { createDocumentIndexes, createDocumentTable, selectDocuments } from '../../src/projections/document-sql';
import { orderSummary } from './support/order-summary.projection';

const noop = () => undefined;

describe('projection definitions', () => {
  it('accepts a well-formed definition and keeps the event types', () => {
    expect(orderSummary.eventTypes).toEqual(['OrderPlaced', 'ItemAdded', 'OrderPaid', 'OrderCancelled']);
    expect(orderSummary.collections.orders.indexes).toEqual({ status: 'text', total: 'number', customerId: 'text' });
  });

  it.each([
    [{ name: 'Order Summary' }, InvalidProjectionError],
    [{ name: '' }, InvalidProjectionError],
    [{ version: 0 }, InvalidProjectionError],
    [{ version: 1.5 }, InvalidProjectionError],
    [{ eventTypes: [] }, InvalidProjectionError],
    [{ eventTypes: ['A', 'A'] }, InvalidProjectionError],
    [{ batchSize: 0 }, InvalidProjectionError],
    [{ collections: { Orders: defineCollection() } }, InvalidIdentifierError],
    [{ collections: { 'orders"; DROP TABLE x; --': defineCollection() } }, InvalidIdentifierError],
    [{ collections: { eventfold_orders: defineCollection() } }, InvalidIdentifierError],
    [{ collections: { orders__v1: defineCollection() } }, InvalidProjectionError],
    [{ collections: { orders: defineCollection<{ key: string }>({ indexes: { key: 'text' } }) } }, InvalidProjectionError],
    [{ collections: { orders: defineCollection<{ a: string; A: string }>({ indexes: { a: 'text', A: 'text' } }) } }, InvalidProjectionError],
    [{ collections: { orders: defineCollection<{ a: string }>({ indexes: { a: 'date' as never } }) } }, InvalidProjectionError],
    [{ collections: { things: defineCollection() }, tables: { things: { create: () => [] } } }, InvalidProjectionError],
    [{ collections: { ['x'.repeat(41)]: defineCollection() } }, InvalidProjectionError],
    [{ collections: { orders: defineCollection() }, documentKeys: { ordres: () => 'k' } }, InvalidProjectionError],
  ])('refuses %j with a typed error', (override: object, ErrorClass) => {
    const options: Parameters<typeof defineProjection>[0] = { name: 'p', version: 1, eventTypes: ['A'], handle: noop, ...override };
    expect(() => defineProjection(options)).toThrow(ErrorClass);
  });

  it('refuses two projections that claim the same name or collection in one engine', () => {
    const eventStore = new InMemoryEventStore();
    const readModels = new InMemoryReadModelStore();
    const twin = defineProjection({ ...orderSummary, name: 'order-summary-2' });
    expect(() => new ProjectionEngine({ eventStore, readModels, projections: [orderSummary, orderSummary] })).toThrow(InvalidProjectionError);
    expect(() => new ProjectionEngine({ eventStore, readModels, projections: [orderSummary, twin] })).toThrow(/both define "orders"/);
  });
});

describe('document queries', () => {
  const indexes = { status: 'text', total: 'number', express: 'boolean' } as const;

  it('plans filters on indexed fields only, with values kept out of the SQL text', () => {
    const plan = planQuery('orders', indexes, { where: { status: ["paid'; --", null], express: true }, orderBy: 'total', direction: 'desc', limit: 5 });
    const sqlite = selectDocuments('sqlite', 'orders', plan);
    expect(sqlite.text).toBe(
      'SELECT "key", "doc" FROM "orders" WHERE ("status" IN (?) OR "status" IS NULL) AND "express" IN (?) ORDER BY "total" DESC NULLS LAST, "key" DESC LIMIT ? OFFSET ?',
    );
    expect(sqlite.parameters).toEqual(["paid'; --", 1, 5, 0]);
    const postgres = selectDocuments('postgres', 'orders', plan);
    expect(postgres.text).toContain('"status" IN ($1)');
    expect(postgres.parameters).toEqual(["paid'; --", true, 5, 0]);
  });

  it.each([
    [{ where: { customer: 'x' } }],
    [{ where: { total: 'ten' } }],
    [{ where: { status: [] } }],
    [{ orderBy: 'customer' }],
    [{ limit: -1 }],
    [{ limit: 10_001 }],
    [{ offset: 1.5 }],
    [{ direction: 'up' }],
  ])('refuses %j', (query) => {
    expect(() => planQuery('orders', indexes, query)).toThrow(InvalidQueryError);
  });

  it('creates tables and indexes from validated names only', () => {
    expect(createDocumentTable('sqlite', 'orders__v1g0', { status: 'text' })).toEqual([
      'CREATE TABLE IF NOT EXISTS "orders__v1g0" ("key" TEXT NOT NULL PRIMARY KEY, "doc" TEXT NOT NULL, "status" TEXT) WITHOUT ROWID',
    ]);
    expect(createDocumentIndexes('orders__v1g0', { status: 'text' })).toEqual([
      'CREATE INDEX IF NOT EXISTS "orders__v1g0_i0" ON "orders__v1g0" ("status", "key")',
    ]);
    expect(() => createDocumentTable('sqlite', 'orders"; --', {})).toThrow(InvalidIdentifierError);
    expect(() => createDocumentTable('sqlite', 'orders', { 'a" TEXT); --': 'text' })).toThrow(InvalidIdentifierError);
  });
});

describe('DocumentBatch', () => {
  interface Doc {
    status: string;
    total: number;
  }

  function memoryTable(initial: Record<string, Doc>) {
    const rows = new Map(Object.entries(initial).map(([key, doc]) => [key, JSON.stringify(doc)]));
    const writes: { upserts: string[]; deletes: string[] }[] = [];
    let loads = 0;
    const table: DocumentTable = {
      load: (key) => {
        loads++;
        const json = rows.get(key);
        return Promise.resolve(json === undefined ? undefined : (JSON.parse(json) as object));
      },
      find: (plan) =>
        Promise.resolve(
          [...rows.entries()]
            .map(([key, json]) => ({ key, doc: JSON.parse(json) as Doc }))
            .filter(({ doc }) => plan.filters.every((filter) => filter.values.includes(doc[filter.field as keyof Doc])))
            .sort((a, b) => (a.key < b.key ? -1 : 1))
            .slice(plan.offset, plan.offset + plan.limit),
        ),
      loadMany: async (keys) => {
        const found = new Map<string, object>();
        for (const key of keys) {
          const doc = await table.load(key);
          if (doc) found.set(key, doc);
        }
        return found;
      },
      write: (upserts, deletes) => {
        writes.push({ upserts: upserts.map((row) => row.key), deletes: [...deletes] });
        return Promise.resolve();
      },
    };
    return { table, writes, loads: () => loads };
  }

  it('reads its own writes, loads each key once and writes each changed key once', async () => {
    const { table, writes, loads } = memoryTable({ a: { status: 'placed', total: 1 } });
    const batch = new DocumentBatch<Doc>('orders', { status: 'text', total: 'number' }, table);
    await batch.patch('a', { total: 2 });
    await batch.patch('a', { total: 3 });
    batch.put('b', { status: 'placed', total: 9 });
    batch.delete('b');
    batch.put('c', { status: 'paid', total: 4 });
    expect(await batch.get('a')).toEqual({ status: 'placed', total: 3 });
    expect(await batch.get('b')).toBeUndefined();
    expect(loads()).toBe(1);
    expect((await batch.flush()).sort()).toEqual(['a', 'b', 'c']);
    expect(writes).toEqual([{ upserts: ['a', 'c'], deletes: ['b'] }]);
  });

  it('merges the batch into query results', async () => {
    const { table } = memoryTable({ a: { status: 'paid', total: 1 }, b: { status: 'paid', total: 2 }, d: { status: 'placed', total: 3 } });
    const batch = new DocumentBatch<Doc>('orders', { status: 'text', total: 'number' }, table);
    await batch.patch('a', { status: 'refunded' });
    batch.put('c', { status: 'paid', total: 5 });
    await batch.patch('d', { status: 'paid' });
    expect(await batch.find({ where: { status: 'paid' } })).toEqual([
      { status: 'paid', total: 2 },
      { status: 'paid', total: 5 },
      { status: 'paid', total: 3 },
    ]);
    expect(await batch.find({ where: { status: 'paid' }, orderBy: 'total', direction: 'desc', limit: 1 })).toEqual([{ status: 'paid', total: 5 }]);
  });

  it('prefetches many keys in one load and answers later reads from memory', async () => {
    const { table, loads } = memoryTable({ a: { status: 'placed', total: 1 }, b: { status: 'paid', total: 2 } });
    const loadMany = jest.spyOn(table, 'loadMany');
    const batch = new DocumentBatch<Doc>('orders', { status: 'text', total: 'number' }, table);
    batch.put('c', { status: 'placed', total: 3 });
    await batch.prefetch(['a', 'b', 'c', 'missing']);
    expect(loadMany).toHaveBeenCalledTimes(1);
    expect(loadMany).toHaveBeenCalledWith(['a', 'b', 'missing']);
    const loadsAfterPrefetch = loads();
    expect(await batch.get('a')).toEqual({ status: 'placed', total: 1 });
    expect(await batch.get('missing')).toBeUndefined();
    expect(await batch.get('c')).toEqual({ status: 'placed', total: 3 });
    expect(loads()).toBe(loadsAfterPrefetch);
  });

  it('refuses to patch a missing document, bad keys and documents that are not JSON objects', async () => {
    const { table } = memoryTable({});
    const batch = new DocumentBatch<Doc>('orders', { status: 'text', total: 'number' }, table);
    await expect(batch.patch('nope', { total: 1 })).rejects.toBeInstanceOf(DocumentNotFoundError);
    expect(() => batch.put('', { status: 'x', total: 1 })).toThrow(InvalidDocumentError);
    expect(() => batch.put('a', { status: 'x', total: 'one' } as never)).toThrow(InvalidDocumentError);
    expect(() => batch.put('a', [] as never)).toThrow(InvalidDocumentError);
    batch.put('b', { status: 'x', total: 1, big: 10n } as never);
    await expect(batch.flush()).rejects.toBeInstanceOf(InvalidDocumentError);
  });
});
