import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { PostgresReactorStateStore } from '../../../src/backends/postgres';
import { testDatabase } from '../../support/postgres';
import { reactorStateStoreConformance } from '../../handlers/state-store.conformance';

let database: { url: string; drop(): Promise<void> };
let store: PostgresEventStore;
beforeAll(async () => {
  database = await testDatabase('reactor_state');
  store = await PostgresEventStore.connect(database.url);
  // Several processes starting together migrate once.
  await Promise.all([PostgresReactorStateStore.create(store.pool), PostgresReactorStateStore.create(store.pool)]);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

reactorStateStoreConformance('PostgreSQL (the event store database)', () => PostgresReactorStateStore.create(store.pool));
