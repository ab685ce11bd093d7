import WebSocket from 'ws';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input, waitFor: ["ticket-board"]) { revision } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { revision } }`;

/** A raw graphql-transport-ws connection that keeps every text message it receives, unparsed. */
async function rawConnection(url: string, authorization: string): Promise<{ socket: WebSocket; messages: string[]; waitFor: (count: number) => Promise<void> }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString());
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waitFor = (count: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (messages.length < count) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`waited for ${count} messages, got ${messages.length}: ${messages.join(' | ')}`));
      }, 10_000);
      waiters.add(check);
      check();
    });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
  await waitFor(1);
  expect(JSON.parse(messages[0]!)).toEqual({ type: 'connection_ack' });
  return { socket, messages, waitFor };
}

/**
 * A change pushed to many subscribers of one document is serialised once (shared-frames.ts): each
 * socket still gets exactly the message graphql-ws would have sent it, with its own operation id.
 */
describe('shared push frames (SQLite, real WebSockets)', () => {
  let app: TestApi;

  beforeAll(async () => {
    app = await startTestApi();
  });
  afterAll(() => app.close());

  it('every subscriber gets the same payload under its own id, serialised once for all of them', async () => {
    const headers = bearer(await token('alice', ['agent']));
    expect((await gql(app.url, OPEN, { input: { ticketId: 'frame-1', title: 'First' } }, headers)).body.errors).toBeUndefined();
    const query = 'subscription { ticketChanged(id: "frame-1") { title } }';
    // Two connections using the same id, and ids that need escaping, on one connection with two operations.
    const ids = [['1'], ['1'], ['quote"and\\slash', 'über-2']];
    const connections = await Promise.all(ids.map(() => rawConnection(app.wsUrl, headers.authorization!)));
    try {
      connections.forEach((connection, index) => {
        for (const id of ids[index]!) connection.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
      });
      const expected = (id: string, title: string): string => JSON.stringify({ id, type: 'next', payload: { data: { ticketChanged: { title } } } });
      await Promise.all(connections.map((connection, index) => connection.waitFor(1 + ids[index]!.length)));
      connections.forEach((connection, index) => {
        expect(connection.messages.slice(1).sort()).toEqual(ids[index]!.map((id) => expected(id, 'First')).sort());
      });

      const stringify = jest.spyOn(JSON, 'stringify');
      let serialisedSecond: number;
      try {
        expect((await gql(app.url, RENAME, { input: { ticketId: 'frame-1', title: 'Second' } }, headers)).body.errors).toBeUndefined();
        await Promise.all(connections.map((connection, index) => connection.waitFor(1 + 2 * ids[index]!.length)));
        serialisedSecond = stringify.mock.results.filter((result) => typeof result.value === 'string' && result.value.includes('"ticketChanged":{"title":"Second"}')).length;
      } finally {
        stringify.mockRestore();
      }
      connections.forEach((connection, index) => {
        expect(connection.messages.slice(1 + ids[index]!.length).sort()).toEqual(ids[index]!.map((id) => expected(id, 'Second')).sort());
      });
      // Four subscribers, one serialisation of the pushed value (graphql-ws alone would make four).
      expect(serialisedSecond).toBe(1);
    } finally {
      for (const connection of connections) connection.socket.terminate();
    }
  });
});
