import { connectEventStore, type EventStore } from '../../../src/event-store';
import { testDatabase } from '../../support/postgres';
import { runConformanceSuite } from '../../event-store/conformance';

const databases: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

runConformanceSuite(
  'PostgreSQL',
  async (): Promise<EventStore> => {
    const database = await testDatabase();
    databases.push(database);
    return connectEventStore(database.url);
  },
  { tortureSeeds: [1, 2, 3] },
);
