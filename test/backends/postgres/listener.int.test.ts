import { Client } from 'pg';
import { PostgresListener } from '../../../src/backends/postgres/listener';
import { testDatabase } from '../../support/postgres';

const CHANNEL = 'eventfold_listener_test';
const APPLICATION = 'eventfold_listener_test';

describe('PostgresListener (real server)', () => {
  let database: { url: string; drop(): Promise<void> };
  let admin: Client;

  beforeAll(async () => {
    database = await testDatabase('eventfold_listener');
    admin = new Client({ connectionString: database.url });
    await admin.connect();
  });

  afterAll(async () => {
    await admin.end();
    await database.drop();
  });

  it('listens again after pg_terminate_backend and delivers a later notification', async () => {
    const heard = payloadWaiter();
    let reconnected!: () => void;
    const reconnect = new Promise<void>((resolve) => (reconnected = resolve));
    const listener = await PostgresListener.start({
      connection: { connectionString: database.url, application_name: APPLICATION },
      channel: CHANNEL,
      retryDelayMs: 50,
      firstFailure: 'throw',
      onNotification: heard.push,
      onReconnect: () => reconnected(),
    });
    try {
      await admin.query(`NOTIFY ${CHANNEL}, 'before'`);
      await heard.next('before');
      const terminated = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        APPLICATION,
      ]);
      expect(terminated.rowCount).toBe(1);
      await reconnect;
      await admin.query(`NOTIFY ${CHANNEL}, 'after'`);
      await heard.next('after');
      const listening = await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [APPLICATION]);
      expect(listening.rowCount).toBe(1);
    } finally {
      await listener.stop();
    }
  });

  it('drops notifications sent by the server processes it is told to ignore, and passes on the others', async () => {
    const own = new Client({ connectionString: database.url });
    await own.connect();
    const heard: Array<string | undefined> = [];
    const ownPid = (await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const listener = await PostgresListener.start({
      connection: { connectionString: database.url },
      channel: CHANNEL,
      retryDelayMs: 50,
      firstFailure: 'throw',
      ignoreSenders: new Set([ownPid]),
      onNotification: (payload) => heard.push(payload),
    });
    try {
      await own.query(`NOTIFY ${CHANNEL}, 'own'`);
      // A listener hears notifications in commit order: once the later one from another session has
      // arrived, the earlier one from the ignored session would have arrived before it.
      await admin.query(`NOTIFY ${CHANNEL}, 'other'`);
      await eventually(() => Promise.resolve(heard.includes('other')));
      expect(heard).toEqual(['other']);
    } finally {
      await listener.stop();
      await own.end();
    }
  });

  it('closes its connection on stop and does not reconnect', async () => {
    const listener = await PostgresListener.start({
      connection: { connectionString: database.url, application_name: `${APPLICATION}_stop` },
      channel: CHANNEL,
      retryDelayMs: 10,
      firstFailure: 'throw',
      onNotification: () => undefined,
    });
    await listener.stop();
    // The server drops a backend soon after its client hangs up; wait for that, not for a fixed time.
    await expect(eventually(async () => (await backends(`${APPLICATION}_stop`)) === 0)).resolves.toBe(true);
  });

  it('rejects a first connection that fails when told to throw', async () => {
    await expect(
      PostgresListener.start({
        connection: { connectionString: 'postgres://postgres:wrong@127.0.0.1:1/postgres' },
        channel: CHANNEL,
        retryDelayMs: 10,
        firstFailure: 'throw',
        onNotification: () => undefined,
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  async function backends(application: string): Promise<number> {
    return (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [application])).rowCount ?? 0;
  }
});

/** Payloads as they arrive; `next(payload)` resolves once that payload has been heard. */
function payloadWaiter(): { push: (payload: string | undefined) => void; next: (payload: string) => Promise<void> } {
  const seen: string[] = [];
  const waiting = new Map<string, () => void>();
  return {
    push: (payload) => {
      seen.push(payload ?? '');
      waiting.get(payload ?? '')?.();
    },
    next: (payload) => (seen.includes(payload) ? Promise.resolve() : new Promise((resolve) => waiting.set(payload, resolve))),
  };
}

/** Asks `check` again on every turn of the event loop (after a query's round trip) until it holds; Jest's timeout bounds it. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  while (!(await check())) await new Promise((resolve) => setImmediate(resolve));
  return true;
}
