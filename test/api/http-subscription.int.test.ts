import { gql, startTestApi, type TestApi } from './support/test-api';

/** Subscriptions are served over WebSocket (graphql-ws) and SSE (graphql-sse); over plain HTTP they are a client error. */
describe('a subscription over plain HTTP', () => {
  let app: TestApi;

  beforeAll(async () => {
    app = await startTestApi();
  });
  afterAll(() => app.close());

  it('POST: 400 with BAD_USER_INPUT saying it needs a WebSocket, before any resolver runs', async () => {
    const response = await gql(app.url, 'subscription { ticketChanged(id: "x") { title } }');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      errors: [{ message: 'subscriptions need a WebSocket (graphql-ws) or an event stream (graphql-sse, Accept: text/event-stream)', extensions: { code: 'BAD_USER_INPUT' } }],
    });
    expect(app.logger.lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('only the operation that runs counts: a query beside a subscription in one document still answers', async () => {
    const document = 'query Count { openTicketCount } subscription Watch { ticketChanged(id: "x") { title } }';
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: document, operationName: 'Count' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { openTicketCount: 0 } });
    const watch = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: document, operationName: 'Watch' }),
    });
    expect(watch.status).toBe(400);
    expect(((await watch.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});
