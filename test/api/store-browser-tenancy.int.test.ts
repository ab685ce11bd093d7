import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStore, defineReactor, NonRetryableError, Position, ReactorRunner, type EventStore } from '../../src';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { eventually } from '../support/eventually';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { position } }`;
type Headers = Record<string, string>;

/** The console's API under tenancy: tenants stay walls in the stream list, the live tail and the invocation log. */
describe('the console API with tenancy on', () => {
  jest.setTimeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-console-tenancy-'));
  let store: EventStore;
  let runner: ReactorRunner;
  let app: TestApi;
  let alice: Headers;
  let bob: Headers;
  let operator: Headers;

  const open = async (ticketId: string, title: string, headers: Headers): Promise<Position> => {
    const response = await gql<{ openTicket: { position: string } }>(app.url, OPEN, { input: { ticketId, title } }, headers);
    expect(response.body.errors).toBeUndefined();
    return Position.parse(response.body.data!.openTicket.position);
  };

  beforeAll(async () => {
    store = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
    const parking = defineReactor({
      name: 'parking',
      filter: { eventTypes: ['TicketOpened'] },
      retry: { maxAttempts: 1 },
      handle: (event) => ((event.data as { title: string }).title === 'poison' ? Promise.reject(new NonRetryableError('poisoned')) : Promise.resolve()),
    });
    runner = await ReactorRunner.start({ store, reactors: [parking] });
    app = await startTestApi({
      eventStore: store,
      readModels: SqliteReadModelStore.open(join(dir, 'read-models.db')),
      reactors: runner,
      tenancy: { mode: 'required', operatorRoles: ['operator'] },
    });
    alice = bearer(await token('alice', ['agent', 'admin'], { tenantId: 'acme' }));
    bob = bearer(await token('bob', ['agent', 'admin'], { tenantId: 'globex' }));
    operator = bearer(await token('olga', ['admin', 'operator']));
  });
  afterAll(async () => {
    await runner.stop();
    await app.close();
    await app.readModels.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists streams for operators only: a tenant's admin would see every tenant's stream names", async () => {
    await open('a-1', 'acme', alice);
    await open('g-1', 'globex', bob);
    const refused = await gql(app.url, '{ streams { items { streamName } } }', {}, alice);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const all = await gql<{ streams: { items: { streamName: string }[] } }>(app.url, '{ streams(prefix: "ticket-") { items { streamName } } }', {}, operator);
    expect(all.body.data!.streams.items.map((item) => item.streamName)).toEqual(['ticket-acme~a-1', 'ticket-globex~g-1']);
  });

  it("tails only the caller's tenant's events, under the names the tenant uses", async () => {
    const ws = wsClient(app.wsUrl, { authorization: alice.authorization });
    try {
      const head = (await store.headPosition())!.toString();
      const tail = subscribe<{ eventAppended: { streamName: string; data: { title: string } } }>(
        ws.client,
        'subscription ($after: String) { eventAppended(after: $after) { streamName data } }',
        { after: head },
      );
      await open('g-2', 'globex only', bob);
      await open('a-2', 'acme two', alice);
      const first = await tail.next();
      expect(first.data!.eventAppended).toEqual({ streamName: 'ticket-a-2', data: expect.objectContaining({ title: 'acme two' }) as unknown });
      await tail.stop();
    } finally {
      await ws.dispose();
    }
  });

  it("shows a tenant's admin its own invocations only; redriving a stream needs an operator", async () => {
    await runner.waitForPosition('parking', await open('g-3', 'poison', bob), { timeoutMs: 5_000 });
    await runner.waitForPosition('parking', await open('a-3', 'poison', alice), { timeoutMs: 5_000 });
    type Log = { reactorInvocations: { streamName: string; outcome: string }[] };
    const everyone = await eventually(async () => {
      const log = await gql<Log>(app.url, '{ reactorInvocations(first: 100) { streamName outcome } }', {}, operator);
      expect(log.body.data!.reactorInvocations.filter((item) => item.outcome === 'parked')).toHaveLength(2);
      return log.body.data!.reactorInvocations;
    });
    expect(everyone.map((item) => item.streamName)).toEqual(expect.arrayContaining(['ticket-globex~g-3', 'ticket-acme~a-3']));
    const own = await gql<Log>(app.url, '{ reactorInvocations(first: 100) { streamName outcome } }', {}, alice);
    const names = own.body.data!.reactorInvocations.map((item) => item.streamName);
    expect(names).toContain('ticket-a-3');
    expect(names.some((name) => name.includes('globex') || name.startsWith('ticket-g-'))).toBe(false);
    const byStream = await gql(app.url, 'mutation { redriveParked(reactor: "parking", streamName: "ticket-a-3") }', {}, alice);
    expect(byStream.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
