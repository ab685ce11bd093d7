import { createDatabase } from './postgres-server';

/**
 * A fresh database on the run's test server (started by the integration project's global setup, or
 * `PG_URL`). Call in `beforeAll`, drop in `afterAll`.
 */
export function testDatabase(prefix?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = process.env.EVENTFOLD_TEST_PG_URL;
  if (!serverUrl) {
    throw new Error('EVENTFOLD_TEST_PG_URL is not set: run integration tests through jest --selectProjects integration');
  }
  return createDatabase(serverUrl, prefix);
}
