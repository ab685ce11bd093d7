import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { AppProcess, freePort, killAll } from './app-process';
import { graphql, graphqlData, SubscriptionRecorder, wsClient } from './graphql-client';

interface OrderSnapshot {
  id: string;
  status: string;
  total: number;
  rejectionReason: string | null;
  paymentError: string | null;
  cancellationReason: string | null;
  driverId: string | null;
  position: string;
}

const ORDER_FIELDS = 'id status total rejectionReason paymentError cancellationReason driverId position';
const PLACE = `mutation Place($input: PlaceOrderInput!, $commandId: ID) {
  placeOrder(input: $input, commandId: $commandId) { commandId streamName revision position correlationId }
}`;
const HISTORY = `query History($id: ID!) { orderHistory(id: $id) { type streamName revision position data metadata recordedAt } }`;
const TERMINAL = new Set(['DRIVER_ASSIGNED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED']);

interface Receipt {
  commandId: string;
  streamName: string;
  revision: string;
  position: string;
  correlationId: string;
}

interface HistoryEvent {
  type: string;
  revision: string;
  position: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** What one suite run needs: a fresh store per app data set, and how to clean up. */
export interface SuiteBackend {
  /** A new, empty store (SQLite file in a temp dir, or a fresh PostgreSQL database). */
  create(): Promise<{ store: string | undefined; dataDir: string; dispose(): Promise<void> }>;
}

/**
 * The end-to-end suite: the app started as a child process exactly as `npm start` runs it, driven over
 * real HTTP and a real graphql-ws client on 127.0.0.1.
 */
export function foodDeliverySuite(backendName: string, backend: SuiteBackend): void {
  jest.setTimeout(120_000);
  const disposers: (() => Promise<void>)[] = [];
  const clients: Client[] = [];
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await killAll();
    for (const dispose of disposers) await dispose();
  });

  const newStore = async () => {
    const created = await backend.create();
    disposers.push(() => created.dispose());
    return created;
  };

  const start = (data: { store: string | undefined; dataDir: string }, env: Record<string, string> = {}) =>
    AppProcess.start({ ...(data.store ? { store: data.store } : {}), dataDir: data.dataDir, env });

  const client = (app: AppProcess): Client => {
    const created = wsClient(app.wsUrl);
    clients.push(created);
    return created;
  };

  /** Every state of the order from `fromRevision` on (0: all of them); `null`: the current state first. */
  const watch = (app: AppProcess, ws: Client, orderId: string, fromRevision: number | null = 0) =>
    new SubscriptionRecorder<OrderSnapshot>(
      ws,
      `subscription Updated($id: ID!, $fromRevision: Int) { orderUpdated(id: $id, fromRevision: $fromRevision) { ${ORDER_FIELDS} } }`,
      { id: orderId, fromRevision },
      (data) => data.orderUpdated as OrderSnapshot,
    );

  const place = async (app: AppProcess, input: Record<string, unknown>, commandId: string = randomUUID()) =>
    (await graphqlData<{ placeOrder: Receipt }>(app.graphqlUrl, PLACE, { input, commandId })).placeOrder;

  const history = async (app: AppProcess, orderId: string) =>
    (await graphqlData<{ orderHistory: HistoryEvent[] }>(app.graphqlUrl, HISTORY, { id: orderId })).orderHistory;

  const orderInput = (overrides: Record<string, unknown> = {}) => ({
    orderId: randomUUID(),
    customerId: 'customer-e2e',
    restaurantId: 'tokyo-ramen',
    items: [
      { menuItemId: 'shoyu-ramen', quantity: 2 },
      { menuItemId: 'gyoza', quantity: 1 },
    ],
    ...overrides,
  });

  const statuses = (recorder: SubscriptionRecorder<OrderSnapshot>) => recorder.values.map((value) => value.status);

  describe(`food delivery on ${backendName}, auto approval`, () => {
    let data: { store: string | undefined; dataDir: string };
    let app: AppProcess;
    let ws: Client;
    const finished: { orderId: string; status: string; events: number }[] = [];

    beforeAll(async () => {
      data = await newStore();
      app = await start(data);
      ws = client(app);
    });

    it('serves the web page and the browser build of graphql-ws', async () => {
      const page = await fetch(app.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script src="/app.js"');
      const script = await fetch(new URL('/vendor/graphql-ws.min.js', app.url));
      expect(script.status).toBe(200);
      expect(await script.text()).toContain('graphql-transport-ws');
    });

    it('lists the seeded restaurants with their menus', async () => {
      const { restaurants } = await graphqlData<{ restaurants: { id: string; menu: { id: string; name: string; price: number }[] }[] }>(
        app.graphqlUrl,
        '{ restaurants { id name menu { id name price } } }',
      );
      expect(restaurants.map((restaurant) => restaurant.id)).toEqual(['trattoria-roma', 'tokyo-ramen', 'green-bowl', 'caviar-house']);
      expect(restaurants[1]!.menu).toContainEqual({ id: 'gyoza', name: 'Gyoza (6)', price: 6.9 });
    });

    it('a subscription over plain HTTP POST is a client error (400, BAD_USER_INPUT) and runs no resolver', async () => {
      const response = await fetch(app.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'subscription { orderUpdated(id: "over-http") { id status } }' }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        errors: [{ message: 'subscriptions need a WebSocket (graphql-ws) or an event stream (graphql-sse, Accept: text/event-stream)', extensions: { code: 'BAD_USER_INPUT' } }],
      });
      // The resolver would have run without the value its subscribe produces (a TypeError, logged).
      expect(app.output).not.toContain('Cannot read properties of undefined');
    });

    it('happy path: the receipt comes at once, then every transition reaches the subscriber up to DRIVER_ASSIGNED', async () => {
      const input = orderInput();
      const early = watch(app, ws, input.orderId, null); // subscribed before the order exists
      const receipt = await place(app, input);
      const updates = watch(app, ws, input.orderId); // after the receipt, from revision 0: misses nothing
      expect(receipt.streamName).toBe(`order-${input.orderId}`);
      expect(receipt.revision).toBe('0');
      expect(receipt.correlationId).toBe(receipt.commandId);
      expect(typeof receipt.position).toBe('string');

      const done = await updates.until((order) => order.status === 'DRIVER_ASSIGNED', 'DRIVER_ASSIGNED');
      expect(statuses(updates)).toEqual(['PLACED', 'VALIDATED', 'PAID', 'APPROVED', 'DRIVER_ASSIGNED']);
      expect(done).toMatchObject({ id: input.orderId, total: 34.7, rejectionReason: null });
      expect(done.driverId).toMatch(/^driver-/);
      await early.until((order) => order.status === 'DRIVER_ASSIGNED', 'DRIVER_ASSIGNED at the early subscriber');
      const seenEarly = statuses(early);
      expect(seenEarly).toEqual(['PLACED', 'VALIDATED', 'PAID', 'APPROVED', 'DRIVER_ASSIGNED'].slice(-seenEarly.length)); // in order, no repeats
      updates.close();
      early.close();

      // A subscriber that comes later gets the current state first.
      const after = watch(app, ws, input.orderId, null);
      expect((await after.until(() => true, 'the current state')).status).toBe('DRIVER_ASSIGNED');
      after.close();

      const { order } = await graphqlData<{ order: OrderSnapshot & { items: unknown[] } }>(
        app.graphqlUrl,
        `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} items { menuItemId name quantity unitPrice } } }`,
        { id: input.orderId },
      );
      expect(order).toEqual({ ...done, items: [
        { menuItemId: 'shoyu-ramen', name: 'Shoyu Ramen', quantity: 2, unitPrice: 13.9 },
        { menuItemId: 'gyoza', name: 'Gyoza (6)', quantity: 1, unitPrice: 6.9 },
      ] });

      const events = await history(app, input.orderId);
      expect(events.map((event) => event.type)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderApproved', 'DriverAssigned']);
      expect(events.map((event) => event.revision)).toEqual(['0', '1', '2', '3', '4']);
      expect(events.every((event) => event.metadata.correlationId === receipt.correlationId)).toBe(true);
      expect(events[0]!.position).toBe(receipt.position);
      expect(events.at(-1)!.position).toBe(done.position);
      finished.push({ orderId: input.orderId, status: 'DRIVER_ASSIGNED', events: events.length });
    });

    it('rejection: an item not on the menu is placed, then REJECTED by validation with the reason', async () => {
      const input = orderInput({ items: [{ menuItemId: 'unicorn-steak', quantity: 1 }, { menuItemId: 'gyoza', quantity: 1 }] });
      await place(app, input);
      const updates = watch(app, ws, input.orderId);
      const rejected = await updates.until((order) => TERMINAL.has(order.status), 'a final status');
      expect(statuses(updates)).toEqual(['PLACED', 'REJECTED']);
      expect(rejected.rejectionReason).toContain('"unicorn-steak"');
      updates.close();
      expect((await history(app, input.orderId)).map((event) => event.type)).toEqual(['OrderPlaced', 'OrderRejected']);
      finished.push({ orderId: input.orderId, status: 'REJECTED', events: 2 });
    });

    it('declined payment: a total over 1000.00 ends in PAYMENT_FAILED', async () => {
      const input = orderInput({ restaurantId: 'caviar-house', items: [{ menuItemId: 'beluga-tin', quantity: 1 }] });
      await place(app, input);
      const updates = watch(app, ws, input.orderId);
      const failed = await updates.until((order) => TERMINAL.has(order.status), 'a final status');
      expect(statuses(updates)).toEqual(['PLACED', 'VALIDATED', 'PAYMENT_FAILED']);
      expect(failed.total).toBe(1250);
      expect(failed.paymentError).toContain('1000.00');
      updates.close();
      const events = await history(app, input.orderId);
      expect(events.map((event) => event.type)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentFailed']);
      finished.push({ orderId: input.orderId, status: 'PAYMENT_FAILED', events: 3 });
    });

    it('idempotent retry: the same commandId returns the same receipt and writes nothing', async () => {
      const input = orderInput();
      const commandId = randomUUID();
      const first = await place(app, input, commandId);
      const updates = watch(app, ws, input.orderId);
      const again = await place(app, input, commandId);
      expect(again).toEqual(first);
      await updates.until((order) => order.status === 'DRIVER_ASSIGNED', 'DRIVER_ASSIGNED');
      const third = await place(app, input, commandId); // also after the workflow went on
      expect(third).toEqual(first);
      const events = await history(app, input.orderId);
      expect(events.map((event) => event.type)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderApproved', 'DriverAssigned']);
      updates.close();
      finished.push({ orderId: input.orderId, status: 'DRIVER_ASSIGNED', events: 5 });
    });

    it('ALREADY_EXISTS: another command for an existing orderId is refused and writes nothing', async () => {
      const input = orderInput();
      const receipt = await place(app, input);
      const before = await history(app, input.orderId);
      const response = await graphql(app.graphqlUrl, PLACE, { input: { ...input, customerId: 'someone-else' }, commandId: randomUUID() });
      expect(response.errors?.[0]?.extensions?.code).toBe('ALREADY_EXISTS');
      const after = await history(app, input.orderId);
      expect(after.filter((event) => event.type === 'OrderPlaced')).toHaveLength(1);
      expect(after[0]!.data.customerId).toBe('customer-e2e');
      expect(after[0]!.position).toBe(receipt.position);
      expect(after.length).toBeGreaterThanOrEqual(before.length);
    });

    it('bad input: BAD_USER_INPUT naming every failing field, and nothing written', async () => {
      const cases: [Record<string, unknown>, string[]][] = [
        [{ items: [] }, ['input.items']],
        [{ items: [{ menuItemId: 'gyoza', quantity: 0 }, { menuItemId: 'gyoza', quantity: 101 }] }, ['input.items[0].quantity', 'input.items[1].quantity']],
        [{ customerId: '', restaurantId: '', items: [{ menuItemId: '', quantity: 1 }] }, ['input.customerId', 'input.restaurantId', 'input.items[0].menuItemId']],
      ];
      for (const [overrides, fields] of cases) {
        const input = orderInput(overrides);
        const response = await graphql(app.graphqlUrl, PLACE, { input, commandId: randomUUID() });
        expect(response.data ?? null).toBeNull();
        const error = response.errors?.[0];
        expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(error?.extensions?.fields?.map((field) => field.path).sort()).toEqual([...fields].sort());
        expect(await history(app, input.orderId)).toEqual([]);
      }
      const noId = await graphql(app.graphqlUrl, PLACE, { input: orderInput({ orderId: '' }) });
      expect(noId.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(noId.errors?.[0]?.extensions?.fields?.map((field) => field.path)).toEqual(['input.orderId']);
    });

    it('bad input: a quantity that is not an Int, given as a GraphQL variable, is BAD_USER_INPUT', async () => {
      const input = orderInput({ items: [{ menuItemId: 'gyoza', quantity: 1.5 }] });
      const notAnInt = await graphql(app.graphqlUrl, PLACE, { input });
      expect(notAnInt.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await history(app, input.orderId)).toEqual([]);
    });

    it("lists a customer's orders a page at a time", async () => {
      const customerId = `customer-${randomUUID().slice(0, 8)}`;
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const orderId of ids) await place(app, orderInput({ orderId, customerId }), randomUUID());
      const watcher = watch(app, ws, ids[2]!);
      await watcher.until(() => true, 'the last order in the read model');
      watcher.close();
      const query = `query($customerId: ID, $after: String) { orders(customerId: $customerId, first: 2, after: $after) {
        nodes { id customerId } totalCount pageInfo { hasNextPage endCursor } } }`;
      type Page = { orders: { nodes: { id: string; customerId: string }[]; totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string } } };
      const first = await graphqlData<Page>(app.graphqlUrl, query, { customerId });
      expect(first.orders.totalCount).toBe(3);
      expect(first.orders.pageInfo.hasNextPage).toBe(true);
      const second = await graphqlData<Page>(app.graphqlUrl, query, { customerId, after: first.orders.pageInfo.endCursor });
      expect([...first.orders.nodes, ...second.orders.nodes].map((node) => node.id)).toEqual(ids);
      expect(second.orders.pageInfo.hasNextPage).toBe(false);
    });

    it('Ctrl-C shuts down cleanly; started again on the same data it keeps every order and runs new ones', async () => {
      const stopped = await app.interrupt();
      expect(stopped).toEqual({ code: 0, signal: null });
      expect(app.output).toContain('stopped cleanly');

      app = await start(data);
      ws = client(app);
      for (const { orderId, status, events } of finished) {
        const { order } = await graphqlData<{ order: OrderSnapshot | null }>(app.graphqlUrl, `query($id: ID!) { order(id: $id) { status } }`, { id: orderId });
        expect(order?.status).toBe(status);
        expect(await history(app, orderId)).toHaveLength(events); // the reactors did not run anything twice
      }
      const input = orderInput();
      await place(app, input);
      const updates = watch(app, ws, input.orderId);
      await updates.until((order) => order.status === 'DRIVER_ASSIGNED', 'DRIVER_ASSIGNED after the restart');
      expect(statuses(updates)).toEqual(['PLACED', 'VALIDATED', 'PAID', 'APPROVED', 'DRIVER_ASSIGNED']);
      updates.close();
      expect(await app.interrupt()).toEqual({ code: 0, signal: null });
    });
  });

  describe(`food delivery on ${backendName}, RESTAURANT_APPROVAL=manual`, () => {
    let app: AppProcess;
    let ws: Client;

    beforeAll(async () => {
      app = await start(await newStore(), { RESTAURANT_APPROVAL: 'manual' });
      ws = client(app);
    });
    afterAll(async () => {
      await app.interrupt();
    });

    const placeAndWaitPaid = async () => {
      const input = orderInput();
      await place(app, input);
      const updates = watch(app, ws, input.orderId);
      await updates.until((order) => order.status === 'PAID', 'PAID');
      return { orderId: input.orderId, updates };
    };

    it('cancellation before approval: CANCELLED reaches the subscriber, and approval is then refused', async () => {
      const { orderId, updates } = await placeAndWaitPaid();
      const cancel = await graphqlData<{ cancelOrder: Receipt }>(
        app.graphqlUrl,
        `mutation($id: ID!) { cancelOrder(orderId: $id, reason: "changed my mind") { streamName revision } }`,
        { id: orderId },
      );
      expect(cancel.cancelOrder).toEqual({ streamName: `order-${orderId}`, revision: '3' });
      const cancelled = await updates.until((order) => order.status === 'CANCELLED', 'CANCELLED');
      expect(cancelled.cancellationReason).toBe('changed my mind');
      expect(statuses(updates)).toEqual(['PLACED', 'VALIDATED', 'PAID', 'CANCELLED']);
      const approve = await graphql(app.graphqlUrl, `mutation($id: ID!) { approveOrder(orderId: $id) { revision } }`, { id: orderId });
      expect(approve.errors?.[0]?.extensions).toMatchObject({ code: 'DOMAIN_RULE', rule: 'ORDER_CANCELLED' });
      updates.close();
    });

    it('approveOrder moves a paid order on to DRIVER_ASSIGNED; cancelling is refused after approval', async () => {
      const { orderId, updates } = await placeAndWaitPaid();
      const commandId = randomUUID();
      const approve = `mutation($id: ID!, $commandId: ID) { approveOrder(orderId: $id, commandId: $commandId) { commandId revision position } }`;
      const first = await graphqlData<{ approveOrder: Receipt }>(app.graphqlUrl, approve, { id: orderId, commandId });
      await updates.until((order) => order.status === 'DRIVER_ASSIGNED', 'DRIVER_ASSIGNED');
      expect(statuses(updates)).toEqual(['PLACED', 'VALIDATED', 'PAID', 'APPROVED', 'DRIVER_ASSIGNED']);
      const retried = await graphqlData<{ approveOrder: Receipt }>(app.graphqlUrl, approve, { id: orderId, commandId });
      expect(retried).toEqual(first);
      const cancel = await graphql(app.graphqlUrl, `mutation($id: ID!) { cancelOrder(orderId: $id, reason: "too late") { revision } }`, { id: orderId });
      expect(cancel.errors?.[0]?.extensions).toMatchObject({ code: 'DOMAIN_RULE', rule: 'ORDER_ALREADY_APPROVED' });
      const events = await history(app, orderId);
      expect(events.map((event) => event.type)).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderApproved', 'DriverAssigned']);
      expect(events[3]!.data).toMatchObject({ approvedBy: 'restaurant' });
      updates.close();
    });

    it('cancelling an unknown order is NOT_FOUND; an empty reason is BAD_USER_INPUT', async () => {
      const unknown = await graphql(app.graphqlUrl, `mutation { cancelOrder(orderId: "${randomUUID()}", reason: "x") { revision } }`);
      expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const { orderId, updates } = await placeAndWaitPaid();
      const empty = await graphql(app.graphqlUrl, `mutation($id: ID!) { cancelOrder(orderId: $id, reason: " ") { revision } }`, { id: orderId });
      expect(empty.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(empty.errors?.[0]?.extensions?.fields?.map((field) => field.path)).toEqual(['reason']);
      updates.close();
    });
  });

  describe(`food delivery on ${backendName}, the payment function as its own process`, () => {
    it('orders wait at VALIDATED while payment is down, then go on to DRIVER_ASSIGNED once it is up (webhook retries)', async () => {
      const data = await newStore();
      const paymentPort = await freePort();
      const secret = `secret-${randomUUID()}`;
      const app = await start(data, { PAYMENT_URL: `http://127.0.0.1:${paymentPort}/charge`, PAYMENT_WEBHOOK_SECRET: secret });
      const ws = client(app);
      const input = orderInput();
      await place(app, input);
      const updates = watch(app, ws, input.orderId);
      await updates.until((order) => order.status === 'VALIDATED', 'VALIDATED');
      const declined = orderInput({ restaurantId: 'caviar-house', items: [{ menuItemId: 'beluga-tin', quantity: 1 }] });
      await place(app, declined);
      const declinedUpdates = watch(app, ws, declined.orderId);

      const payment = AppProcess.spawnPaymentFunction({
        ...(data.store ? { store: data.store } : {}),
        dataDir: data.dataDir,
        paymentPort,
        env: { PAYMENT_WEBHOOK_SECRET: secret },
      });
      await payment.waitForOutput(/Payment function listening on/, 60_000);
      await updates.until((order) => order.status === 'DRIVER_ASSIGNED', 'DRIVER_ASSIGNED', 60_000);
      expect(statuses(updates)).toEqual(['PLACED', 'VALIDATED', 'PAID', 'APPROVED', 'DRIVER_ASSIGNED']);
      await declinedUpdates.until((order) => order.status === 'PAYMENT_FAILED', 'PAYMENT_FAILED', 60_000);
      expect((await history(app, input.orderId)).filter((event) => event.type === 'PaymentSucceeded')).toHaveLength(1);
      updates.close();
      declinedUpdates.close();
      expect(await app.interrupt()).toEqual({ code: 0, signal: null });
      expect((await payment.interrupt()).code).toBe(0);
    });
  });
}
