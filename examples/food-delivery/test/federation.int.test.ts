import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { connectEventStore, createApi, SqliteReadModelStore, tenantReader, type Api, type ApiContext, type EventStore, type ReadModelStore } from '../src/eventfold';
import { orderResolvers } from '../src/api/order.resolvers';
import { toOrderType } from '../src/api/order.type';
import { order } from '../src/domain/order';
import { ordersProjection } from '../src/read-models/orders.projection';

const CUSTOMER_NAMES: Record<string, string> = { 'customer-ada': 'Ada Lovelace' };

/**
 * A second, small subgraph: a customers service that extends the orders subgraph's `Order` entity with
 * the customer's name (it needs the order's `customerId`, which the orders subgraph resolves), and
 * names one order of its own by reference only (its fields come from the orders subgraph).
 */
function customersSubgraph(featuredOrderId: () => string): ApolloServer {
  const typeDefs = parse(`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires"])
    type Order @key(fields: "id") {
      id: ID!
      customerId: ID! @external
      customerDisplayName: String @requires(fields: "customerId")
    }
    type Query { featuredOrder: Order }
  `);
  const resolvers = {
    Query: { featuredOrder: () => ({ __typename: 'Order', id: featuredOrderId() }) },
    Order: { customerDisplayName: (reference: { customerId: string }) => CUSTOMER_NAMES[reference.customerId] ?? null },
  };
  return new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }), plugins: [ApolloServerPluginInlineTraceDisabled()] });
}

/**
 * The reference app's API as a Federation 2 subgraph (`createApi({ federation })`), composed with a
 * customers subgraph by a real `@apollo/gateway` (IntrospectAndCompose), all on loopback.
 */
describe('the food-delivery API as a Federation 2 subgraph behind @apollo/gateway', () => {
  jest.setTimeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-federation-'));
  let eventStore: EventStore;
  let readModels: ReadModelStore;
  let api: Api;
  let customers: ApolloServer;
  let gateway: ApolloServer;
  let gatewayUrl: string;
  let ordersUrl: string;
  const orderId = randomUUID();

  beforeAll(async () => {
    eventStore = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
    readModels = SqliteReadModelStore.open(join(dir, 'read-models.db'));
    api = await createApi({
      eventStore,
      readModels,
      projections: [ordersProjection],
      aggregates: [order],
      resolvers: orderResolvers({ restaurantApproval: 'manual', forgetCustomer: () => Promise.reject(new Error('this test forgets no one')) }),
      auth: { mode: 'off', developmentUser: { id: 'demo', roles: ['customer', 'restaurant', 'admin'] } },
      federation: {
        entities: {
          Order: {
            key: 'id',
            resolveReference: async (reference, context: ApiContext) => {
              const view = await tenantReader(context, ordersProjection, 'orders').get(String(reference.id));
              return view ? toOrderType(view) : null;
            },
          },
        },
      },
    });
    ordersUrl = (await api.listen({ port: 0, host: '127.0.0.1' })).url;
    customers = customersSubgraph(() => orderId);
    const customersUrl = (await startStandaloneServer(customers, { listen: { port: 0, host: '127.0.0.1' } })).url;
    gateway = new ApolloServer({
      gateway: new ApolloGateway({
        supergraphSdl: new IntrospectAndCompose({ subgraphs: [{ name: 'orders', url: ordersUrl }, { name: 'customers', url: customersUrl }] }),
      }),
    });
    gatewayUrl = (await startStandaloneServer(gateway, { listen: { port: 0, host: '127.0.0.1' } })).url;
  });

  afterAll(async () => {
    await gateway?.stop();
    await customers?.stop();
    await api?.close({ timeoutMs: 2_000 });
    await readModels?.close();
    await eventStore?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async <T>(url: string, text: string, variables: Record<string, unknown> = {}): Promise<{ data?: T; errors?: unknown[] }> => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: text, variables }) });
    return (await response.json()) as { data?: T; errors?: unknown[] };
  };

  it('the subgraph serves its SDL with Order as an entity (@key) and the federation fields', async () => {
    const { data } = await query<{ _service: { sdl: string } }>(ordersUrl, '{ _service { sdl } }');
    expect(data?._service.sdl).toMatch(/type Order\s+@key\(fields: "id"\)/);
    expect(data?._service.sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.3"');
  });

  it('an entity fetch crosses both subgraphs, in both directions', async () => {
    const placed = await query(gatewayUrl, 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input, waitFor: ["orders"]) { revision } }', {
      input: { orderId, customerId: 'customer-ada', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 2 }] },
    });
    expect(placed.errors).toBeUndefined();
    // orders → customers: customerDisplayName comes from the customers subgraph, given the order's customerId.
    const fromOrders = await query<{ order: unknown }>(gatewayUrl, 'query One($id: ID!) { order(id: $id) { id status customerId customerDisplayName } }', { id: orderId });
    expect(fromOrders).toEqual({ data: { order: { id: orderId, status: 'PLACED', customerId: 'customer-ada', customerDisplayName: 'Ada Lovelace' } } });
    // customers → orders: the customers subgraph returns a reference; its fields come from the read
    // model through the orders subgraph's __resolveReference, and back to customers for the name.
    const fromCustomers = await query<{ featuredOrder: unknown }>(gatewayUrl, '{ featuredOrder { id status items { menuItemId quantity } customerDisplayName } }');
    expect(fromCustomers).toEqual({
      data: { featuredOrder: { id: orderId, status: 'PLACED', items: [{ menuItemId: 'gyoza', quantity: 2 }], customerDisplayName: 'Ada Lovelace' } },
    });
  });

  it('a reference to an order that does not exist resolves to null', async () => {
    const { data } = await query<{ _entities: unknown[] }>(ordersUrl, 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id } } }', {
      r: [{ __typename: 'Order', id: 'no-such-order' }],
    });
    expect(data?._entities).toEqual([null]);
  });

  it('an entity the schema does not have is refused when the API is built', async () => {
    await expect(
      createApi({
        eventStore,
        readModels,
        projections: [ordersProjection],
        resolvers: orderResolvers({ restaurantApproval: 'manual', forgetCustomer: () => Promise.reject(new Error('this test forgets no one')) }),
        auth: { mode: 'off' },
        runProjections: false,
        federation: { entities: { Invoice: { key: 'id', resolveReference: () => null } } },
      }),
    ).rejects.toThrow('federation.entities.Invoice: the schema has no object type Invoice');
  });
});
