import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { InMemoryReadModelStore } from '../../src/projections';
import { runReadModelStoreSuite } from './read-model-store.conformance';

runReadModelStoreSuite('in-memory', () => {
  const eventStore = new InMemoryEventStore();
  const readModels = new InMemoryReadModelStore();
  return Promise.resolve({
    eventStore,
    readModels,
    async close() {
      await readModels.close();
      await eventStore.close();
    },
  });
});
