import { documentSubscription, type ApiContext } from '../../src/api';
import { ticketBoard } from './app/ticket-board.projection';
import { TicketView, ticketResolvers } from './app/ticket.graphql';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input, waitFor: ["ticket-board"]) { revision } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { revision } }`;

/**
 * Pushes are executed once per change for subscribers that see the same thing (shared-execution.ts);
 * these check that subscribers who must see different things still do, over real WebSockets.
 */
describe('shared pushes keep per-subscriber views (SQLite, real WebSockets)', () => {
  let app: TestApi;

  beforeAll(async () => {
    // A subscription whose view depends on the subscriber: only the opener sees the ticket, with their id in the title.
    const forViewer = documentSubscription({
      name: 'ticketForViewer',
      projection: ticketBoard,
      collection: 'tickets',
      type: TicketView,
      canSee: (doc, context: ApiContext) => doc.openedBy === context.user?.id,
      toView: (doc, context: ApiContext) => ({ ...doc, title: `${doc.title} (for ${context.user?.id ?? '?'})` }),
    });
    // A view that fails for one title: the failure is pushed as a formatted error.
    const fragile = documentSubscription({
      name: 'fragileTicket',
      projection: ticketBoard,
      collection: 'tickets',
      type: TicketView,
      toView: (doc) => {
        if (doc.title === 'boom') throw new Error('secret internals');
        return doc;
      },
    });
    app = await startTestApi({ resolvers: [...ticketResolvers(), forViewer, fragile] });
  });
  afterAll(() => app.close());

  it('canSee and toView still decide per subscriber when many follow the same document', async () => {
    const alice = { authorization: `Bearer ${await token('alice', ['agent'])}` };
    const bob = { authorization: `Bearer ${await token('bob', ['agent'])}` };
    const opened = await gql(app.url, OPEN, { input: { ticketId: 'v-1', title: 'First' } }, bearer(alice.authorization.slice(7)));
    expect(opened.body.errors).toBeUndefined();
    const carol = { authorization: `Bearer ${await token('carol', ['admin'])}` };
    const clients = [wsClient(app.wsUrl, alice), wsClient(app.wsUrl, alice), wsClient(app.wsUrl, bob), wsClient(app.wsUrl, carol)];
    try {
      const query = 'subscription { ticketForViewer(id: "v-1") { title } }';
      const [alice1, alice2, bobs, carols] = clients.map((client) =>
        subscribe<{ ticketForViewer: { title: string } | null }>(client.client, query),
      );
      const plain = subscribe<{ ticketChanged: { title: string } | null }>(clients[2]!.client, 'subscription { ticketChanged(id: "v-1") { title } }');
      expect((await alice1!.next()).data).toEqual({ ticketForViewer: { title: 'First (for alice)' } });
      expect((await alice2!.next()).data).toEqual({ ticketForViewer: { title: 'First (for alice)' } });
      expect((await bobs!.next()).data).toEqual({ ticketForViewer: null });
      expect((await carols!.next()).data).toEqual({ ticketForViewer: null });
      expect((await plain.next()).data).toEqual({ ticketChanged: { title: 'First' } });

      const renamed = await gql(app.url, RENAME, { input: { ticketId: 'v-1', title: 'Second' } }, bearer(alice.authorization.slice(7)));
      expect(renamed.body.errors).toBeUndefined();
      expect((await alice1!.next()).data).toEqual({ ticketForViewer: { title: 'Second (for alice)' } });
      expect((await alice2!.next()).data).toEqual({ ticketForViewer: { title: 'Second (for alice)' } });
      // Bob and Carol still may not see it: their null is not sent again (can-see-subscription.int.test.ts).
      expect((await plain.next()).data).toEqual({ ticketChanged: { title: 'Second' } });
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });

  it('an error while executing a pushed value reaches every subscriber formatted (masked, with a code), and is logged', async () => {
    const alice = bearer(await token('alice', ['agent']));
    await gql(app.url, OPEN, { input: { ticketId: 'f-1', title: 'fine' } }, alice);
    const clients = [wsClient(app.wsUrl, alice), wsClient(app.wsUrl, alice)];
    try {
      const streams = clients.map((client) => subscribe<{ fragileTicket: { title: string } | null }>(client.client, 'subscription { fragileTicket(id: "f-1") { title } }'));
      for (const stream of streams) expect((await stream.next()).data).toEqual({ fragileTicket: { title: 'fine' } });
      await gql(app.url, RENAME, { input: { ticketId: 'f-1', title: 'boom' } }, alice);
      for (const stream of streams) {
        const result = await stream.next();
        expect(result.errors).toEqual([expect.objectContaining({ message: 'Internal server error', extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }) })]);
        expect(JSON.stringify(result)).not.toContain('secret internals');
      }
      expect(app.logger.lines.some((line) => line.level === 'error' && line.message.includes('unexpected error'))).toBe(true);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });

  it('a query over WebSocket whose resolver fails answers a formatted error too', async () => {
    const client = wsClient(app.wsUrl, bearer(await token('alice', ['agent'])));
    try {
      const result = await subscribe(client.client, '{ explode }').next();
      expect(result.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }) })]);
      expect(result.errors![0]!.message).toBe('Internal server error');
    } finally {
      await client.dispose();
    }
  });
});
