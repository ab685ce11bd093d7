import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStore, type EventStore } from '../../src';
import { type ApiOptions } from '../../src/api';
import { createApi } from '../../src/api';
import { ticket } from './app/ticket';
import { ticketBoard } from './app/ticket-board.projection';
import { ticketResolvers } from './app/ticket.graphql';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!, $commandId: ID, $waitFor: [String!]) {
  openTicket(input: $input, commandId: $commandId, waitFor: $waitFor) { commandId streamName revision position correlationId }
}`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { revision position } }`;
const CLOSE = `mutation Close($id: ID!) { closeTicket(input: { ticketId: $id }) { revision position } }`;

type Receipt = { commandId: string; streamName: string; revision: string; position: string; correlationId: string };

describe('GraphQL API over real HTTP and WebSocket (SQLite)', () => {
  let app: TestApi;
  let agent: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApi();
    agent = bearer(await token('agent-1', ['agent']));
  });
  afterAll(() => app.close());

  async function open(ticketId: string, title = 'Printer on fire', headers = agent): Promise<Receipt> {
    const response = await gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId, title }, waitFor: ['ticket-board'] }, headers);
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.openTicket;
  }

  describe('mutations', () => {
    it('answer with a receipt after the durable append, with the user id and roles in the metadata', async () => {
      const response = await gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId: 'm-1', title: 'Hello' } }, agent);
      expect(response.status).toBe(200);
      const receipt = response.body.data!.openTicket;
      expect(receipt).toEqual({
        commandId: expect.any(String),
        streamName: 'ticket-m-1',
        revision: '0',
        position: expect.stringMatching(/^[0-9a-f]{32}$/),
        correlationId: receipt.commandId,
      });
      const events = [];
      for await (const event of app.eventStore.readStream('ticket-m-1')) events.push(event);
      expect(events).toHaveLength(1);
      expect(events[0]!.position.toString()).toBe(receipt.position);
      expect(events[0]!.metadata).toMatchObject({ userId: 'agent-1', roles: ['agent'], commandId: receipt.commandId });
    });

    it('are idempotent by commandId: the same id again returns the first receipt and writes nothing', async () => {
      const commandId = randomUUID();
      const variables = { input: { ticketId: 'm-2', title: 'Once' }, commandId };
      const first = await gql<{ openTicket: Receipt }>(app.url, OPEN, variables, agent);
      const again = await gql<{ openTicket: Receipt }>(app.url, OPEN, variables, agent);
      expect(first.body.data!.openTicket.commandId).toBe(commandId);
      expect(again.body).toEqual(first.body);
      let count = 0;
      for await (const _event of app.eventStore.readStream('ticket-m-2')) count++;
      expect(count).toBe(1);
    });

    it('take the command id from the Idempotency-Key header', async () => {
      const key = randomUUID();
      const headers = { ...agent, 'idempotency-key': key };
      const first = await gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId: 'm-3', title: 'Keyed' } }, headers);
      const again = await gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId: 'm-3', title: 'Keyed' } }, headers);
      expect(first.body.data!.openTicket.commandId).toBe(key);
      expect(again.body.data).toEqual(first.body.data);
      // Without the key the same input is a new command: the stream exists already.
      const fresh = await gql(app.url, OPEN, { input: { ticketId: 'm-3', title: 'Keyed' } }, agent);
      expect(fresh.body.errors?.[0]?.extensions?.code).toBe('ALREADY_EXISTS');
    });

    it('with waitFor answer only when the projection shows the write (read-your-writes)', async () => {
      await open('m-4', 'Before');
      const closed = await gql(app.url, CLOSE, { id: 'm-4' }, agent); // closeTicket declares waitFor: ['ticket-board']
      expect(closed.body.errors).toBeUndefined();
      // No waiting here: the mutation's answer already implies the read model has it.
      const read = await gql<{ ticket: { status: string } }>(app.url, '{ ticket(id: "m-4") { status } }');
      expect(read.body.data!.ticket.status).toBe('closed');
    });
  });

  describe('queries', () => {
    it('resolve from the read model, one document or pages by cursor', async () => {
      for (const id of ['q-1', 'q-2', 'q-3', 'q-4', 'q-5']) await open(id, `Query ${id}`);
      const one = await gql<{ ticket: { ticketId: string; title: string; openedBy: string } | null; missing: unknown }>(
        app.url,
        '{ ticket(id: "q-3") { ticketId title openedBy } missing: ticket(id: "nope") { ticketId } }',
      );
      expect(one.body.data).toEqual({ ticket: { ticketId: 'q-3', title: 'Query q-3', openedBy: 'agent-1' }, missing: null });

      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page: Awaited<ReturnType<typeof gql<{ tickets: { nodes: { ticketId: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number } }>>> =
          await gql(app.url, 'query($after: String) { tickets(first: 2, after: $after, status: "open") { nodes { ticketId } pageInfo { hasNextPage endCursor } totalCount } }', { after });
        const tickets = page.body.data!.tickets;
        seen.push(...tickets.nodes.map((node) => node.ticketId));
        pages++;
        if (!tickets.pageInfo.hasNextPage) {
          expect(seen).toHaveLength(tickets.totalCount);
          break;
        }
        after = tickets.pageInfo.endCursor;
      }
      expect(pages).toBeGreaterThanOrEqual(3);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining(['q-1', 'q-2', 'q-3', 'q-4', 'q-5']));
    });

    it('hand-written resolvers get their services from the composition root', async () => {
      const response = await gql<{ openTicketCount: number }>(app.url, '{ openTicketCount }');
      const direct = await app.readModels.documents(ticketBoard, 'tickets').count({ status: 'open' });
      expect(response.body.data!.openTicketCount).toBe(direct);
    });
  });

  describe('subscriptions', () => {
    it('send the current value first, then each change within 100 ms of the mutation answering', async () => {
      await open('s-1', 'First title');
      const ws = wsClient(app.wsUrl);
      try {
        const changes = subscribe<{ ticketChanged: { title: string; status: string } | null }>(
          ws.client,
          'subscription { ticketChanged(id: "s-1") { title status } }',
        );
        expect((await changes.next()).data).toEqual({ ticketChanged: { title: 'First title', status: 'open' } });
        const latencies: number[] = [];
        for (const title of ['Second', 'Third', 'Fourth']) {
          const renamed = await gql(app.url, RENAME, { input: { ticketId: 's-1', title } }, agent);
          expect(renamed.body.errors).toBeUndefined();
          const answeredAt = performance.now();
          expect((await changes.next()).data).toEqual({ ticketChanged: { title, status: 'open' } });
          latencies.push(performance.now() - answeredAt);
        }
        await gql(app.url, CLOSE, { id: 's-1' }, agent);
        expect((await changes.next()).data).toEqual({ ticketChanged: { title: 'Fourth', status: 'closed' } });
        latencies.sort((a, b) => a - b);
        expect(latencies[1]).toBeLessThan(100); // the median push: the 3factor bar
        await changes.stop();
      } finally {
        await ws.dispose();
      }
    });

    it('a document that does not exist yet is null first, then appears', async () => {
      const ws = wsClient(app.wsUrl);
      try {
        const changes = subscribe<{ ticketChanged: { title: string } | null }>(ws.client, 'subscription { ticketChanged(id: "s-2") { title } }');
        expect((await changes.next()).data).toEqual({ ticketChanged: null });
        await open('s-2', 'Born');
        expect((await changes.next()).data).toEqual({ ticketChanged: { title: 'Born' } });
      } finally {
        await ws.dispose();
      }
    });

    it('list subscriptions follow a filtered list (signed-in users only)', async () => {
      const ws = wsClient(app.wsUrl, { authorization: agent.authorization });
      try {
        const list = subscribe<{ ticketsChanged: { ticketId: string }[] }>(
          ws.client,
          'subscription { ticketsChanged(status: "closed") { ticketId } }',
        );
        const before = (await list.next()).data!.ticketsChanged.map((item) => item.ticketId);
        await open('s-3', 'To close');
        await gql(app.url, CLOSE, { id: 's-3' }, agent);
        // Opening s-3 does not change the closed list, so the next value is the one with s-3 closed.
        const after = (await list.next()).data!.ticketsChanged.map((item) => item.ticketId);
        expect(after).toEqual(expect.arrayContaining([...before, 's-3']));
      } finally {
        await ws.dispose();
      }
    });
  });

  describe('errors: every one has extensions.code', () => {
    it('BAD_USER_INPUT names the failing fields (class-validator on the input, zod in the command)', async () => {
      const empty = await gql(app.url, OPEN, { input: { ticketId: 'e-1', title: '' } }, agent);
      expect(empty.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', fields: [{ path: 'input.title', message: 'title should not be empty' }] });
      await open('e-1', 'Fine');
      const tooLong = await gql(app.url, RENAME, { input: { ticketId: 'e-1', title: 'x'.repeat(60_001) } }, agent);
      expect(tooLong.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [expect.objectContaining({ path: 'data.title' })] });
      const unknownField = await gql(app.url, '{ nope }');
      expect(unknownField.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const badCursor = await gql(app.url, '{ tickets(after: "garbage") { totalCount } }');
      expect(badCursor.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'after', message: 'invalid cursor' }] });
      const unknownProjection = await gql(app.url, OPEN, { input: { ticketId: 'e-2', title: 'x' }, waitFor: ['nope'] }, agent);
      expect(unknownProjection.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const reused = await gql(app.url, OPEN, { input: { ticketId: 'e-3', title: 'a' }, commandId: 'reused-1' }, agent);
      expect(reused.body.errors).toBeUndefined();
      const reusedElsewhere = await gql(app.url, OPEN, { input: { ticketId: 'e-4', title: 'b' }, commandId: 'reused-1' }, agent);
      expect(reusedElsewhere.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('ALREADY_EXISTS, NOT_FOUND and DOMAIN_RULE (with the rule) come from the command layer', async () => {
      await open('e-5');
      const twice = await gql(app.url, OPEN, { input: { ticketId: 'e-5', title: 'again' } }, agent);
      expect(twice.body.errors?.[0]?.extensions?.code).toBe('ALREADY_EXISTS');
      const missing = await gql(app.url, CLOSE, { id: 'never-opened' }, agent);
      expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      await gql(app.url, CLOSE, { id: 'e-5' }, agent);
      const closedAgain = await gql(app.url, CLOSE, { id: 'e-5' }, agent);
      expect(closedAgain.body.errors?.[0]?.extensions).toEqual({ code: 'DOMAIN_RULE', rule: 'TICKET_CLOSED' });
      expect(closedAgain.body.errors?.[0]?.message).toBe('the ticket is already closed');
    });

    it('CONFLICT when every attempt loses the race to another writer', async () => {
      // Another writer appends to the stream between each load and append of the command (a real
      // write to the same SQLite store), so every optimistic-concurrency attempt fails.
      const sqlite = await connectEventStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'eventfold-race-')), 'events.db')}`);
      const racingStore = new Proxy(sqlite, {
        get(target, property, receiver) {
          if (property === 'appendToStream') {
            return async (...args: Parameters<EventStore['appendToStream']>) => {
              const [streamName] = args;
              if (streamName === 'ticket-race') {
                await target.appendToStream(streamName, [{ id: randomUUID(), type: 'TicketRenamed', data: { ticketId: 'race', title: 'other writer' }, metadata: {} }], { expectedRevision: 'any' });
              }
              return target.appendToStream(...args);
            };
          }
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const racing = await startTestApi({ eventStore: racingStore });
      try {
        await sqlite.appendToStream('ticket-race', [{ id: randomUUID(), type: 'TicketOpened', data: { ticketId: 'race', title: 'start' }, metadata: {} }]);
        const response = await gql(racing.url, RENAME, { input: { ticketId: 'race', title: 'mine' } }, agent);
        expect(response.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
        const titles: unknown[] = [];
        for await (const event of sqlite.readStream('ticket-race')) titles.push((event.data as { title: string }).title);
        expect(titles).not.toContain('mine'); // nothing of the refused command was written
      } finally {
        await racing.close();
        await sqlite.close();
      }
    });

    it('UNAVAILABLE when the store is down, without internals in the message', async () => {
      const down = await startTestApi();
      try {
        await down.eventStore.close();
        const response = await gql(down.url, OPEN, { input: { ticketId: 'u-1', title: 'x' } }, agent);
        expect(response.body.errors?.[0]).toMatchObject({ extensions: { code: 'UNAVAILABLE' }, message: 'a backing store is unavailable; try again later' });
        const ready = await fetch(down.url.replace('/graphql', '/readyz'));
        expect(ready.status).toBe(503);
      } finally {
        await down.close().catch(() => undefined);
      }
    });

    it('INTERNAL_SERVER_ERROR hides the message and stack (which may hold SQL) outside development mode', async () => {
      const response = await gql(app.url, '{ explode }');
      expect(response.body.errors?.[0]).toEqual({
        message: 'Internal server error',
        locations: [{ line: 1, column: 3 }],
        path: ['explode'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(response.body)).not.toMatch(/SELECT|stack|at /);
      const domainError = await gql(app.url, CLOSE, { id: 'never-opened' }, agent);
      expect(domainError.body.errors?.[0]?.extensions?.stacktrace).toBeUndefined();
    });

    it('development mode shows the message and the stack trace', async () => {
      const dev = await startTestApi({ development: true });
      try {
        const response = await gql(dev.url, '{ explode }');
        expect(response.body.errors?.[0]?.message).toContain('SELECT secret FROM users');
        expect(response.body.errors?.[0]?.extensions?.stacktrace).toEqual(expect.arrayContaining([expect.stringContaining('Error')]));
      } finally {
        await dev.close();
      }
    });
  });

  describe('auth', () => {
    it('HTTP: no token is anonymous (public reads work, mutations are UNAUTHENTICATED); a bad or expired token is refused', async () => {
      const anonymous = await gql(app.url, OPEN, { input: { ticketId: 'a-1', title: 'x' } });
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const publicRead = await gql(app.url, '{ ticket(id: "a-1") { ticketId } }');
      expect(publicRead.body).toEqual({ data: { ticket: null } });

      const wrongSecret = await gql(app.url, '{ ticket(id: "a-1") { ticketId } }', {}, bearer(await token('x', [], { secret: 'another-secret-that-is-long-enough-too!!' })));
      expect(wrongSecret.status).toBe(401);
      expect(wrongSecret.body.errors?.[0]).toMatchObject({ message: 'the token is invalid', extensions: { code: 'UNAUTHENTICATED' } });
      const expired = await gql(app.url, '{ ticket(id: "a-1") { ticketId } }', {}, bearer(await token('x', [], { expiresIn: '-1h' })));
      expect(expired.body.errors?.[0]).toMatchObject({ message: 'the token has expired', extensions: { code: 'UNAUTHENTICATED' } });
      const notBearer = await gql(app.url, '{ ticket(id: "a-1") { ticketId } }', {}, { authorization: 'Basic abc' });
      expect(notBearer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // Nothing was written by the refused mutation.
      let count = 0;
      for await (const _event of app.eventStore.readStream('ticket-a-1')) count++;
      expect(count).toBe(0);
    });

    it('FORBIDDEN by role (access rule) and by the per-command authorization hook', async () => {
      await open('a-2');
      const customer = bearer(await token('customer-1', ['customer']));
      const close = await gql(app.url, CLOSE, { id: 'a-2' }, customer);
      expect(close.body.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' }, message: 'needs one of the roles: agent, admin' });
      const lock = await gql(app.url, RENAME, { input: { ticketId: 'a-2', title: 'locked forever' } }, agent);
      expect(lock.body.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' }, message: 'only admins may lock tickets' });
      const admin = bearer(await token('admin-1', ['admin']));
      const allowed = await gql(app.url, RENAME, { input: { ticketId: 'a-2', title: 'locked forever' } }, admin);
      expect(allowed.body.errors).toBeUndefined();
    });

    it('the API-wide command hook sees the command and the user', async () => {
      const seen: string[] = [];
      const guarded = await startTestApi({
        authorizeCommand: (intent, context) => {
          seen.push(`${context.user?.id}:${intent.command.type}`);
          return context.user?.id !== 'banned';
        },
      });
      try {
        expect((await gql(guarded.url, OPEN, { input: { ticketId: 'h-1', title: 'x' } }, agent)).body.errors).toBeUndefined();
        const banned = await gql(guarded.url, OPEN, { input: { ticketId: 'h-2', title: 'x' } }, bearer(await token('banned', ['agent'])));
        expect(banned.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        expect(seen).toEqual(['agent-1:OpenTicket', 'banned:OpenTicket']);
      } finally {
        await guarded.close();
      }
    });

    it('WebSocket: the token in connection_init is verified; a bad one closes the connection with the reason', async () => {
      const bad = wsClient(app.wsUrl, { authorization: 'Bearer not-a-jwt' });
      const refused = subscribe(bad.client, 'subscription { ticketChanged(id: "x") { title } }');
      await refused.failure();
      expect(await bad.closed).toEqual({ code: 4403, reason: 'UNAUTHENTICATED: the token is invalid' });
      await bad.dispose();

      const anonymous = wsClient(app.wsUrl);
      try {
        const needsUser = subscribe(anonymous.client, 'subscription { ticketsChanged { ticketId } }');
        const result = await needsUser.next();
        expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      } finally {
        await anonymous.dispose();
      }

      const signedIn = wsClient(app.wsUrl, { authorization: agent.authorization });
      try {
        const list = subscribe<{ ticketsChanged: unknown[] }>(signedIn.client, 'subscription { ticketsChanged { ticketId } }');
        expect((await list.next()).data?.ticketsChanged).toEqual(expect.any(Array));
      } finally {
        await signedIn.dispose();
      }
    });

    it("auth 'off' with no logger given still says so, through Node's warnings (the default logger is silent)", async () => {
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const consoleSpies = (['log', 'info', 'warn', 'error'] as const).map((level) => jest.spyOn(console, level));
      const dev = await startTestApi({ auth: { mode: 'off' }, logger: undefined });
      try {
        expect(emitWarning).toHaveBeenCalledWith(expect.stringContaining('AUTHENTICATION IS OFF'), 'EventfoldWarning');
        for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
      } finally {
        emitWarning.mockRestore();
        for (const spy of consoleSpies) spy.mockRestore();
        await dev.close();
      }
    });

    it("auth 'off' acts as the development user and says so loudly at startup", async () => {
      const options: Partial<ApiOptions> = { auth: { mode: 'off', developmentUser: { id: 'dev-7', roles: ['agent'] } } };
      const dev = await startTestApi(options);
      try {
        const warning = dev.logger.lines.find((line) => line.level === 'warn' && line.message.includes('AUTHENTICATION IS OFF'));
        expect(warning).toBeDefined();
        const response = await gql<{ openTicket: Receipt }>(dev.url, OPEN, { input: { ticketId: 'd-1', title: 'x' } });
        expect(response.body.errors).toBeUndefined();
        for await (const event of dev.eventStore.readStream('ticket-d-1')) expect(event.metadata.userId).toBe('dev-7');
      } finally {
        await dev.close();
      }
    });

    it("refuses to build with 'jwt' auth but no usable key", async () => {
      const base = { eventStore: app.eventStore, readModels: app.readModels, projections: [ticketBoard], aggregates: [ticket], resolvers: ticketResolvers() };
      await expect(createApi({ ...base, auth: { mode: 'jwt' } })).rejects.toThrow('needs a secret or a jwksUrl');
      await expect(createApi({ ...base, auth: { mode: 'jwt', secret: 'short' } })).rejects.toThrow('at least 32 bytes');
    });
  });
});
