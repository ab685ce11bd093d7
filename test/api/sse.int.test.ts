import { request as httpRequest, type IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import { createClient, type Client, type ExecutionResult } from 'graphql-sse';
import { bearer, gql, JWT_SECRET, startTestApi, token, type TestApi } from './support/test-api';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { revision } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { revision } }`;
const WATCH = `subscription Watch($id: ID!) { ticketChanged(id: $id) { ticketId title } }`;

type Result = ExecutionResult<Record<string, { title?: unknown } | null>, Record<string, unknown>>;

/** graphql-sse's own client, without retries, in one of its two modes. */
function sseClient(url: string, headers: Record<string, string>, singleConnection: boolean): Client {
  // A copy: the client writes the stream token into the headers object it is given.
  return createClient({ url, headers: () => ({ ...headers }), singleConnection, retryAttempts: 0, lazy: true });
}

/** Takes results one at a time, each within a deadline (never a wait for time to pass). */
function stream(client: Client, query: string, variables: Record<string, unknown> = {}): { next(timeoutMs?: number): Promise<IteratorResult<Result>>; stop(): Promise<void> } {
  const iterator = client.iterate<Record<string, unknown>, Record<string, unknown>>({ query, variables })[Symbol.asyncIterator]();
  return {
    next: (timeoutMs = 5_000) => within(iterator.next() as Promise<IteratorResult<Result>>, timeoutMs, 'the next SSE result'),
    stop: async () => {
      await iterator.return?.();
    },
  };
}

for (const how of ['listen', 'mount'] as const) {
  describe(`GraphQL over SSE (graphql-sse's client, API ${how === 'listen' ? 'on its own server' : 'mounted in Express'})`, () => {
    jest.setTimeout(20_000);
    let app: TestApi;
    let agent: Record<string, string>;

    beforeAll(async () => {
      app = await startTestApi({ auth: { mode: 'jwt', secret: JWT_SECRET, clockToleranceSeconds: 0 }, limits: { subscriptionsPerConnection: 2, maxDepth: 3 } }, how);
      agent = bearer(await token('agent-1', ['agent']));
    });
    afterAll(() => app.close());

    for (const singleConnection of [false, true]) {
      const mode = singleConnection ? 'single-connection mode' : 'distinct-connections mode';

      it(`${mode}: a subscription gets the current value, then each committed change from the change feed`, async () => {
        const id = `sse-${how}-${singleConnection}`;
        const client = sseClient(app.url, agent, singleConnection);
        try {
          const watching = stream(client, WATCH, { id });
          expect((await watching.next()).value).toEqual({ data: { ticketChanged: null } });
          expect((await gql(app.url, OPEN, { input: { ticketId: id, title: 'first' } }, agent)).body.errors).toBeUndefined();
          expect((await watching.next()).value).toEqual({ data: { ticketChanged: { ticketId: id, title: 'first' } } });
          await gql(app.url, RENAME, { input: { ticketId: id, title: 'second' } }, agent);
          expect((await watching.next()).value).toEqual({ data: { ticketChanged: { ticketId: id, title: 'second' } } });
          await watching.stop();
          // Queries and mutations run over the same transport, with the caller's identity.
          const rename = stream(client, RENAME, { input: { ticketId: id, title: 'third' } });
          expect((await rename.next()).value).toEqual({ data: { renameTicket: { revision: '2' } } });
        } finally {
          client.dispose();
        }
      });

      it(`${mode}: the API's limits and error formatter apply`, async () => {
        const client = sseClient(app.url, agent, singleConnection);
        try {
          // `explode` would answer INTERNAL_SERVER_ERROR if it ran; only the limit error comes back.
          const deep = stream(client, '{ explode tickets { edges { node { ticketId } } } }');
          expect((await deep.next()).value).toEqual({
            errors: [{ message: 'query depth 4 exceeds the limit of 3', extensions: { code: 'BAD_USER_INPUT', limit: 'depth', max: 3 } }],
          });
        } finally {
          client.dispose();
        }
      });
    }

    it('a plain POST subscription (no event stream) is still refused', async () => {
      const response = await gql(app.url, WATCH, { id: 'plain' }, agent);
      expect(response.status).toBe(400);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('a bad token is refused with 401 before any stream opens, in both modes', async () => {
      const distinct = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: 'Bearer not-a-jwt' },
        body: JSON.stringify({ query: WATCH, variables: { id: 'x' } }),
      });
      expect(distinct.status).toBe(401);
      expect(((await distinct.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      const reserve = await fetch(app.url, { method: 'PUT', headers: { authorization: 'Bearer not-a-jwt' } });
      expect(reserve.status).toBe(401);
    });

    it("single-connection mode: another user cannot read or use someone else's stream", async () => {
      const reserve = await fetch(app.url, { method: 'PUT', headers: agent });
      expect(reserve.status).toBe(201);
      const streamToken = await reserve.text();
      const intruder = bearer(await token('intruder', ['agent']));
      const read = await fetch(app.url, { headers: { ...intruder, accept: 'text/event-stream', 'x-graphql-event-stream-token': streamToken } });
      expect(read.status).toBe(404);
      const post = await fetch(app.url, {
        method: 'POST',
        headers: { ...intruder, 'content-type': 'application/json', 'x-graphql-event-stream-token': streamToken },
        body: JSON.stringify({ query: WATCH, variables: { id: 'x' }, extensions: { operationId: '1' } }),
      });
      expect(post.status).toBe(404);
    });

    it('single-connection mode: at most `subscriptionsPerConnection` operations on one stream', async () => {
      const client = sseClient(app.url, agent, true);
      try {
        const first = stream(client, WATCH, { id: 'limit-1' });
        const second = stream(client, WATCH, { id: 'limit-2' });
        expect((await first.next()).value).toEqual({ data: { ticketChanged: null } });
        expect((await second.next()).value).toEqual({ data: { ticketChanged: null } });
        const third = stream(client, WATCH, { id: 'limit-3' });
        const refused = (await third.next()).value as Result;
        expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', limit: 'subscriptions', max: 2 } });
        // Stopping one frees its place.
        await first.stop();
        const fourth = stream(client, WATCH, { id: 'limit-4' });
        await expect(fourthFirst(fourth)).resolves.toEqual({ data: { ticketChanged: null } });
      } finally {
        client.dispose();
      }
    });

    for (const singleConnection of [false, true]) {
      it(`${singleConnection ? 'single-connection' : 'distinct-connections'} mode: a subscription ends at its token's expiry with UNAUTHENTICATED`, async () => {
        const jwt = await token('short-lived', ['agent'], { expiresIn: '3s' });
        const expiresAt = decodeJwt(jwt).exp! * 1000;
        const client = sseClient(app.url, bearer(jwt), singleConnection);
        try {
          const watching = stream(client, WATCH, { id: `expiry-${singleConnection}` });
          expect((await watching.next()).value).toEqual({ data: { ticketChanged: null } });
          try {
            const last = await watching.next(expiresAt - Date.now() + 3_000);
            expect(last.value).toEqual({ errors: [{ message: 'the token has expired', extensions: { code: 'UNAUTHENTICATED' } }] });
            expect((await watching.next()).done).toBe(true);
          } catch (error) {
            // A single-connection stream also ends at the expiry of the token that reserved it; which of
            // the two the client sees first is a race. A distinct stream always gets the result.
            if (!singleConnection) throw error;
          }
          expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
          // The same token is refused afterwards.
          const again = await fetch(app.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${jwt}` },
            body: JSON.stringify({ query: WATCH, variables: { id: 'x' } }),
          });
          expect(again.status).toBe(401);
        } finally {
          client.dispose();
        }
      });
    }
  });
}

async function fourthFirst(subscription: { next(): Promise<IteratorResult<Result>> }): Promise<Result> {
  return (await subscription.next()).value as Result;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

describe('GraphQL over SSE at shutdown', () => {
  jest.setTimeout(20_000);

  it('api.close() ends open event streams in both modes at once, without waiting for the drain deadline', async () => {
    const app = await startTestApi({ auth: { mode: 'off' } });
    const distinct = sseClient(app.url, {}, false);
    const single = sseClient(app.url, {}, true);
    try {
      const streams = [stream(distinct, WATCH, { id: 'shutdown-1' }), stream(single, WATCH, { id: 'shutdown-2' })];
      for (const each of streams) expect((await each.next()).value).toEqual({ data: { ticketChanged: null } });
      const ended = streams.map((each) =>
        each.next(10_000).then(
          (next) => next.done,
          (error: Error) => (error.message.startsWith('timed out') ? 'still open' : 'ended by the server'),
        ),
      );
      const started = Date.now();
      await app.api.close({ timeoutMs: 8_000 });
      // Streams end as shutdown starts; the drain does not wait for its deadline (8 s) to cut them.
      expect(Date.now() - started).toBeLessThan(4_000);
      // Each stream ends, completed or cut by the server (as WebSockets are closed with 1001): none stays open.
      for (const outcome of await Promise.all(ended)) expect([true, 'ended by the server']).toContain(outcome);
    } finally {
      distinct.dispose();
      single.dispose();
      await app.close();
    }
  });
});

describe('a slow SSE client', () => {
  jest.setTimeout(60_000);

  it('is buffered up to the limit, then cut with the reason logged, without holding up the others', async () => {
    const app = await startTestApi({ auth: { mode: 'off' }, limits: { subscriptionBuffer: 5, socketBufferBytes: 256 * 1024 } });
    const healthy = sseClient(app.url, {}, false);
    try {
      await gql(app.url, OPEN, { input: { ticketId: 'slow', title: 'start' } });
      // The slow client: a raw event stream whose reader stops reading after the first value.
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        const body = JSON.stringify({ query: 'subscription { ticketChanged(id: "slow") { title } }' });
        const request = httpRequest(app.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } });
        request.once('error', reject);
        request.once('response', resolve);
        request.end(body);
      });
      // (A for-await loop would destroy the response when left.)
      await new Promise<void>((resolve) => {
        let firstValue = '';
        const onData = (chunk: Buffer): void => {
          firstValue += chunk.toString();
          if (!firstValue.includes('event: next')) return;
          response.off('data', onData);
          response.pause();
          resolve();
        };
        response.on('data', onData);
      });
      const cut = new Promise<void>((resolve) => response.socket.once('close', () => resolve()));
      response.socket.pause();
      const healthyChanges = stream(healthy, 'subscription { ticketChanged(id: "slow") { title } }');
      await healthyChanges.next();

      const big = (index: number): string => `${index}:`.padEnd(60_000, 'x');
      const deadline = Date.now() + 40_000;
      let sent = 0;
      const disconnected = (): boolean => app.logger.lines.some((line) => line.message.startsWith('closing an event stream (1008): slow consumer'));
      while (!disconnected() && sent < 600 && Date.now() < deadline) {
        expect((await gql(app.url, RENAME, { input: { ticketId: 'slow', title: big(sent) } })).body.errors).toBeUndefined();
        sent++;
        // The healthy client keeps up with every change while the slow one falls behind.
        let latest = '';
        while (latest !== big(sent - 1)) latest = ((await healthyChanges.next()).value as Result).data!.ticketChanged!.title as string;
      }
      expect(disconnected()).toBe(true);
      // Reading again, the slow client takes what the kernel held and finds its stream cut.
      response.socket.resume();
      response.resume();
      await within(cut, 5_000, 'the slow stream to be cut');
      await gql(app.url, RENAME, { input: { ticketId: 'slow', title: 'after' } });
      let latest = '';
      while (latest !== 'after') latest = ((await healthyChanges.next()).value as Result).data!.ticketChanged!.title as string;
      expect(latest).toBe('after');
    } finally {
      healthy.dispose();
      await app.close();
    }
  });
});
