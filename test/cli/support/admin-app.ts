import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStore, defineReactor, NonRetryableError, ReactorRunner, type EventStore, type ReadModelStore } from '../../../src';
import { PostgresReadModelStore } from '../../../src/backends/postgres';
import { SqliteReadModelStore } from '../../../src/backends/sqlite';
import { startTestApi, type TestApi } from '../../api/support/test-api';
import { testDatabase } from '../../support/postgres';

export type BackendName = 'SQLite' | 'PostgreSQL';

/**
 * The ticket test API with the kit's admin API, on SQLite files or a fresh PostgreSQL database, with a
 * reactors runtime: `follow-up` parks every ticket whose title has "poison" in it until `accept()`.
 */
export interface AdminApp {
  readonly api: TestApi;
  readonly store: EventStore;
  readonly runner: ReactorRunner;
  /** From now on the reactor handles poison tickets too (so a redrive succeeds). */
  accept(): void;
  close(): Promise<void>;
}

export async function startAdminApp(backend: BackendName, auth: 'jwt' | 'off' = 'jwt'): Promise<AdminApp> {
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-admin-app-'));
  let store: EventStore;
  let readModels: ReadModelStore;
  let drop = (): Promise<void> => Promise.resolve();
  if (backend === 'SQLite') {
    store = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
    readModels = SqliteReadModelStore.open(join(dir, 'read-models.db'));
  } else {
    const database = await testDatabase('admin');
    drop = () => database.drop();
    store = await connectEventStore(database.url);
    readModels = await PostgresReadModelStore.connect(database.url);
  }
  let accepted = false;
  const followUp = defineReactor({
    name: 'follow-up',
    filter: { eventTypes: ['TicketOpened'] },
    retry: { maxAttempts: 1 },
    handle: (event) => {
      const data = event.data as { ticketId: string; title: string };
      if (data.title.includes('poison') && !accepted) throw new NonRetryableError(`cannot follow up on ${data.ticketId}`);
      return Promise.resolve();
    },
  });
  const runner = await ReactorRunner.start({ store, reactors: [followUp] });
  const api = await startTestApi({
    eventStore: store,
    readModels,
    reactors: runner,
    ...(auth === 'off' ? { auth: { mode: 'off' as const, developmentUser: { id: 'operator', roles: ['admin'] } } } : {}),
  });
  return {
    api,
    store,
    runner,
    accept: () => {
      accepted = true;
    },
    async close() {
      await runner.stop();
      await api.close();
      await readModels.close();
      await store.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
