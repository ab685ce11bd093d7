import { gql, startTestApi, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const MISSPELT_FIELD = '{ tickt(id: "x") { title } }';
const MISSPELT_INPUT = 'mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { revision } }';

/** graphql-js suggests names it knows ("Did you mean …?"): with introspection off, that leaks the schema. */
describe('"Did you mean" suggestions follow introspection (HTTP and WebSocket)', () => {
  let production: TestApi;
  let development: TestApi;

  beforeAll(async () => {
    production = await startTestApi();
    development = await startTestApi({ development: true });
  });
  afterAll(async () => {
    await production.close();
    await development.close();
  });

  it('introspection off: a misspelt field or input field over HTTP names nothing of the schema', async () => {
    const field = await gql(production.url, MISSPELT_FIELD);
    expect(field.body.errors).toEqual([expect.objectContaining({ message: 'Cannot query field "tickt" on type "Query".', extensions: { code: 'BAD_USER_INPUT' } })]);
    const input = await gql(production.url, MISSPELT_INPUT, { input: { ticketId: 's-1', title: 'x', titel: 'y' } });
    expect(input.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(input.body.errors?.[0]?.message).toContain('Field "titel" is not defined by type "OpenTicketInput".');
    expect(JSON.stringify([field.body, input.body])).not.toMatch(/Did you mean/);
  });

  it('introspection off: a misspelt field over WebSocket names nothing of the schema', async () => {
    const ws = wsClient(production.wsUrl);
    try {
      const failure = await subscribe(ws.client, MISSPELT_FIELD).failure();
      expect(failure).toEqual([expect.objectContaining({ message: 'Cannot query field "tickt" on type "Query".', extensions: { code: 'BAD_USER_INPUT' } })]);
      const input = await subscribe(ws.client, MISSPELT_INPUT, { input: { ticketId: 's-1', title: 'x', titel: 'y' } }).failure();
      expect(JSON.stringify(input)).toContain('Field \\"titel\\" is not defined by type \\"OpenTicketInput\\".');
      expect(JSON.stringify([failure, input])).not.toMatch(/Did you mean/);
    } finally {
      await ws.dispose();
    }
  });

  it('development mode (introspection on) still suggests, over HTTP and WebSocket', async () => {
    const field = await gql(development.url, MISSPELT_FIELD);
    expect(field.body.errors?.[0]?.message).toBe('Cannot query field "tickt" on type "Query". Did you mean "ticket" or "tickets"?');
    const ws = wsClient(development.wsUrl);
    try {
      const failure = (await subscribe(ws.client, MISSPELT_FIELD).failure()) as { message: string }[];
      expect(failure[0]?.message).toBe('Cannot query field "tickt" on type "Query". Did you mean "ticket" or "tickets"?');
    } finally {
      await ws.dispose();
    }
  });
});
