import { randomUUID } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core';
import { Client as UrqlClient, cacheExchange, fetchExchange } from '@urql/core';
import { AppProcess, killAll, tempDataDir } from './support/app-process';
import { graphqlData } from './support/graphql-client';

const RESTAURANTS = 'query Restaurants { restaurants { id name } }';
const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { commandId streamName revision } }`;
const HISTORY = 'query History($id: ID!) { orderHistory(id: $id) { type } }';
const RESTAURANT_IDS = ['trattoria-roma', 'tokyo-ramen', 'green-bowl', 'caviar-house'];

const orderInput = () => ({
  orderId: randomUUID(),
  customerId: 'customer-clients',
  restaurantId: 'tokyo-ramen',
  items: [{ menuItemId: 'gyoza', quantity: 1 }],
});

/**
 * The reference app driven by stock GraphQL clients, configured with nothing but its URL: no custom
 * headers, the default fetch. urql sends queries as GET (`preferGetMethod: 'within-url-limit'`),
 * Apollo Client POSTs JSON; neither sends Apollo Server's CSRF preflight headers. The CSRF protection
 * still holds: a GET mutation and a cross-site "simple" POST are refused and write nothing.
 */
describe('the food-delivery app with stock GraphQL clients', () => {
  jest.setTimeout(120_000);
  const data = tempDataDir();
  let app: AppProcess;

  beforeAll(async () => {
    app = await AppProcess.start({ dataDir: data.path });
  });
  afterAll(async () => {
    await app.interrupt();
    await killAll();
    data.remove();
  });

  const eventsOf = async (orderId: string) => (await graphqlData<{ orderHistory: { type: string }[] }>(app.graphqlUrl, HISTORY, { id: orderId })).orderHistory;

  it('urql (@urql/core, default exchanges): a query (sent as GET) and a mutation', async () => {
    const client = new UrqlClient({ url: app.graphqlUrl, exchanges: [cacheExchange, fetchExchange] });
    const query = await client.query<{ restaurants: { id: string }[] }>(RESTAURANTS, {}).toPromise();
    expect(query.error).toBeUndefined();
    expect(query.data?.restaurants.map((restaurant) => restaurant.id)).toEqual(RESTAURANT_IDS);

    const input = orderInput();
    const placed = await client.mutation<{ placeOrder: { streamName: string; revision: string } }>(PLACE, { input }).toPromise();
    expect(placed.error).toBeUndefined();
    expect(placed.data?.placeOrder).toMatchObject({ streamName: `order-${input.orderId}`, revision: '0' });
    expect((await eventsOf(input.orderId))[0]?.type).toBe('OrderPlaced');
  });

  it('Apollo Client (@apollo/client/core, HttpLink): a query and a mutation', async () => {
    const client = new ApolloClient({ link: new HttpLink({ uri: app.graphqlUrl }), cache: new InMemoryCache() });
    try {
      const query = await client.query<{ restaurants: { id: string }[] }>({ query: gql(RESTAURANTS) });
      expect(query.error).toBeUndefined();
      expect(query.data?.restaurants.map((restaurant) => restaurant.id)).toEqual(RESTAURANT_IDS);

      const input = orderInput();
      const placed = await client.mutate<{ placeOrder: { streamName: string; revision: string } }>({ mutation: gql(PLACE), variables: { input } });
      expect(placed.error).toBeUndefined();
      expect(placed.data?.placeOrder).toMatchObject({ streamName: `order-${input.orderId}`, revision: '0' });
      expect((await eventsOf(input.orderId))[0]?.type).toBe('OrderPlaced');
    } finally {
      client.stop();
    }
  });

  it('a mutation over GET is refused with 405 (Allow: POST) and writes nothing', async () => {
    const input = orderInput();
    const search = new URLSearchParams({ query: PLACE, variables: JSON.stringify({ input }) });
    const response = await fetch(`${app.graphqlUrl}?${search.toString()}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(await eventsOf(input.orderId)).toEqual([]);
  });

  it('a cross-site "simple" POST (text/plain or a form, as any web page can send) is refused with 415 and writes nothing', async () => {
    // The app runs with auth off (every request is the demo user), so this is exactly the request a
    // hostile page would make its visitor's browser send.
    const input = orderInput();
    const text = await fetch(app.graphqlUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: PLACE, variables: { input } }) });
    const form = await fetch(app.graphqlUrl, { method: 'POST', body: new URLSearchParams({ query: PLACE, variables: JSON.stringify({ input }) }) });
    for (const response of [text, form]) {
      expect(response.status).toBe(415);
      expect(await response.json()).toEqual({ errors: [{ message: 'a GraphQL POST must have the content type application/json', extensions: { code: 'BAD_USER_INPUT' } }] });
    }
    expect(await eventsOf(input.orderId)).toEqual([]);
  });
});
