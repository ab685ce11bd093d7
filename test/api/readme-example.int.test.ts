// The examples of README.md's "GraphQL API" section, verbatim apart from imports (the docs import from
// 'eventfold'), free ports, a quiet logger and the wrapping in tests: if this file stops compiling or passing, the docs are wrong.
// The order aggregate is the one of the "Domain and commands" section.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsNotEmpty, Min } from 'class-validator';
import express from 'express';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { connectEventStore, defineReactor, handleCommand, ProjectionEngine, ReactorRunner } from '../../src';
import { documentQuery } from '../../src/api';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { commandMutations, createApi, documentSubscription } from '../../src/api';
import { order } from '../support/readme-order';
import { orderSummary } from '../support/readme-order-summary';
import { bearer, gql, JWT_SECRET, memoryLogger, token } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';


// README: "Declare the API"

// A read model of the orders from "Domain and commands": test/support/readme-order-summary.ts.

@InputType() class LineInput {
  @Field() @IsNotEmpty() sku!: string;
  @Field(() => Int) @Min(1) quantity!: number;
}
@InputType() class PlaceOrderInput {
  @Field(() => ID) @IsNotEmpty() orderId!: string;
  @Field(() => [LineInput]) lines!: LineInput[];
  @Field() placedAt!: string; // a retry must build the same command, so the time comes with the request
}
@ObjectType('Order') class OrderView {
  @Field(() => ID) orderId!: string;
  @Field() status!: string;
  @Field(() => Int) items!: number;
}

const orders = commandMutations(order); // the aggregate comes first, so `type: 'PlaceOrder'` is checked
export const resolvers = [
  orders.mutation({
    name: 'placeOrder',
    input: PlaceOrderInput,
    // The one place where the GraphQL input becomes the command:
    toCommand: (input, { user }) => ({
      streamName: order.streamName(input.orderId),
      command: { type: 'PlaceOrder', data: { customerId: user!.id, lines: input.lines.map((line) => ({ ...line })), placedAt: input.placedAt } },
    }),
    access: { roles: ['customer'] }, // default: any signed-in user; `public: true` for anyone
    authorize: (intent, context) => context.user!.id !== 'blocked', // the per-command hook
    waitFor: ['order-summary'], // read-your-writes: answer once the read model has the order
  }),
  documentQuery({ name: 'order', projection: orderSummary, collection: 'orders', type: OrderView }),
  documentSubscription({ name: 'orderChanged', projection: orderSummary, collection: 'orders', type: OrderView }),
];

describe('README: GraphQL API', () => {
  let dir: string;
  const secret = JWT_SECRET;
  const logger = memoryLogger();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventfold-readme-api-'));
    process.env.JWT_SECRET = secret;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs it: a mutation answers with a receipt, a subscription sees the current value and the change', async () => {
    // README: "Run it"
    const eventStore = await connectEventStore(`sqlite:${dir}/events.db`);
    const readModels = SqliteReadModelStore.open(`${dir}/read-models.db`);
    const api = await createApi({
      eventStore,
      readModels,
      projections: [orderSummary], // run here; `runProjections: false` when a worker runs them
      aggregates: [order], // for the audit API
      resolvers,
      auth: { mode: 'jwt', secret: process.env.JWT_SECRET! }, // or { mode: 'off' } locally: the log says so loudly
      limits: { maxDepth: 10, maxComplexity: 1_000, maxAliases: 30, bodyLimit: '100kb', subscriptionsPerConnection: 50 },
      logger,
    });
    const { url } = await api.listen({ port: 0, host: '127.0.0.1' }); // /graphql (HTTP + WebSocket), /healthz, /readyz

    const customer = bearer(await token('c-9', ['customer']));
    const ws = wsClient(url.replace('http', 'ws'), { authorization: customer.authorization });
    try {
      const changes = subscribe<{ orderChanged: { status: string; items: number } | null }>(ws.client, 'subscription { orderChanged(id: "42") { status items } }');
      expect((await changes.next()).data).toEqual({ orderChanged: null });
      const placed = await gql<{ placeOrder: { commandId: string; streamName: string; revision: string } }>(
        url,
        'mutation { placeOrder(input: { orderId: "42", lines: [{ sku: "tea", quantity: 2 }], placedAt: "2026-03-01T10:00:00Z" }, commandId: "c-42") { commandId streamName revision position correlationId } }',
        {},
        customer,
      );
      expect(placed.body.data!.placeOrder).toMatchObject({ commandId: 'c-42', streamName: 'order-42', revision: '0' });
      expect((await changes.next()).data).toEqual({ orderChanged: { status: 'placed', items: 2 } });
      const read = await gql(url, '{ order(id: "42") { status items } }', {}, customer);
      expect(read.body.data).toEqual({ order: { status: 'placed', items: 2 } });
      const blocked = await gql(url, 'mutation { placeOrder(input: { orderId: "43", lines: [{ sku: "tea", quantity: 1 }], placedAt: "2026-03-01T10:00:00Z" }) { revision } }', {}, bearer(await token('blocked', ['customer'])));
      expect(blocked.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const invalid = await gql(url, 'mutation { placeOrder(input: { orderId: "44", lines: [{ sku: "", quantity: 0 }], placedAt: "2026-03-01T10:00:00Z" }) { revision } }', {}, customer);
      expect(invalid.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await ws.dispose();
      await api.close();
      await readModels.close();
      await eventStore.close();
    }
  });

  it('embeds: mounted into an existing Express server, or commands, projections and reactors without GraphQL', async () => {
    const eventStore = await connectEventStore(`sqlite:${dir}/events.db`);
    const readModels = SqliteReadModelStore.open(`${dir}/read-models.db`);
    try {
      {
        // README: "Embedding", the first example
        const app = express();
        app.get('/legacy', (_request, response) => void response.send('still here'));
        const server = createServer(app);
        const embedded = await createApi({ eventStore, readModels, projections: [orderSummary], aggregates: [order], resolvers, auth: { mode: 'jwt', secret }, logger });
        await embedded.mount(app, server); // /graphql (HTTP + WebSocket upgrades of that path only), /healthz, /readyz
        server.listen(0, '127.0.0.1');

        await new Promise<void>((resolve) => server.once('listening', () => resolve()));
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        expect(await (await fetch(`${base}/legacy`)).text()).toBe('still here');
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        const customer = bearer(await token('c-1', ['customer']));
        const ws = wsClient(`${base.replace('http', 'ws')}/graphql`, { authorization: customer.authorization });
        const changes = subscribe<{ orderChanged: { status: string } | null }>(ws.client, 'subscription { orderChanged(id: "e-1") { status } }');
        expect((await changes.next()).data).toEqual({ orderChanged: null });
        const placed = await gql(`${base}/graphql`, 'mutation { placeOrder(input: { orderId: "e-1", lines: [{ sku: "tea", quantity: 1 }], placedAt: "2026-03-01T10:00:00Z" }) { revision } }', {}, customer);
        expect(placed.body.errors).toBeUndefined();
        expect((await changes.next()).data).toEqual({ orderChanged: { status: 'placed' } });
        const closed = ws.closed;

        // … on shutdown: the API lets go of what it added; the server stays the service's own.
        await embedded.close();
        expect((await closed).code).toBe(1001);
        expect(await (await fetch(`${base}/legacy`)).text()).toBe('still here');
        server.close();
        await ws.dispose();
      }
      {
        // README: "Embedding", the second example
        const engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
        await engine.start();
        const shipped: string[] = [];
        const runner = await ReactorRunner.start({
          store: eventStore,
          reactors: [defineReactor({ name: 'notify-shipping', filter: { eventTypes: ['OrderPlaced'] }, handle: (event) => Promise.resolve(void shipped.push(event.streamName)) })],
        });

        const receipt = await handleCommand({ store: eventStore }, order, {
          streamName: order.streamName('7'),
          command: { type: 'PlaceOrder', data: { customerId: 'c-1', lines: [{ sku: 'tea', quantity: 1 }], placedAt: '2026-03-01T10:00:00Z' } },
          commandId: 'order-7-placed',
          userId: 'u-1',
        });
        await engine.waitForPosition('order-summary', receipt.position!);
        const placed = await readModels.documents(orderSummary, 'orders').get('7'); // { orderId: '7', status: 'placed', items: 1, … }
        await runner.waitForPosition('notify-shipping', receipt.position!);
        await runner.stop();
        await engine.stop();

        expect(placed).toEqual({ orderId: '7', customerId: 'c-1', status: 'placed', items: 1 });
        expect(shipped).toContain('order-7');
      }
    } finally {
      await readModels.close();
      await eventStore.close();
    }
  });
});
