import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { PostgresTimerStore } from '../../../src/backends/postgres';
import { testDatabase } from '../../support/postgres';
import { timerStoreConformance } from '../../handlers/timer-store.conformance';

let database: { url: string; drop(): Promise<void> };
let store: PostgresEventStore;
beforeAll(async () => {
  database = await testDatabase('timers');
  store = await PostgresEventStore.connect(database.url);
  // Several processes starting together migrate once.
  await Promise.all([PostgresTimerStore.create(store.pool), PostgresTimerStore.create(store.pool)]);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

timerStoreConformance('PostgreSQL (the event store database)', () => store.openTimerStore());
