import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/backends/postgres';
import type { StreamFoldPage } from '../../../src/event-store';
import { testDatabase } from '../../support/postgres';

const databases: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
}, 60_000);

async function openStore(pageSize?: number): Promise<PostgresEventStore> {
  const database = await testDatabase('eventfold_fold_start');
  databases.push(database);
  return PostgresEventStore.connect(database.url, pageSize === undefined ? {} : { pageSize });
}

/** Counts the statements the store's pool runs while `work` runs (reads go through `pool.query`). */
async function statementsDuring(store: PostgresEventStore, work: () => Promise<void>): Promise<number> {
  const pool = store.pool;
  const original = pool.query.bind(pool);
  let count = 0;
  (pool as { query: unknown }).query = (...args: Parameters<typeof original>) => {
    count++;
    return (original as (...a: unknown[]) => unknown)(...args);
  };
  try {
    await work();
  } finally {
    (pool as { query: unknown }).query = original;
  }
  return count;
}

async function fold(store: PostgresEventStore, streamName: string, metadataKeys: string[] = []): Promise<StreamFoldPage[]> {
  const pages: StreamFoldPage[] = [];
  for await (const page of store.readStreamForFold(streamName, { metadataKeys })) pages.push(page);
  return pages;
}

const event = (type: string, data: Record<string, number> = {}) => ({ id: randomUUID(), type, data, metadata: { schemaVersion: 2 } });

describe('PostgreSQL fold reads (the command path load)', () => {
  it('read a stream with its lifecycle metadata and first page in one statement', async () => {
    const store = await openStore();
    try {
      await store.appendToStream('cart-1', [event('Opened'), event('Added', { n: 1 }), event('Added', { n: 2 })]);
      let pages: StreamFoldPage[] = [];
      const statements = await statementsDuring(store, async () => {
        pages = await fold(store, 'cart-1', ['schemaVersion']);
      });
      expect(statements).toBe(1);
      expect(pages).toHaveLength(1);
      expect(pages[0]!.fromRevision).toBe(0n);
      expect(pages[0]!.events).toEqual([
        { type: 'Opened', data: {}, metadata: { schemaVersion: 2 } },
        { type: 'Added', data: { n: 1 }, metadata: { schemaVersion: 2 } },
        { type: 'Added', data: { n: 2 }, metadata: { schemaVersion: 2 } },
      ]);
      expect(pages[0]!.last).toMatchObject({ streamName: 'cart-1', revision: 2n, type: 'Added', data: { n: 2 } });
      // A stream that does not exist: one statement, no pages.
      expect(await statementsDuring(store, async () => expect(await fold(store, 'cart-none')).toEqual([]))).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('continue past the first page with the following ones, in order', async () => {
    const store = await openStore(2);
    try {
      await store.appendToStream('cart-2', Array.from({ length: 5 }, (_, n) => event('Added', { n })));
      const pages = await fold(store, 'cart-2');
      expect(pages.map((page) => page.fromRevision)).toEqual([0n, 2n, 4n]);
      expect(pages.flatMap((page) => page.events.map((folded) => (folded.data as { n: number }).n))).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await store.close();
    }
  });

  it('fold what a read shows once the stream has lifecycle metadata (a truncated stream)', async () => {
    const store = await openStore();
    try {
      await store.appendToStream('cart-3', [event('Opened'), event('Added', { n: 1 }), event('Added', { n: 2 })]);
      await store.setStreamMetadata('cart-3', { truncateBefore: 2n });
      const pages = await fold(store, 'cart-3');
      expect(pages.flatMap((page) => page.events)).toEqual([{ type: 'Added', data: { n: 2 }, metadata: {} }]);
      expect(pages[0]!.fromRevision).toBe(2n);
    } finally {
      await store.close();
    }
  });
});
