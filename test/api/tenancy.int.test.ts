import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStore, defineReactor, NonRetryableError, Position, ReactorRunner, type EventStore, type ReadModelStore } from '../../src';
import { ticket } from './app/ticket';
import { PostgresReadModelStore } from '../../src/backends/postgres';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { testDatabase } from '../support/postgres';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient, type TestClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input, waitFor: ["ticket-board"]) { streamName correlationId position } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input, waitFor: ["ticket-board"]) { streamName position } }`;
const TICKET = `query Ticket($id: ID!) { ticket(id: $id) { ticketId title openedBy } }`;
const TICKETS = `{ tickets(first: 50) { totalCount nodes { ticketId title openedBy } } }`;
const OPEN_COUNT = `{ openTicketCount }`;

type Headers = Record<string, string>;
type TicketNode = { ticketId: string; title: string; openedBy: string };

/** What a backend gives the suite: a store and read models of its own, and how to drop them. */
interface TenancyBackend {
  readonly eventStore: EventStore;
  readonly readModels: ReadModelStore;
  close(): Promise<void>;
}

async function eventCount(eventStore: EventStore): Promise<number> {
  let count = 0;
  for await (const _event of eventStore.readAll()) count++;
  return count;
}

/**
 * "Tenants are walls" over real HTTP and WebSocket, on one backend: tenant B can neither read, change,
 * subscribe to nor audit what tenant A owns, even when it names A's ids.
 */
function tenancyContract(backendName: string, connect: () => Promise<TenancyBackend>): void {
  describe(`tenancy on ${backendName}: tenants are walls`, () => {
    let backend: TenancyBackend;
    let app: TestApi;
    let runner: ReactorRunner;
    let alice: Headers;
    let bob: Headers;
    let noTenant: Headers;
    let operator: Headers;

    async function open(ticketId: string, title: string, headers: Headers): Promise<{ streamName: string; correlationId: string }> {
      const response = await gql<{ openTicket: { streamName: string; correlationId: string } }>(app.url, OPEN, { input: { ticketId, title } }, headers);
      expect(response.body.errors).toBeUndefined();
      return response.body.data!.openTicket;
    }

    async function ticketOf(id: string, headers: Headers): Promise<TicketNode | null | undefined> {
      const response = await gql<{ ticket: TicketNode | null }>(app.url, TICKET, { id }, headers);
      expect(response.body.errors).toBeUndefined();
      return response.body.data?.ticket;
    }

    beforeAll(async () => {
      backend = await connect();
      // A reactor: a ticket titled "escalate" gets a follow-up ticket; titles with "poison" are parked.
      const followUp = defineReactor({
        name: 'follow-up',
        filter: { eventTypes: ['TicketOpened'] },
        retry: { maxAttempts: 1 },
        handle: async (event, context) => {
          const data = event.data as { ticketId: string; title: string };
          if (data.title.includes('poison')) throw new NonRetryableError(`cannot follow up on ${data.title}`);
          if (data.title === 'escalate') {
            const ticketId = `${data.ticketId}-follow-up`;
            await context.send(ticket, { streamName: ticket.streamName(ticketId), command: { type: 'OpenTicket', data: { ticketId, title: 'follow-up' } } });
          }
        },
      });
      runner = await ReactorRunner.start({ store: backend.eventStore, reactors: [followUp] });
      app = await startTestApi({
        eventStore: backend.eventStore,
        readModels: backend.readModels,
        reactors: runner,
        tenancy: { mode: 'required', operatorRoles: ['operator'] },
      });
      alice = bearer(await token('alice', ['agent', 'admin'], { tenantId: 'acme' }));
      bob = bearer(await token('bob', ['agent', 'admin'], { tenantId: 'globex' }));
      noTenant = bearer(await token('carol', ['agent', 'admin']));
      operator = bearer(await token('olga', ['admin', 'operator']));
      await open('t-1', 'acme secret', alice);
    }, 60_000);

    afterAll(async () => {
      await runner?.stop();
      await app?.close();
      await backend?.close();
    });

    it('B reads neither A’s ticket by key nor any of A’s tickets in a list or a count; A reads its own', async () => {
      expect(await ticketOf('t-1', bob)).toBeNull();
      expect(await ticketOf('t-1', alice)).toEqual({ ticketId: 't-1', title: 'acme secret', openedBy: 'alice' });

      await open('g-1', 'globex own', bob);
      const bobsList = await gql<{ tickets: { totalCount: number; nodes: TicketNode[] } }>(app.url, TICKETS, {}, bob);
      expect(bobsList.body.errors).toBeUndefined();
      expect(bobsList.body.data!.tickets.nodes.map((node) => node.title)).toEqual(['globex own']);
      expect(bobsList.body.data!.tickets.totalCount).toBe(1);
      const alicesList = await gql<{ tickets: { nodes: TicketNode[] } }>(app.url, TICKETS, {}, alice);
      expect(alicesList.body.data!.tickets.nodes.map((node) => node.title)).not.toContain('globex own');
      expect(alicesList.body.data!.tickets.nodes.map((node) => node.title)).toContain('acme secret');

      // A hand-written resolver reading through the tenant's documents counts only the caller's tickets.
      const bobsCount = await gql<{ openTicketCount: number }>(app.url, OPEN_COUNT, {}, bob);
      expect(bobsCount.body.data).toEqual({ openTicketCount: 1 });
    });

    it('B renaming A’s ticket gets NOT_FOUND and writes nothing; A’s ticket stays as it was', async () => {
      const before = await eventCount(backend.eventStore);
      const response = await gql(app.url, RENAME, { input: { ticketId: 't-1', title: 'hijacked' } }, bob);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(response.body.data ?? null).toBeNull();
      expect(await eventCount(backend.eventStore)).toBe(before);
      expect(await ticketOf('t-1', alice)).toEqual({ ticketId: 't-1', title: 'acme secret', openedBy: 'alice' });
    });

    it('B may use the same ticket id as A: each tenant gets its own stream and document, neither touches the other', async () => {
      const receipt = await open('t-1', 'globex t-1', bob);
      // The receipt names the stream as the caller named it, not how it is stored.
      expect(receipt.streamName).toBe('ticket-t-1');
      expect(await ticketOf('t-1', bob)).toEqual({ ticketId: 't-1', title: 'globex t-1', openedBy: 'bob' });
      expect(await ticketOf('t-1', alice)).toEqual({ ticketId: 't-1', title: 'acme secret', openedBy: 'alice' });

      const renamed = await gql(app.url, RENAME, { input: { ticketId: 't-1', title: 'globex renamed' } }, bob);
      expect(renamed.body.errors).toBeUndefined();
      expect(await ticketOf('t-1', alice)).toEqual({ ticketId: 't-1', title: 'acme secret', openedBy: 'alice' });
      expect((await ticketOf('t-1', bob))?.title).toBe('globex renamed');
    });

    it('a command id is the tenant’s own: B reusing A’s command id runs B’s command, and A’s retry still gets A’s receipt', async () => {
      const OPEN_WITH_ID = `mutation Open($input: OpenTicketInput!, $commandId: ID) { openTicket(input: $input, commandId: $commandId) { commandId streamName revision position } }`;
      type Receipt = { commandId: string; streamName: string; revision: string; position: string };
      const first = await gql<{ openTicket: Receipt }>(app.url, OPEN_WITH_ID, { input: { ticketId: 'i-1', title: 'acme idem' }, commandId: 'cmd-1' }, alice);
      expect(first.body.errors).toBeUndefined();
      expect(first.body.data!.openTicket.commandId).toBe('cmd-1');
      const bobs = await gql<{ openTicket: Receipt }>(app.url, OPEN_WITH_ID, { input: { ticketId: 'i-2', title: 'globex idem' }, commandId: 'cmd-1' }, bob);
      expect(bobs.body.errors).toBeUndefined();
      expect(bobs.body.data!.openTicket).toEqual(expect.objectContaining({ commandId: 'cmd-1', streamName: 'ticket-i-2', revision: '0' }));
      const retried = await gql<{ openTicket: Receipt }>(app.url, OPEN_WITH_ID, { input: { ticketId: 'i-1', title: 'acme idem' }, commandId: 'cmd-1' }, alice);
      expect(retried.body.data!.openTicket).toEqual(first.body.data!.openTicket);

      // Without a command id the receipt's generated id is one a retry can send back.
      const generated = await gql<{ openTicket: Receipt }>(app.url, OPEN_WITH_ID, { input: { ticketId: 'i-3', title: 'acme generated' } }, alice);
      const again = await gql<{ openTicket: Receipt }>(
        app.url,
        OPEN_WITH_ID,
        { input: { ticketId: 'i-3', title: 'acme generated' }, commandId: generated.body.data!.openTicket.commandId },
        alice,
      );
      expect(again.body.errors).toBeUndefined();
      expect(again.body.data!.openTicket).toEqual(generated.body.data!.openTicket);
    });

    it('a caller without a tenant is refused (anonymous: UNAUTHENTICATED, no tenant claim: FORBIDDEN) and nothing is written', async () => {
      const before = await eventCount(backend.eventStore);
      const anonymous = await gql(app.url, TICKET, { id: 't-1' });
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const read = await gql(app.url, TICKET, { id: 't-1' }, noTenant);
      expect(read.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const write = await gql(app.url, OPEN, { input: { ticketId: 'n-1', title: 'no tenant' } }, noTenant);
      expect(write.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await eventCount(backend.eventStore)).toBe(before);
    });

    describe('over WebSocket', () => {
      let bobSocket: TestClient;
      let aliceSocket: TestClient;

      beforeEach(() => {
        bobSocket = wsClient(app.wsUrl, { authorization: bob.authorization });
        aliceSocket = wsClient(app.wsUrl, { authorization: alice.authorization });
      });
      afterEach(async () => {
        await bobSocket.dispose();
        await aliceSocket.dispose();
      });

      it('B’s subscription to A’s ticket gets null and never A’s data, even when A’s ticket changes', async () => {
        await open('s-1', 'acme live', alice);
        const query = 'subscription { ticketChanged(id: "s-1") { ticketId title } }';
        const bobs = subscribe<{ ticketChanged: { title: string } | null }>(bobSocket.client, query);
        const alices = subscribe<{ ticketChanged: { title: string } | null }>(aliceSocket.client, query);
        expect((await bobs.next()).data).toEqual({ ticketChanged: null });
        expect((await alices.next()).data).toEqual({ ticketChanged: { ticketId: 's-1', title: 'acme live' } });

        await gql(app.url, RENAME, { input: { ticketId: 's-1', title: 'acme changed' } }, alice);
        expect((await alices.next()).data).toEqual({ ticketChanged: { ticketId: 's-1', title: 'acme changed' } });
        // B's own s-1 commits after A's change: B's next value is its own ticket, so nothing of A's came before it.
        await open('s-1', 'globex live', bob);
        expect((await bobs.next()).data).toEqual({ ticketChanged: { ticketId: 's-1', title: 'globex live' } });
        await bobs.stop();
        await alices.stop();
      });

      it('B’s list subscription never lists A’s tickets, even when A’s tickets change', async () => {
        const bobs = subscribe<{ ticketsChanged: TicketNode[] }>(bobSocket.client, 'subscription { ticketsChanged { ticketId title openedBy } }');
        const first = (await bobs.next()).data!.ticketsChanged;
        expect(first.every((node) => node.openedBy === 'bob')).toBe(true);
        expect(first.length).toBeGreaterThan(0);

        await open('l-1', 'acme listed', alice);
        await open('l-2', 'globex listed', bob);
        const next = (await bobs.next()).data!.ticketsChanged;
        expect(next.map((node) => node.title)).toContain('globex listed');
        expect(next.every((node) => node.openedBy === 'bob')).toBe(true);
        await bobs.stop();
      });

      it('a WebSocket caller without a tenant claim cannot subscribe', async () => {
        const socket = wsClient(app.wsUrl, { authorization: noTenant.authorization });
        try {
          const refused = subscribe(socket.client, 'subscription { ticketChanged(id: "t-1") { title } }');
          const result = await refused.next();
          expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
          expect(result.data ?? null).toBeNull();
        } finally {
          await socket.dispose();
        }
      });
    });

    describe('reactors and the admin API', () => {
      it('a reactor’s follow-up command lands in the triggering event’s tenant: A sees the follow-up, B does not', async () => {
        const socket = wsClient(app.wsUrl, { authorization: alice.authorization });
        const bobSocket = wsClient(app.wsUrl, { authorization: bob.authorization });
        try {
          const query = 'subscription { ticketChanged(id: "r-1-follow-up") { ticketId title } }';
          const alices = subscribe<{ ticketChanged: TicketNode | null }>(socket.client, query);
          const bobs = subscribe<{ ticketChanged: TicketNode | null }>(bobSocket.client, query);
          expect((await alices.next()).data).toEqual({ ticketChanged: null });
          expect((await bobs.next()).data).toEqual({ ticketChanged: null });
          await open('r-1', 'escalate', alice);
          expect((await alices.next()).data).toEqual({ ticketChanged: { ticketId: 'r-1-follow-up', title: 'follow-up' } });
          expect(await ticketOf('r-1-follow-up', bob)).toBeNull();
          // The follow-up's events carry A's tenant and live in A's stream.
          const audit = await gql<{ streamEvents: { events: { metadata: { tenantId: string } }[] } }>(
            app.url,
            '{ streamEvents(streamName: "ticket-r-1-follow-up") { events { metadata } } }',
            {},
            alice,
          );
          expect(audit.body.data!.streamEvents.events.map((event) => event.metadata.tenantId)).toEqual(['acme']);
          await alices.stop();
          await bobs.stop();
        } finally {
          await socket.dispose();
          await bobSocket.dispose();
        }
      });

      it('a tenant’s admin sees its own tenant’s parked events only; cross-tenant admin needs an operator role', async () => {
        await open('p-1', 'acme poison', alice);
        const last = await gql<{ openTicket: { position: string } }>(app.url, OPEN, { input: { ticketId: 'p-2', title: 'globex poison' } }, bob);
        await runner.waitForPosition('follow-up', Position.parse(last.body.data!.openTicket.position), { timeoutMs: 5_000 });

        const parked = '{ parkedEvents(reactor: "follow-up", first: 50) { items { streamName reason } } }';
        type Parked = { parkedEvents: { items: { streamName: string; reason: string }[] } };
        const bobs = await gql<Parked>(app.url, parked, {}, bob);
        expect(bobs.body.errors).toBeUndefined();
        expect(bobs.body.data!.parkedEvents.items).toEqual([{ streamName: 'ticket-p-2', reason: expect.stringContaining('globex poison') as string }]);
        const alices = await gql<Parked>(app.url, parked, {}, alice);
        expect(alices.body.data!.parkedEvents.items).toEqual([{ streamName: 'ticket-p-1', reason: expect.stringContaining('acme poison') as string }]);
        const operators = await gql<Parked>(app.url, parked, {}, operator);
        expect(operators.body.data!.parkedEvents.items).toHaveLength(2);

        for (const operation of ['{ reactorStatuses { name parkedCount lastError } }', '{ projectionStatuses { name } }', 'mutation { redriveParked(reactor: "follow-up") }']) {
          const refused = await gql(app.url, operation, {}, bob);
          expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        }
        const statuses = await gql<{ reactorStatuses: { parkedCount: number }[] }>(app.url, '{ reactorStatuses { name parkedCount } }', {}, operator);
        expect(statuses.body.data!.reactorStatuses).toEqual([expect.objectContaining({ parkedCount: 2 })]);

        // A tenant's admin redrives its own parked events by id; another tenant's id is NOT_FOUND and stays parked.
        const ids = await gql<{ parkedEvents: { items: { eventId: string; streamName: string }[] } }>(
          app.url,
          '{ parkedEvents(reactor: "follow-up", first: 50) { items { eventId streamName } } }',
          {},
          operator,
        );
        const idOf = (streamName: string): string => ids.body.data!.parkedEvents.items.find((item) => item.streamName.endsWith(streamName))!.eventId;
        const redrive = 'mutation Redrive($ids: [String!]) { redriveParked(reactor: "follow-up", eventIds: $ids) }';
        const foreign = await gql(app.url, redrive, { ids: [idOf('p-1')] }, bob);
        expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect((await gql<Parked>(app.url, parked, {}, alice)).body.data!.parkedEvents.items).toHaveLength(1);
        const own = await gql<{ redriveParked: number }>(app.url, redrive, { ids: [idOf('p-2')] }, bob);
        expect(own.body.data).toEqual({ redriveParked: 1 });
      });
    });

    describe('audit API', () => {
      it('B auditing A’s stream gets NOT_FOUND; A sees its own stream under the name it uses', async () => {
        await open('a-1', 'acme audited', alice);
        const streamEvents = '{ streamEvents(streamName: "ticket-a-1") { events { streamName type metadata } } }';
        const bobs = await gql(app.url, streamEvents, {}, bob);
        expect(bobs.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect(JSON.stringify(bobs.body)).not.toContain('acme audited');

        const alices = await gql<{ streamEvents: { events: { streamName: string; type: string; metadata: { tenantId: string } }[] } }>(
          app.url,
          streamEvents,
          {},
          alice,
        );
        expect(alices.body.errors).toBeUndefined();
        expect(alices.body.data!.streamEvents.events).toEqual([
          expect.objectContaining({ streamName: 'ticket-a-1', type: 'TicketOpened', metadata: expect.objectContaining({ tenantId: 'acme' }) }),
        ]);

        const state = '{ aggregateState(streamName: "ticket-a-1", revision: "0") { state } }';
        const bobsState = await gql(app.url, state, {}, bob);
        expect(bobsState.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect(JSON.stringify(bobsState.body)).not.toContain('acme audited');
        const alicesState = await gql<{ aggregateState: { state: { title: string } } }>(app.url, state, {}, alice);
        expect(alicesState.body.data?.aggregateState.state.title).toBe('acme audited');
      });

      it('B following A’s correlation id sees none of A’s events', async () => {
        const { correlationId } = await open('c-1', 'acme workflow', alice);
        const correlation = `{ correlation(correlationId: ${JSON.stringify(correlationId)}) { events { type data } } }`;
        const bobs = await gql<{ correlation: { events: unknown[] } }>(app.url, correlation, {}, bob);
        expect(bobs.body.data?.correlation.events ?? []).toEqual([]);
        expect(JSON.stringify(bobs.body)).not.toContain('acme workflow');
        const alices = await gql<{ correlation: { events: { type: string }[] } }>(app.url, correlation, {}, alice);
        expect(alices.body.data!.correlation.events.map((event) => event.type)).toEqual(['TicketOpened']);
      });
    });
  });
}

tenancyContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-tenancy-'));
  const eventStore = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
  const readModels = SqliteReadModelStore.open(join(dir, 'read-models.db'));
  return {
    eventStore,
    readModels,
    async close() {
      await readModels.close();
      await eventStore.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

tenancyContract('PostgreSQL', async () => {
  const database = await testDatabase('api_tenancy');
  const eventStore = await connectEventStore(database.url);
  const readModels = await PostgresReadModelStore.connect(database.url);
  return {
    eventStore,
    readModels,
    async close() {
      await readModels.close();
      await eventStore.close();
      await database.drop();
    },
  };
});
