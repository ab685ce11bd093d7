import { Position } from '../../src';
import { eventually } from '../support/eventually';
import { startAdminApp, type AdminApp } from '../cli/support/admin-app';
import { bearer, gql, token } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { position } }`;

describe('the admin and audit API the console is built on', () => {
  jest.setTimeout(30_000);
  let app: AdminApp;
  let agent: Record<string, string>;
  let admin: Record<string, string>;
  let auditor: Record<string, string>;

  beforeAll(async () => {
    app = await startAdminApp('SQLite');
    agent = bearer(await token('agent-1', ['agent']));
    admin = bearer(await token('admin-1', ['admin']));
    auditor = bearer(await token('auditor-1', ['auditor']));
    for (const id of ['a-1', 'a-2', 'b-1', 'a-3']) await gql(app.api.url, OPEN, { input: { ticketId: id, title: `ticket ${id}` } }, agent);
  });
  afterAll(() => app.close());

  it('streams: by prefix, in name order, a page at a time; for auditors and admins only', async () => {
    type Page = { streams: { items: { streamName: string; revision: string }[]; next: string | null } };
    const first = await gql<Page>(app.api.url, '{ streams(prefix: "ticket-a", first: 2) { items { streamName revision } next } }', {}, auditor);
    expect(first.body.data!.streams).toEqual({
      items: [
        { streamName: 'ticket-a-1', revision: '0' },
        { streamName: 'ticket-a-2', revision: '0' },
      ],
      next: 'ticket-a-2',
    });
    const second = await gql<Page>(app.api.url, '{ streams(prefix: "ticket-a", first: 2, after: "ticket-a-2") { items { streamName } next } }', {}, admin);
    expect(second.body.data!.streams).toEqual({ items: [{ streamName: 'ticket-a-3' }], next: null });
    const refused = await gql(app.api.url, '{ streams { next } }', {}, agent);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const tooMany = await gql(app.api.url, '{ streams(first: 501) { next } }', {}, admin);
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('eventAppended: a live tail of new events, filtered by stream prefix and type', async () => {
    const ws = wsClient(app.api.wsUrl, { authorization: admin.authorization });
    try {
      // From the head as it is now: the events appended after it, and no earlier ones.
      const head = (await app.store.headPosition())!.toString();
      expect((await gql<{ storeHead: string }>(app.api.url, '{ storeHead }', {}, auditor)).body.data!.storeHead).toBe(head);
      const tail = subscribe<{ eventAppended: { streamName: string; type: string; revision: string; data: { title: string } } }>(
        ws.client,
        'subscription ($after: String) { eventAppended(prefixes: ["ticket-live"], types: ["TicketOpened"], after: $after) { streamName type revision data metadata position recordedAt } }',
        { after: head },
      );
      await gql(app.api.url, OPEN, { input: { ticketId: 'live-1', title: 'first' } }, agent);
      const first = await tail.next();
      expect(first.data!.eventAppended).toMatchObject({ streamName: 'ticket-live-1', type: 'TicketOpened', revision: '0', data: { title: 'first' } });
      await gql(app.api.url, OPEN, { input: { ticketId: 'other-1', title: 'not this prefix' } }, agent);
      await gql(app.api.url, OPEN, { input: { ticketId: 'live-2', title: 'second' } }, agent);
      const second = await tail.next();
      expect(second.data!.eventAppended).toMatchObject({ streamName: 'ticket-live-2', data: { title: 'second' } });
      await tail.stop();
    } finally {
      await ws.dispose();
    }
  });

  it('reactorInvocations: every attempt with its outcome and error; redriveParked by stream', async () => {
    for (const id of ['p-1', 'p-2']) {
      const opened = (await gql<{ openTicket: { position: string } }>(app.api.url, OPEN, { input: { ticketId: id, title: 'poison' } }, agent)).body.data!.openTicket;
      await app.runner.waitForPosition('follow-up', Position.parse(opened.position), { timeoutMs: 5_000 });
    }
    type Log = { reactorInvocations: { reactor: string; streamName: string; outcome: string; error: string | null; attempt: number; durationMs: number }[] };
    // The log is written with the reactor's next checkpoint flush, a moment after the attempt.
    const { log, parked } = await eventually(async () => {
      const log = await gql<Log>(app.api.url, '{ reactorInvocations(reactor: "follow-up", first: 50) { reactor eventId streamName position attempt outcome durationMs error at } }', {}, admin);
      const parked = log.body.data!.reactorInvocations.filter((invocation) => invocation.outcome === 'parked');
      expect(parked.map((invocation) => invocation.streamName).sort()).toEqual(['ticket-p-1', 'ticket-p-2']);
      return { log, parked };
    });
    expect(parked[0]!.error).toMatch(/cannot follow up on p-/);
    expect(log.body.data!.reactorInvocations.some((invocation) => invocation.outcome === 'succeeded' && invocation.streamName === 'ticket-a-1')).toBe(true);
    expect((await gql(app.api.url, '{ reactorInvocations { outcome } }', {}, auditor)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    app.accept();
    const redrive = await gql<{ redriveParked: number }>(app.api.url, 'mutation { redriveParked(reactor: "follow-up", streamName: "ticket-p-2") }', {}, admin);
    expect(redrive.body.data!.redriveParked).toBe(1);
    const left = await gql<{ parkedEvents: { items: { streamName: string }[] } }>(app.api.url, '{ parkedEvents(reactor: "follow-up") { items { streamName } } }', {}, admin);
    expect(left.body.data!.parkedEvents.items.map((item) => item.streamName)).toEqual(['ticket-p-1']);
    const both = await gql(app.api.url, 'mutation { redriveParked(reactor: "follow-up", streamName: "ticket-p-1", eventIds: ["x"]) }', {}, admin);
    expect(both.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
