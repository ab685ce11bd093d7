import type { Socket } from 'node:net';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input, waitFor: ["ticket-board"]) { position } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { position } }`;

describe('limits', () => {
  let app: TestApi;
  let agent: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApi({
      limits: { bodyLimit: '100kb', maxDepth: 3, maxComplexity: 10, maxAliases: 3, subscriptionsPerConnection: 2, subscriptionBuffer: 5, socketBufferBytes: 256 * 1024 },
    });
    agent = bearer(await token('agent-1', ['agent']));
  });
  afterAll(() => app.close());

  it('a body over the limit is refused with 413 before it is parsed', async () => {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ openTicketCount }', variables: { padding: 'x'.repeat(150 * 1024) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ message: 'the request body exceeds the limit of 100kb', extensions: { code: 'BAD_USER_INPUT', limit: 'bodySize', max: '100kb' } }],
    });
  });

  it('depth, aliases and complexity over the limit are refused during validation: no resolver runs', async () => {
    // `explode` would answer INTERNAL_SERVER_ERROR if it ran; only the limit error comes back.
    const deep = await gql(app.url, '{ explode tickets { edges { node { ticketId } } } }');
    expect(deep.body.errors).toEqual([expect.objectContaining({ message: 'query depth 4 exceeds the limit of 3', extensions: { code: 'BAD_USER_INPUT', limit: 'depth', max: 3 } })]);
    const fragmentDeep = await gql(app.url, 'query { explode tickets { ...E } } fragment E on TicketConnection { edges { node { ticketId } } }');
    expect(fragmentDeep.body.errors?.[0]?.extensions).toMatchObject({ limit: 'depth' });

    const aliases = await gql(app.url, '{ explode a: openTicketCount b: openTicketCount c: openTicketCount d: openTicketCount }');
    expect(aliases.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: 'aliases', max: 3 } })]);

    const costly = await gql(app.url, '{ explode tickets { totalCount nodes { ticketId title status openedBy } pageInfo { hasNextPage endCursor } } }');
    expect(costly.body.errors).toEqual([
      expect.objectContaining({ message: 'query complexity 11 exceeds the limit of 10', extensions: { code: 'BAD_USER_INPUT', limit: 'complexity', max: 10, actual: 11 } }),
    ]);
    expect(JSON.stringify([deep.body, aliases.body, costly.body])).not.toContain('INTERNAL_SERVER_ERROR');

    const fine = await gql<{ openTicketCount: number }>(app.url, '{ openTicketCount }');
    expect(fine.body.errors).toBeUndefined();
  });

  it('a variable of the wrong type is BAD_USER_INPUT (the complexity check coerces variables before execution does)', async () => {
    const wrong = await gql(app.url, 'query Page($first: Int) { tickets(first: $first) { totalCount } }', { first: 1.5 });
    expect(wrong.body.errors).toEqual([
      expect.objectContaining({ message: expect.stringContaining('Int cannot represent non-integer value: 1.5') as unknown, extensions: { code: 'BAD_USER_INPUT' } }),
    ]);
    const right = await gql(app.url, 'query Page($first: Int) { tickets(first: $first) { totalCount } }', { first: 1 });
    expect(right.body.errors).toBeUndefined();
  });

  it('introspection is off outside development mode, and on in it', async () => {
    const refused = await gql(app.url, '{ __schema { queryType { name } } }');
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.body.errors?.[0]?.message).toContain('introspection');
    const dev = await startTestApi({ development: true });
    try {
      const allowed = await gql<{ __schema: { queryType: { name: string } } }>(dev.url, '{ __schema { queryType { name } } }');
      expect(allowed.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await dev.close();
    }
  });

  it('a 30-level fragment bomb (2^30 fields once expanded, about 1 kB) is refused over HTTP and WebSocket with its exact cost', async () => {
    // Each fragment spreads the one below it twice. A rule that walks a fragment again at every spread
    // would take 2^30 steps here and never answer within the test's timeout; the checks fold each
    // fragment once.
    let bomb = 'query { ...F30 }\nfragment F0 on Query { __typename }\n';
    for (let level = 1; level <= 30; level++) bomb += `fragment F${level} on Query { ...F${level - 1} ...F${level - 1} }\n`;
    const overHttp = await gql(app.url, bomb);
    expect(overHttp.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: 'complexity', max: 10, actual: 2 ** 30 } }),
    ]);
    const ws = wsClient(app.wsUrl);
    try {
      const overWs = subscribe(ws.client, bomb);
      expect(await overWs.failure()).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: 'complexity', max: 10, actual: 2 ** 30 } })]);
    } finally {
      await ws.dispose();
    }
  });

  it('WebSocket operations get the same limits, plus a cap on subscriptions per connection', async () => {
    const ws = wsClient(app.wsUrl);
    try {
      const tooDeep = subscribe(ws.client, '{ tickets { edges { node { ticketId } } } }');
      expect(await tooDeep.failure()).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: 'depth', max: 3 } })]);
      const tooCostly = subscribe(ws.client, '{ explode tickets { totalCount nodes { ticketId title status openedBy } pageInfo { hasNextPage endCursor } } }');
      expect(await tooCostly.failure()).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', limit: 'complexity', max: 10, actual: 11 } })]);
      const introspection = subscribe(ws.client, 'query { __schema { queryType { name } } }');
      expect(await introspection.failure()).toEqual(
        expect.arrayContaining([expect.objectContaining({ message: expect.stringContaining('introspection'), extensions: { code: 'BAD_USER_INPUT' } })]),
      );

      const one = subscribe(ws.client, 'subscription { ticketChanged(id: "l-1") { ticketId } }');
      const two = subscribe(ws.client, 'subscription { ticketChanged(id: "l-2") { ticketId } }');
      await one.next();
      await two.next();
      const three = subscribe(ws.client, 'subscription { ticketChanged(id: "l-3") { ticketId } }');
      expect(await three.failure()).toEqual([
        expect.objectContaining({ message: 'more than 2 subscriptions on one connection', extensions: { code: 'BAD_USER_INPUT', limit: 'subscriptions', max: 2 } }),
      ]);
      // Ending one makes room again.
      await one.stop();
      const four = subscribe(ws.client, 'subscription { ticketChanged(id: "l-4") { ticketId } }');
      expect((await four.next()).data).toEqual({ ticketChanged: null });
    } finally {
      await ws.dispose();
    }
  });

  it('a slow client is buffered up to the limit, then disconnected with a clear reason, without holding up the others', async () => {
    await gql(app.url, OPEN, { input: { ticketId: 'slow', title: 'start' } }, agent);
    const slow = wsClient(app.wsUrl);
    const healthy = wsClient(app.wsUrl);
    try {
      const slowChanges = subscribe<{ ticketChanged: { title: string } }>(slow.client, 'subscription { ticketChanged(id: "slow") { title } }');
      const healthyChanges = subscribe<{ ticketChanged: { title: string } }>(healthy.client, 'subscription { ticketChanged(id: "slow") { title } }');
      await slowChanges.next();
      await healthyChanges.next();
      // The slow client stops reading from its socket: the kernel buffers fill, then the server's.
      const rawSocket = (slow.socket() as unknown as { _socket: Socket })._socket;
      rawSocket.pause();

      const big = (index: number): string => `${index}:`.padEnd(60_000, 'x');
      const deadline = Date.now() + 30_000;
      let sent = 0;
      const disconnected = (): boolean => app.logger.lines.some((line) => line.message.includes('slow consumer'));
      while (!disconnected() && sent < 600 && Date.now() < deadline) {
        const response = await gql(app.url, RENAME, { input: { ticketId: 'slow', title: big(sent) } }, agent);
        expect(response.body.errors).toBeUndefined();
        sent++;
        // The healthy client keeps up with every change while the slow one falls behind.
        let latest = (await healthyChanges.next()).data!.ticketChanged.title;
        while (latest !== big(sent - 1)) latest = (await healthyChanges.next()).data!.ticketChanged.title;
      }
      expect(disconnected()).toBe(true);

      rawSocket.resume();
      const closed = await slow.closed;
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/^slow consumer: \d+ updates and \d+ bytes waiting \(limits 5, 262144\)$/);
      // The values waited in the live query (a message is sent only once the socket took the one
      // before), so the count of updates is what ran over, not the socket's buffer.
      expect(Number(/(\d+) updates/.exec(closed.reason)![1])).toBe(6);

      // The healthy client is still connected and served.
      await gql(app.url, RENAME, { input: { ticketId: 'slow', title: 'after' } }, agent);
      let latest = (await healthyChanges.next()).data!.ticketChanged.title;
      while (latest !== 'after') latest = (await healthyChanges.next()).data!.ticketChanged.title;
      expect(latest).toBe('after');
    } finally {
      await slow.dispose();
      await healthy.dispose();
    }
  }, 40_000);
});

