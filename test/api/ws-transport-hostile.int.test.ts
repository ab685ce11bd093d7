import WebSocket from 'ws';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';

/** Opens a socket, runs `send` once it is open, and resolves with the close code and reason (or rejects after 10 s). */
function closeOf(url: string, protocol: string | undefined, send: (socket: WebSocket) => void): Promise<{ code: number; reason: string; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = protocol === undefined ? new WebSocket(url) : new WebSocket(url, protocol);
    const messages: string[] = [];
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`the server did not close the socket; messages: ${messages.join(' | ')}`));
    }, 10_000);
    socket.on('message', (data: Buffer) => messages.push(data.toString()));
    socket.once('open', () => send(socket));
    socket.once('error', () => undefined);
    socket.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString(), messages });
    });
  });
}

/**
 * The API's own graphql-ws transport (graphql-ws-transport.ts) against hostile clients: every bad
 * message closes that socket with graphql-ws' protocol code, and the server keeps serving everyone else.
 */
describe('WebSocket transport under hostile input (SQLite, real sockets)', () => {
  let app: TestApi;
  let authorization: string;

  beforeAll(async () => {
    app = await startTestApi();
    authorization = bearer(await token('alice', ['agent'])).authorization!;
  });
  afterAll(() => app.close());

  const init = (socket: WebSocket): void => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));

  it('refuses a socket without the graphql-transport-ws sub-protocol (4406), and fails the handshake for another one', async () => {
    const closed = await closeOf(app.wsUrl, undefined, () => undefined);
    expect(closed.code).toBe(4406);
    // The server answers no sub-protocol, so the client itself aborts the handshake (1006: never opened).
    const other = await closeOf(app.wsUrl, 'not-graphql', () => undefined);
    expect(other.code).toBe(1006);
    expect(other.messages).toEqual([]);
  });

  it('closes with 4400 on a message that is not JSON, and on an unknown message type', async () => {
    expect((await closeOf(app.wsUrl, 'graphql-transport-ws', (socket) => socket.send('{not json'))).code).toBe(4400);
    expect((await closeOf(app.wsUrl, 'graphql-transport-ws', (socket) => socket.send(JSON.stringify({ type: 'drop_tables' })))).code).toBe(4400);
  });

  it('closes with 4401 on a subscribe before connection_init, and with 4429 on a second connection_init', async () => {
    const early = await closeOf(app.wsUrl, 'graphql-transport-ws', (socket) =>
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { ticketChanged(id: "x") { title } }' } })),
    );
    expect(early.code).toBe(4401);
    const twice = await closeOf(app.wsUrl, 'graphql-transport-ws', (socket) => {
      init(socket);
      init(socket);
    });
    expect(twice.code).toBe(4429);
  });

  it('closes with 4409 when a client reuses the id of a running subscription', async () => {
    const query = 'subscription { ticketChanged(id: "hostile-1") { title } }';
    const closed = await closeOf(app.wsUrl, 'graphql-transport-ws', (socket) => {
      init(socket);
      socket.once('message', () => {
        socket.send(JSON.stringify({ id: 'same', type: 'subscribe', payload: { query } }));
        socket.send(JSON.stringify({ id: 'same', type: 'subscribe', payload: { query } }));
      });
    });
    expect(closed.code).toBe(4409);
    expect(closed.messages[0]).toBe(JSON.stringify({ type: 'connection_ack' }));
  });

  it('still serves HTTP and a well-behaved subscriber after all of that', async () => {
    const headers = bearer(await token('alice', ['agent']));
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
    const messages: string[] = [];
    const arrived = new Promise<void>((resolve) => {
      socket.on('message', (data: Buffer) => {
        messages.push(data.toString());
        if (messages.length === 1) socket.send(JSON.stringify({ id: 'ok', type: 'subscribe', payload: { query: 'subscription { ticketChanged(id: "hostile-2") { title } }' } }));
        if (messages.some((message) => message.includes('"Fine"'))) resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    init(socket);
    try {
      const opened = await gql(app.url, `mutation { openTicket(input: { ticketId: "hostile-2", title: "Fine" }, waitFor: ["ticket-board"]) { revision } }`, {}, headers);
      expect(opened.body.errors).toBeUndefined();
      await arrived;
      expect(messages.find((message) => message.includes('"Fine"'))).toBe(JSON.stringify({ id: 'ok', type: 'next', payload: { data: { ticketChanged: { title: 'Fine' } } } }));
    } finally {
      socket.close();
    }
  });
});
