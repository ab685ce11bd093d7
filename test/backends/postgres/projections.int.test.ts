import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { AppendResult } from '../../../src/event-store/event-store';
import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { ProjectionEngine, type ProjectionChange } from '../../../src/projections';
import { PostgresReadModelStore } from '../../../src/backends/postgres/postgres-read-model-store';
import { testDatabase } from '../../support/postgres';
import { ledgerProjection } from '../../projections/support/ledger.projection';
import { orderEvent, orderSummary } from '../../projections/support/order-summary.projection';

/** Waits for `done` to hold, re-checking whenever `wake` is called, failing after the timeout. */
function waiter() {
  let wake: () => void = () => undefined;
  return {
    notify: () => wake(),
    async until(done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
  };
}

describe('projections on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let eventStore: PostgresEventStore;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    database = await testDatabase('eventfold_projections_pg');
    eventStore = await PostgresEventStore.connect(database.url);
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await eventStore.close();
    await database.drop();
  });

  async function deposits(count: number): Promise<{ last: AppendResult; total: number }> {
    let total = 0;
    const results: AppendResult[] = [];
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, (_, n) => {
        const amount = ((i + n) % 13) + 1;
        total += amount;
        return eventStore.appendToStream(`account-${(i + n) % 5}`, [
          { id: randomUUID(), type: 'Deposited', data: { accountId: `a-${(i + n) % 5}`, amount } },
        ]);
      });
      results.push(...(await Promise.all(batch)));
    }
    return { last: results.reduce((a, b) => (a.position.isAfter(b.position) ? a : b)), total };
  }

  async function ledgerTotals(readModels: PostgresReadModelStore) {
    const applied = await readModels.pool.query<{ total: string; rows: string; distinct_events: string }>(
      'SELECT COALESCE(SUM(amount), 0) AS total, COUNT(*) AS rows, COUNT(DISTINCT event_id) AS distinct_events FROM applied',
    );
    const accounts = await readModels.documents(ledgerProjection(), 'accounts').find();
    return {
      total: Number(applied.rows[0]!.total),
      rows: Number(applied.rows[0]!.rows),
      distinctEvents: Number(applied.rows[0]!.distinct_events),
      balances: accounts.reduce((sum, account) => sum + account.balance, 0),
    };
  }

  it('retries a batch whose connection is killed mid-transaction, and applies it exactly once', async () => {
    const readModels = await PostgresReadModelStore.connect(database.url);
    closers.push(() => readModels.close());
    const { last, total } = await deposits(300);
    let killed = false;
    let handlerRuns = 0;
    const projection = ledgerProjection({
      batchSize: 50,
      onEvent: async () => {
        handlerRuns++;
        if (handlerRuns !== 120 || killed) return;
        killed = true;
        // The database drops this batch's connection while its writes are uncommitted.
        const admin = new pg.Client({ connectionString: database.url });
        await admin.connect();
        try {
          await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'",
          );
        } finally {
          await admin.end();
        }
      },
    });
    const engine = new ProjectionEngine({ eventStore, readModels, projections: [projection], retry: { initialDelayMs: 20 } });
    closers.push(() => engine.stop());
    await engine.start();
    await engine.waitForPosition('ledger', last.position, { timeoutMs: 30_000 });
    expect(killed).toBe(true);
    const status = await engine.waitForState('ledger', 'live');
    expect(status.lastError?.code).toBe('READ_MODEL_UNAVAILABLE');
    expect(await ledgerTotals(readModels)).toEqual({ total, rows: 300, distinctEvents: 300, balances: total });
  });

  it('lets two engines race on one projection without applying any event twice', async () => {
    const { last, total } = await deposits(1_000);
    const engines: ProjectionEngine[] = [];
    const stores: PostgresReadModelStore[] = [];
    for (let i = 0; i < 2; i++) {
      const readModels = await PostgresReadModelStore.connect(database.url);
      const engine = new ProjectionEngine({ eventStore, readModels, projections: [ledgerProjection({ batchSize: 25 })], retry: { initialDelayMs: 1, maxDelayMs: 20 } });
      stores.push(readModels);
      engines.push(engine);
      closers.push(() => readModels.close(), () => engine.stop());
    }
    await Promise.all(engines.map((engine) => engine.start()));
    await Promise.all(engines.map((engine) => engine.waitForPosition('ledger', last.position, { timeoutMs: 60_000 })));
    expect(await ledgerTotals(stores[0]!)).toEqual({ total, rows: 1_000, distinctEvents: 1_000, balances: total });
  });

  it('announces committed batches to another process through LISTEN/NOTIFY', async () => {
    const listener = await PostgresReadModelStore.connect(database.url);
    closers.push(() => listener.close());
    const heard: ProjectionChange[] = [];
    const wait = waiter();
    const stopListening = await listener.watchChanges((change) => {
      heard.push(change);
      wait.notify();
    });
    closers.push(stopListening);

    const child = fork(join(__dirname, '..', '..', 'projections', 'support', 'engine-child.ts'), [database.url], {
      execArgv: ['-r', '@swc-node/register'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    closers.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let ready = false;
    child.on('message', (message: { kind: string }) => {
      if (message.kind === 'ready') ready = true;
      wait.notify();
    });
    child.on('exit', () => wait.notify());
    await wait.until(() => ready || child.exitCode !== null, 'the engine process to start', 60_000);
    expect(stderr).toBe('');

    const appended = await eventStore.appendToStream('order-7', [
      orderEvent('OrderPlaced', { orderId: 'o-7' }),
      orderEvent('ItemAdded', { orderId: 'o-7', price: 9 }),
    ]);
    await eventStore.appendToStream('order-8', [orderEvent('OrderPlaced', { orderId: 'o-8' })]);
    await wait.until(() => heard.some((change) => change.keys !== 'all' && change.keys.includes('o-8')), 'the announcements');
    expect(heard.every((change) => change.projection === 'order-summary' && change.version === 1)).toBe(true);
    const first = heard.find((change) => change.keys !== 'all' && change.keys.includes('o-7'))!;
    expect(first.position.isBefore(appended.position)).toBe(false);
    // Hearing of the change means it is committed: this process reads it at once.
    expect(await listener.documents(orderSummary, 'orders').get('o-7')).toMatchObject({ total: 9, items: 1 });

    child.send('stop');
    expect(await exited).toBe(0);
  });
});
