import { startPostgres, type RunningPostgres } from './postgres-server';

declare global {
  var eventfoldPostgres: RunningPostgres | undefined;
}

/**
 * Integration tests share one throwaway PostgreSQL server per run (each suite makes its own database
 * on it). `PG_URL`, when set, names a server to use instead.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.PG_URL) {
    process.env.EVENTFOLD_TEST_PG_URL = process.env.PG_URL;
    return;
  }
  const server = await startPostgres({ durable: false });
  globalThis.eventfoldPostgres = server;
  process.env.EVENTFOLD_TEST_PG_URL = server.url;
}
