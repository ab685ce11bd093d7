import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { ticket } from './app/ticket';
import { bearer, gql, JWT_SECRET, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient, type Closed } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input, waitFor: ["ticket-board"]) { revision } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { revision } }`;

/** A token that expires 2 to 3 seconds from now, and when (ms since the epoch). */
async function shortLivedToken(subject: string): Promise<{ jwt: string; expiresAt: number }> {
  const jwt = await token(subject, ['agent'], { expiresIn: '3s' });
  return { jwt, expiresAt: decodeJwt(jwt).exp! * 1000 };
}

/**
 * A WebSocket connection lives no longer than the token it was opened with: at the token's expiry the
 * server closes it with 4403 (graphql-ws's Forbidden). Without clock tolerance here, so that expiry is `exp`.
 */
describe('WebSocket connections end when their token expires (real graphql-ws clients)', () => {
  jest.setTimeout(20_000);
  let app: TestApi;

  beforeAll(async () => {
    app = await startTestApi({ auth: { mode: 'jwt', secret: JWT_SECRET, clockToleranceSeconds: 0 } });
  });
  afterAll(() => app.close());

  it('an operation sent after exp is refused and writes nothing', async () => {
    const { jwt, expiresAt } = await shortLivedToken('short-lived');
    const ws = wsClient(app.wsUrl, bearer(jwt));
    try {
      // A live subscription keeps the (lazy) client's connection open; its first value says it is up.
      const watching = subscribe<{ ticketChanged: unknown }>(ws.client, 'subscription { ticketChanged(id: "after-exp") { title } }');
      expect((await watching.next()).data).toEqual({ ticketChanged: null });
      // The connection is closed at the token's expiry (a deadline well past it, not a sleep).
      const closed: Closed = await within(ws.closed, expiresAt - Date.now() + 3_000, 'the connection to close at the token expiry');
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
      expect(closed.code).toBe(4403);
      expect(closed.reason).toMatch(/^UNAUTHENTICATED: .*expired/);

      // The same client, the same (now expired) token: the mutation is refused, and nothing is written.
      const late = subscribe(ws.client, OPEN, { input: { ticketId: 'after-exp', title: 'too late' } });
      expect(await late.failure()).toMatchObject({ code: 4403 });
      const stored: unknown[] = [];
      for await (const event of app.eventStore.readStream(ticket.streamName('after-exp'))) stored.push(event);
      expect(stored).toEqual([]);
      const read = await gql<{ ticket: unknown }>(app.url, '{ ticket(id: "after-exp") { title } }');
      expect(read.body.data).toEqual({ ticket: null });
    } finally {
      await ws.dispose();
    }
  });

  it('an operation already on its way when the token expires is refused, not executed', async () => {
    const { jwt, expiresAt } = await shortLivedToken('in-flight');
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
    const messages: { type: string; id?: string }[] = [];
    let wake = (): void => undefined;
    socket.on('message', (data: Buffer) => {
      messages.push(JSON.parse(data.toString()) as { type: string; id?: string });
      wake();
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
    try {
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${jwt}` } }));
      await within(new Promise<void>((resolve) => (wake = () => messages.some((message) => message.type === 'connection_ack') && resolve())), 5_000, 'connection_ack');
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: OPEN, variables: { input: { ticketId: 'in-flight', title: 'late' } } } }));
      // Client and server share this process: holding its event loop until past the expiry makes the
      // server read the mutation only after the token expired (the race a busy server meets). This is
      // the token's expiry itself being waited for, not a stand-in for an event.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, expiresAt - Date.now() + 50));
      expect(await within(closed, 5_000, 'the close at expiry')).toBe(4403);
      expect(messages.filter((message) => message.id === '1' && message.type === 'next')).toEqual([]);

      // Nothing was written: the same ticket opens afterwards, and its only event is that one.
      const opener = bearer(await token('opener', ['agent']));
      const opened = await gql(app.url, OPEN, { input: { ticketId: 'in-flight', title: 'on time' } }, opener);
      expect(opened.body.errors).toBeUndefined();
      const stored: { metadata: Record<string, unknown> }[] = [];
      for await (const event of app.eventStore.readStream(ticket.streamName('in-flight'))) stored.push(event);
      expect(stored.map((event) => event.metadata.userId)).toEqual(['opener']);
    } finally {
      socket.terminate();
    }
  });

  it('a live subscription delivers until exp, then stops: the connection is closed with 4403', async () => {
    const opener = bearer(await token('opener', ['agent']));
    expect((await gql(app.url, OPEN, { input: { ticketId: 'live-exp', title: 'one' } }, opener)).body.errors).toBeUndefined();
    const { jwt, expiresAt } = await shortLivedToken('watcher');
    const ws = wsClient(app.wsUrl, bearer(jwt));
    try {
      const changes = subscribe<{ ticketChanged: { title: string } | null }>(ws.client, 'subscription { ticketChanged(id: "live-exp") { title } }');
      expect((await changes.next()).data).toEqual({ ticketChanged: { title: 'one' } });
      expect((await gql(app.url, RENAME, { input: { ticketId: 'live-exp', title: 'two' } }, opener)).body.errors).toBeUndefined();
      expect((await changes.next()).data).toEqual({ ticketChanged: { title: 'two' } });

      // Nothing more arrives: the subscription fails with the close at expiry.
      const failure = await changes.failure(expiresAt - Date.now() + 3_000);
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
      expect(failure).toMatchObject({ code: 4403 });
      expect((await ws.closed).code).toBe(4403);
    } finally {
      await ws.dispose();
    }
  });
});

function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
