import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuplicateEventIdError, InMemoryEventStore } from '../../src/event-store';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { testDatabase } from '../support/postgres';

/**
 * Memory, SQLite and PostgreSQL keep one index of event ids over the whole store, so an id can never be
 * reused in another stream. (EventStoreDB deduplicates per stream only; the shared contract promises that.)
 */
describe.each([
  ['in-memory', () => Promise.resolve({ store: new InMemoryEventStore(), cleanup: () => Promise.resolve() })],
  [
    'SQLite',
    () => {
      const folder = mkdtempSync(join(tmpdir(), 'eventfold-ids-'));
      return Promise.resolve({
        store: SqliteEventStore.open(join(folder, 'ids.db')),
        cleanup: () => Promise.resolve(rmSync(folder, { recursive: true, force: true })),
      });
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const database = await testDatabase('eventfold_ids');
      return { store: (await PostgresEventStore.connect(database.url)), cleanup: () => database.drop() };
    },
  ],
])('%s: event ids are unique across streams', (_name, open) => {
  it('refuses an id already used in another stream and writes nothing', async () => {
    const { store, cleanup } = await open();
    try {
      const used = { id: randomUUID(), type: 'Owned', data: {} };
      await store.appendToStream('owner-1', [used]);
      await expect(store.appendToStream('thief-1', [used])).rejects.toBeInstanceOf(DuplicateEventIdError);
      await expect(
        store.appendToStream('thief-1', [{ id: randomUUID(), type: 'New', data: {} }, used]),
      ).rejects.toBeInstanceOf(DuplicateEventIdError);
      const written = [];
      for await (const event of store.readStream('thief-1')) written.push(event);
      expect(written).toEqual([]);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});
