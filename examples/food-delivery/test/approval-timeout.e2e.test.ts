import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { AppProcess, killAll, tempDataDir } from './support/app-process';
import { graphqlData, SubscriptionRecorder, wsClient } from './support/graphql-client';

// RESTAURANT_APPROVAL=manual with a short APPROVAL_TIMEOUT_MS: the app as `npm start` runs it, as a
// child process on SQLite, driven over real HTTP and WebSocket on 127.0.0.1.
jest.setTimeout(120_000);

interface OrderState {
  id: string;
  status: string;
  cancellationReason: string | null;
  approvalDeadline: string | null;
  refunded: boolean;
}
interface TimerRow {
  key: string;
  status: string;
  dueAt: string;
}

const FIELDS = 'id status cancellationReason approvalDeadline refunded';
const dirs: { remove(): void }[] = [];
const clients: Client[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await killAll();
  for (const dir of dirs) dir.remove();
});

function newDataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir.path;
}

function start(dataDir: string, timeoutMs: number): Promise<AppProcess> {
  return AppProcess.start({ dataDir, env: { RESTAURANT_APPROVAL: 'manual', APPROVAL_TIMEOUT_MS: String(timeoutMs) } });
}

function watch(app: AppProcess, orderId: string): SubscriptionRecorder<OrderState> {
  const client = wsClient(app.wsUrl);
  clients.push(client);
  return new SubscriptionRecorder<OrderState>(
    client,
    `subscription Updated($id: ID!) { orderUpdated(id: $id, fromRevision: 0) { ${FIELDS} } }`,
    { id: orderId },
    (data) => data.orderUpdated as OrderState,
  );
}

async function place(app: AppProcess): Promise<string> {
  const orderId = randomUUID();
  await graphqlData(app.graphqlUrl, `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { position } }`, {
    input: { orderId, customerId: 'customer-timers', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }] },
  });
  return orderId;
}

async function historyTypes(app: AppProcess, orderId: string): Promise<string[]> {
  const { orderHistory } = await graphqlData<{ orderHistory: { type: string }[] }>(app.graphqlUrl, `query($id: ID!) { orderHistory(id: $id) { type } }`, { id: orderId });
  return orderHistory.map((event) => event.type);
}

async function timers(app: AppProcess, status: string): Promise<TimerRow[]> {
  const { timers: page } = await graphqlData<{ timers: { items: TimerRow[] } }>(
    app.graphqlUrl,
    `query($status: String) { timers(reactor: "approval-timeout", status: $status, first: 100) { items { key status dueAt } } }`,
    { status },
  );
  return page.items;
}

/** Waits for a state read from the running app (checked every 50 ms), bounded by `timeoutMs`. */
async function until<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('food delivery on SQLite: paid orders the restaurant does not approve in time', () => {
  it('the unapproved order is cancelled (APPROVAL_TIMEOUT) and refunded once; the one approved in time is not cancelled', async () => {
    const app = await start(newDataDir(), 3_000);
    // Approved in time: the timer is cancelled.
    const quick = await place(app);
    const quickUpdates = watch(app, quick);
    const quickPaid = await quickUpdates.until((order) => order.status === 'PAID', 'PAID');
    expect(quickPaid.approvalDeadline).not.toBeNull();
    await graphqlData(app.graphqlUrl, `mutation($id: ID!) { approveOrder(orderId: $id) { position } }`, { id: quick });
    await quickUpdates.until((order) => order.status === 'DRIVER_ASSIGNED', 'DRIVER_ASSIGNED');
    await until(async () => ((await timers(app, 'cancelled')).some((timer) => timer.key === `${quick}:approval`) ? true : undefined), 'the cancelled timer');

    // Not approved: placed after the first one was approved, so its deadline comes later.
    const late = await place(app);
    const lateUpdates = watch(app, late);
    const latePaid = await lateUpdates.until((order) => order.status === 'PAID' && order.approvalDeadline !== null, 'PAID with a deadline');
    expect(new Date(latePaid.approvalDeadline!).getTime()).toBeGreaterThan(new Date(quickPaid.approvalDeadline!).getTime());
    const cancelled = await lateUpdates.until((order) => order.status === 'CANCELLED', 'CANCELLED', 30_000);
    expect(cancelled.cancellationReason).toBe('APPROVAL_TIMEOUT');
    expect(cancelled.approvalDeadline).toBeNull();
    await lateUpdates.until((order) => order.refunded, 'refunded', 30_000);
    expect(await historyTypes(app, late)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderCancelled', 'PaymentRefunded']);
    expect((await timers(app, 'fired')).filter((timer) => timer.key === `${late}:approval`)).toHaveLength(1);

    // The wheel went past the first order's deadline (it fired a later one): that order was never cancelled.
    expect(await historyTypes(app, quick)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderApproved', 'DriverAssigned']);
    expect((await timers(app, 'fired')).some((timer) => timer.key === `${quick}:approval`)).toBe(false);
    quickUpdates.close();
    lateUpdates.close();
    expect(await app.interrupt()).toEqual({ code: 0, signal: null });
  });

  it('killed (SIGKILL) before the deadline and started after it, the app fires the timer exactly once', async () => {
    const dataDir = newDataDir();
    const first = await start(dataDir, 4_000);
    const orderId = await place(first);
    const updates = watch(first, orderId);
    const paid = await updates.until((order) => order.status === 'PAID' && order.approvalDeadline !== null, 'PAID with a deadline');
    const pending = await until(async () => (await timers(first, 'pending')).find((timer) => timer.key === `${orderId}:approval`), 'the stored timer');
    expect(new Date(pending.dueAt).toISOString()).toBe(new Date(paid.approvalDeadline!).toISOString());
    updates.close();
    first.process.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // Started again only once the deadline has passed (what this test is about: a timer due while the app was down).
    const dueAt = new Date(pending.dueAt).getTime();
    if (Date.now() <= dueAt) await new Promise((resolve) => setTimeout(resolve, dueAt - Date.now() + 1));
    const second = await start(dataDir, 4_000);
    const after = watch(second, orderId);
    const cancelled = await after.until((order) => order.status === 'CANCELLED', 'CANCELLED', 30_000);
    expect(cancelled.cancellationReason).toBe('APPROVAL_TIMEOUT');
    await after.until((order) => order.refunded, 'refunded', 30_000);
    expect(await historyTypes(second, orderId)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderCancelled', 'PaymentRefunded']);
    const fired = (await timers(second, 'fired')).filter((timer) => timer.key === `${orderId}:approval`);
    expect(fired).toHaveLength(1);
    expect(await timers(second, 'pending')).toEqual([]);
    after.close();
    expect(await second.interrupt()).toEqual({ code: 0, signal: null });
  });
});
