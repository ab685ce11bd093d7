import { randomUUID } from 'node:crypto';
import { type EventStore, type RecordedEvent } from '../../src';
import { commandMutations } from '../../src/api';
import { ticket } from './app/ticket';
import { FileTicketArgs, OpenTicketInput } from './app/ticket.graphql';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';

// Mutations whose arguments are flat (`args: <@ArgsType class>`) instead of one `input`.
const FILE = `mutation File($ticketId: ID!, $title: String!, $commandId: ID, $waitFor: [String!]) {
  fileTicket(ticketId: $ticketId, title: $title, commandId: $commandId, waitFor: $waitFor) { commandId streamName revision position correlationId }
}`;
const RETITLE = `mutation Retitle($ticketId: ID!, $title: String!) { retitleTicket(ticketId: $ticketId, title: $title) { revision position } }`;
const TICKET = `query Ticket($id: ID!) { ticket(id: $id) { ticketId title status openedBy } }`;

type Receipt = { commandId: string; streamName: string; revision: string; position: string; correlationId: string };

async function streamEvents(eventStore: EventStore, streamName: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of eventStore.readStream(streamName)) events.push(event);
  return events;
}

describe('command mutations with flat arguments (args) over real HTTP (SQLite)', () => {
  let app: TestApi;
  let agent: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApi();
    agent = bearer(await token('agent-1', ['agent']));
  });
  afterAll(() => app.close());

  it('answer with a receipt after the durable append; the arguments reach toCommand and waitFor works', async () => {
    const response = await gql<{ fileTicket: Receipt }>(app.url, FILE, { ticketId: 'a-1', title: 'Flat', waitFor: ['ticket-board'] }, agent);
    expect(response.body.errors).toBeUndefined();
    const receipt = response.body.data!.fileTicket;
    expect(receipt).toEqual({
      commandId: expect.any(String),
      streamName: 'ticket-a-1',
      revision: '0',
      position: expect.stringMatching(/^[0-9a-f]{32}$/),
      correlationId: receipt.commandId,
    });
    const events = await streamEvents(app.eventStore, 'ticket-a-1');
    expect(events.map((event) => [event.type, event.data])).toEqual([['TicketOpened', { ticketId: 'a-1', title: 'Flat' }]]);
    expect(events[0]!.position.toString()).toBe(receipt.position);
    expect(events[0]!.metadata).toMatchObject({ userId: 'agent-1', roles: ['agent'], commandId: receipt.commandId });
    // waitFor: the read model shows the ticket as soon as the mutation has answered.
    const read = await gql<{ ticket: unknown }>(app.url, TICKET, { id: 'a-1' });
    expect(read.body.data!.ticket).toEqual({ ticketId: 'a-1', title: 'Flat', status: 'open', openedBy: 'agent-1' });
  });

  it('bad arguments are BAD_USER_INPUT naming each failing argument, and nothing is written', async () => {
    const head = (await app.eventStore.headPosition())?.toString();
    const empty = await gql(app.url, FILE, { ticketId: '', title: '' }, agent);
    expect(empty.body.data).toBeNull();
    expect(empty.body.errors?.[0]?.message).toBe('invalid arguments: ticketId: ticketId should not be empty; title: title should not be empty');
    expect(empty.body.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [
        { path: 'ticketId', message: 'ticketId should not be empty' },
        { path: 'title', message: 'title should not be empty' },
      ],
    });
    const tooLong = await gql(app.url, FILE, { ticketId: 'a-2', title: 'x'.repeat(60_001) }, agent);
    expect(tooLong.body.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [{ path: 'title', message: 'title must be shorter than or equal to 60000 characters' }],
    });
    expect((await app.eventStore.headPosition())?.toString()).toBe(head);
    expect(await streamEvents(app.eventStore, 'ticket-a-2')).toEqual([]);
    // A missing required argument is refused by GraphQL itself, before the resolver.
    const missing = await gql(app.url, 'mutation { fileTicket(ticketId: "a-2") { revision } }', {}, agent);
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(missing.body.errors?.[0]?.message).toContain('"title"');
    expect((await app.eventStore.headPosition())?.toString()).toBe(head);
  });

  it('are idempotent by commandId (argument or Idempotency-Key header), like input mutations', async () => {
    const commandId = randomUUID();
    const variables = { ticketId: 'a-3', title: 'Once', commandId };
    const first = await gql<{ fileTicket: Receipt }>(app.url, FILE, variables, agent);
    const again = await gql<{ fileTicket: Receipt }>(app.url, FILE, variables, agent);
    expect(first.body.data!.fileTicket.commandId).toBe(commandId);
    expect(again.body).toEqual(first.body);
    expect(await streamEvents(app.eventStore, 'ticket-a-3')).toHaveLength(1);

    const key = randomUUID();
    const keyed = { ...agent, 'idempotency-key': key };
    const byHeader = await gql<{ fileTicket: Receipt }>(app.url, FILE, { ticketId: 'a-4', title: 'Keyed' }, keyed);
    const byHeaderAgain = await gql<{ fileTicket: Receipt }>(app.url, FILE, { ticketId: 'a-4', title: 'Keyed' }, keyed);
    expect(byHeader.body.data!.fileTicket.commandId).toBe(key);
    expect(byHeaderAgain.body.data).toEqual(byHeader.body.data);
    expect(await streamEvents(app.eventStore, 'ticket-a-4')).toHaveLength(1);

    // The same id for a different command is refused, and writes nothing.
    const reused = await gql(app.url, FILE, { ticketId: 'a-5', title: 'Other', commandId }, agent);
    expect(reused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await streamEvents(app.eventStore, 'ticket-a-5')).toEqual([]);
  });

  it('access is checked before the arguments: anonymous callers are UNAUTHENTICATED', async () => {
    const anonymous = await gql(app.url, FILE, { ticketId: 'a-6', title: '' });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await streamEvents(app.eventStore, 'ticket-a-6')).toEqual([]);
  });

  it('waitForArgument: false drops the client waitFor argument; the definition still waits for its projections', async () => {
    await gql(app.url, FILE, { ticketId: 'a-7', title: 'Before' }, agent);
    const refused = await gql(
      app.url,
      'mutation { retitleTicket(ticketId: "a-7", title: "x", waitFor: ["ticket-board"]) { revision } }',
      {},
      agent,
    );
    expect(refused.body.errors?.[0]?.message).toContain('Unknown argument "waitFor"');
    const renamed = await gql<{ retitleTicket: { revision: string } }>(app.url, RETITLE, { ticketId: 'a-7', title: 'After' }, agent);
    expect(renamed.body.errors).toBeUndefined();
    expect(renamed.body.data!.retitleTicket.revision).toBe('1');
    const read = await gql<{ ticket: { title: string } }>(app.url, TICKET, { id: 'a-7' });
    expect(read.body.data!.ticket.title).toBe('After');
    const empty = await gql(app.url, RETITLE, { ticketId: 'a-7', title: '' }, agent);
    expect(empty.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', fields: [{ path: 'title', message: 'title should not be empty' }] });
    expect(await streamEvents(app.eventStore, 'ticket-a-7')).toHaveLength(2);
  });

  it('a definition takes either input or args, not both and not neither', () => {
    const tickets = commandMutations(ticket);
    const toCommand = (args: { ticketId: string; title: string }) => ({
      streamName: ticket.streamName(args.ticketId),
      command: { type: 'OpenTicket' as const, data: { ticketId: args.ticketId, title: args.title } },
    });
    // Casts: TypeScript refuses both definitions already; JavaScript callers get the error at once.
    const both = { name: 'both', input: OpenTicketInput, args: FileTicketArgs, toCommand } as unknown as Parameters<typeof tickets.mutation>[0];
    const neither = { name: 'neither', toCommand } as unknown as Parameters<typeof tickets.mutation>[0];
    expect(() => tickets.mutation(both)).toThrow(/either `input` \(an @InputType class\) or `args` \(an @ArgsType class\)/);
    expect(() => tickets.mutation(neither)).toThrow(TypeError);
  });
});
