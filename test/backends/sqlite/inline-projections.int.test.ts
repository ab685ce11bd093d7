import { SqliteEventStore } from '../../../src/backends/sqlite/sqlite-event-store';
import { InvalidProjectionError, ProjectionEngine } from '../../../src/projections';
import { SqliteReadModelStore } from '../../../src/backends/sqlite/sqlite-read-model-store';
import { runInlineSuite } from '../../projections/inline.conformance';
import { ledgerProjection } from '../../projections/support/ledger.projection';
import { tempDir } from '../../projections/support/temp-dir';

const dir = tempDir();
afterAll(() => dir.remove());

const fileName = (prefix: string): string => dir.file(`${prefix}-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);

runInlineSuite('SQLite, read models in the event store file', () => {
  const path = fileName('inline');
  const eventStore = SqliteEventStore.open(path);
  const readModels = SqliteReadModelStore.open(path);
  const otherWriter = SqliteEventStore.open(path);
  return Promise.resolve({
    eventStore,
    readModels,
    otherWriter,
    sql: (text: string) => Promise.resolve(readModels.database.prepare(text).all() as Record<string, unknown>[]),
    async close() {
      await readModels.close();
      await otherWriter.close();
      await eventStore.close();
    },
  });
});

describe('inline projections (SQLite) need the read models in the event store file', () => {
  it('refuses to start with the read models in another file, or in memory', async () => {
    const eventStore = SqliteEventStore.open(fileName('events'));
    const readModels = SqliteReadModelStore.open(fileName('read'));
    try {
      const engine = new ProjectionEngine({ eventStore, readModels, projections: [ledgerProjection()], inline: ['ledger'] });
      await expect(engine.start()).rejects.toBeInstanceOf(InvalidProjectionError);
      expect(() => new ProjectionEngine({ eventStore, readModels, projections: [ledgerProjection()], inline: ['nope'] })).toThrow(
        InvalidProjectionError,
      );
    } finally {
      await readModels.close();
      await eventStore.close();
    }
  });
});
