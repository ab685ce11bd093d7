import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import { SqliteReadModelStore } from '../../src/backends/sqlite/sqlite-read-model-store';
import { InvalidProjectionError, ProjectionEngine, defineCollection, defineProjection } from '../../src/projections';
import { orderLineEvents, currentLines, lineAddedUnversioned, lineAddedV1 } from '../domain/versioned-order';
import { tempDir } from './support/temp-dir';

interface Line {
  sku: string;
  quantity: number;
  unitPriceCents: number;
  keyedBy: string;
}

/** Written against version 2 of LineAdded only: `quantity`, never `qty`. */
const lines = defineProjection({
  name: 'order-lines',
  version: 1,
  eventTypes: ['LineAdded', 'Foreign'],
  events: orderLineEvents,
  collections: { lines: defineCollection<Line>() },
  documentKeys: { lines: (event) => (event.type === 'LineAdded' ? event.data.sku : undefined) },
  handle(events, tx) {
    const docs = tx.documents('lines');
    for (const event of events) {
      switch (event.type) {
        case 'LineAdded': {
          const { sku, quantity, unitPriceCents } = event.data;
          docs.put(sku, { sku, quantity, unitPriceCents, keyedBy: JSON.stringify(event.metadata.schemaVersion) });
          break;
        }
        case 'Foreign':
          // Not in the catalog: as recorded.
          docs.put('foreign', { sku: 'foreign', quantity: (event.data as { n: number }).n, unitPriceCents: 0, keyedBy: '' });
          break;
        default: {
          const _never: never = event;
          throw new Error(`unhandled ${String(_never)}`);
        }
      }
    }
  },
});

describe('projections see the current schema (SQLite files)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('hand a projection with an events catalog v1 events upcast to v2, and other types as recorded', async () => {
    const eventStore = SqliteEventStore.open(dir.file('events.db'));
    const readModels = SqliteReadModelStore.open(dir.file('read.db'));
    const engine = new ProjectionEngine({ eventStore, readModels, projections: [lines] });
    try {
      await eventStore.appendToStream('order-1', [lineAddedV1('tea', 2), lineAddedUnversioned('jam', 5)]);
      const { position } = await eventStore.appendToStream('other-1', [{ id: crypto.randomUUID(), type: 'Foreign', data: { n: 7 } }]);
      await engine.start();
      await engine.waitForPosition('order-lines', position, { timeoutMs: 10_000 });
      const docs = readModels.documents(lines, 'lines');
      for (const line of currentLines) expect(await docs.get(line.sku)).toEqual({ ...line, keyedBy: '2' });
      expect(await docs.get('foreign')).toMatchObject({ quantity: 7 });
    } finally {
      await engine.stop();
      await readModels.close();
      await eventStore.close();
    }
  });

  it('refuses an events option that is not a catalog with a typed error', () => {
    const bad = () =>
      defineProjection({ name: 'bad', version: 1, eventTypes: ['LineAdded'], events: {} as typeof orderLineEvents, handle: () => undefined });
    expect(bad).toThrow(InvalidProjectionError);
  });
});
