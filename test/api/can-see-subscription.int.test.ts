import { documentSubscription, type ApiContext } from '../../src/api';
import { ticketBoard } from './app/ticket-board.projection';
import { TicketView, ticketResolvers } from './app/ticket.graphql';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input, waitFor: ["ticket-board"]) { revision } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input, waitFor: ["ticket-board"]) { revision } }`;

type Pushed = { ticketIfVisible: { title: string } | null };

/** A `canSee` subscription sends what its subscriber may see: a hidden document's changes send nothing. */
describe('a canSee subscription (SQLite, real WebSockets)', () => {
  let app: TestApi;

  beforeAll(async () => {
    // The opener always sees the ticket; anyone else only once its title is public.
    const ticketIfVisible = documentSubscription({
      name: 'ticketIfVisible',
      projection: ticketBoard,
      collection: 'tickets',
      type: TicketView,
      canSee: (doc, context: ApiContext) => doc.openedBy === context.user?.id || doc.title.startsWith('public'),
    });
    app = await startTestApi({ resolvers: [...ticketResolvers(), ticketIfVisible] });
  });
  afterAll(() => app.close());

  it('a subscriber who cannot see the document gets null once, nothing while it changes, then the value once visible', async () => {
    const alice = bearer(await token('alice', ['agent']));
    const bob = bearer(await token('bob', ['agent']));
    expect((await gql(app.url, OPEN, { input: { ticketId: 'hidden-1', title: 'secret 0' } }, alice)).body.errors).toBeUndefined();
    const clients = [wsClient(app.wsUrl, alice), wsClient(app.wsUrl, bob)];
    try {
      const query = 'subscription { ticketIfVisible(id: "hidden-1") { title } }';
      const [alices, bobs] = clients.map((client) => subscribe<Pushed>(client.client, query));
      expect((await alices!.next()).data).toEqual({ ticketIfVisible: { title: 'secret 0' } });
      expect((await bobs!.next()).data).toEqual({ ticketIfVisible: null });

      for (const title of ['secret 1', 'secret 2', 'secret 3']) {
        expect((await gql(app.url, RENAME, { input: { ticketId: 'hidden-1', title } }, alice)).body.errors).toBeUndefined();
        // The opener sees every change: the changes did reach the subscriptions.
        expect((await alices!.next()).data).toEqual({ ticketIfVisible: { title } });
      }
      expect((await gql(app.url, RENAME, { input: { ticketId: 'hidden-1', title: 'public 4' } }, alice)).body.errors).toBeUndefined();
      // The marker: the first value Bob gets after his null is the visible one; no repeated null came before it.
      expect((await bobs!.next()).data).toEqual({ ticketIfVisible: { title: 'public 4' } });
      expect((await alices!.next()).data).toEqual({ ticketIfVisible: { title: 'public 4' } });

      // Hidden again: one null, which is news to Bob (he saw the ticket), then nothing until it changes for him.
      for (const title of ['secret 5', 'secret 6', 'public 7']) {
        expect((await gql(app.url, RENAME, { input: { ticketId: 'hidden-1', title } }, alice)).body.errors).toBeUndefined();
        expect((await alices!.next()).data).toEqual({ ticketIfVisible: { title } });
      }
      expect((await bobs!.next()).data).toEqual({ ticketIfVisible: null });
      expect((await bobs!.next()).data).toEqual({ ticketIfVisible: { title: 'public 7' } });
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});
