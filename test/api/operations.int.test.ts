import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStore, defineReactor, InMemoryReadModelStore, NonRetryableError, Position, ProjectionEngine, ReactorRunner, type EventStore, type RecordedEvent } from '../../src';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { createApi } from '../../src/api';
import { ticket } from './app/ticket';
import { ticketBoard } from './app/ticket-board.projection';
import { ticketResolvers } from './app/ticket.graphql';
import { bearer, gql, memoryLogger, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { commandId revision position correlationId } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { revision position } }`;
const CLOSE = `mutation Close($id: ID!) { closeTicket(input: { ticketId: $id }) { revision position } }`;

type Receipt = { commandId: string; revision: string; position: string; correlationId: string };

describe('health, audit, admin, read-your-writes and shutdown', () => {
  let agent: Record<string, string>;
  let admin: Record<string, string>;
  let auditor: Record<string, string>;

  beforeAll(async () => {
    agent = bearer(await token('agent-1', ['agent']));
    admin = bearer(await token('admin-1', ['admin']));
    auditor = bearer(await token('auditor-1', ['auditor']));
  });

  describe('with the projections and a reactors runtime in this process', () => {
    let app: TestApi;
    let runner: ReactorRunner;
    let clockMs = Date.parse('2026-03-01T10:00:00Z');
    let poisonAccepted = false;
    let redriven: (event: RecordedEvent) => void = () => undefined;

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eventfold-api-ops-'));
      const eventStore = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
      // A reactor: opening a ticket titled "escalate" opens a follow-up ticket (same correlation);
      // titles with "poison" fail until the test accepts them, and are parked.
      const followUp = defineReactor({
        name: 'follow-up',
        filter: { eventTypes: ['TicketOpened'] },
        retry: { maxAttempts: 1 },
        handle: async (event, context) => {
          const data = event.data as { ticketId: string; title: string };
          if (data.title.includes('poison')) {
            if (!poisonAccepted) throw new NonRetryableError(`cannot follow up on ${data.ticketId}`);
            redriven(event);
            return;
          }
          if (data.title === 'escalate') {
            await context.send(ticket, {
              streamName: ticket.streamName(`${data.ticketId}-follow-up`),
              command: { type: 'OpenTicket', data: { ticketId: `${data.ticketId}-follow-up`, title: 'follow-up' } },
            });
          }
        },
      });
      runner = await ReactorRunner.start({ store: eventStore, reactors: [followUp] });
      app = await startTestApi({
        eventStore,
        readModels: SqliteReadModelStore.open(join(dir, 'read-models.db')),
        reactors: runner,
        commands: { clock: () => new Date(clockMs) },
      });
      const close = app.close.bind(app);
      Object.assign(app, {
        close: async () => {
          await runner.stop();
          await close();
          await app.readModels.close();
          await eventStore.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    });
    afterAll(() => app.close());

    it('/healthz is alive and /readyz checks the store and the projections', async () => {
      const base = app.url.replace('/graphql', '');
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, checks: { store: 'ok', projections: 'ok', server: 'ok' } });
    });

    it("audit: a stream's events by page, the aggregate at a revision or a time, a workflow by correlation id", async () => {
      const opened = (await gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId: 'au-1', title: 'escalate' } }, agent)).body.data!.openTicket;
      clockMs += 60_000;
      await gql(app.url, RENAME, { input: { ticketId: 'au-1', title: 'escalated' } }, agent);
      clockMs += 60_000;
      await gql(app.url, CLOSE, { id: 'au-1' }, agent);

      const page1 = await gql<{ streamEvents: { events: { revision: string; type: string; metadata: { userId: string } }[]; nextRevision: string | null } }>(
        app.url,
        '{ streamEvents(streamName: "ticket-au-1", first: 2) { events { revision type metadata } nextRevision } }',
        {},
        auditor,
      );
      expect(page1.body.data!.streamEvents.events.map((event) => [event.revision, event.type])).toEqual([
        ['0', 'TicketOpened'],
        ['1', 'TicketRenamed'],
      ]);
      expect(page1.body.data!.streamEvents.events[0]!.metadata.userId).toBe('agent-1');
      expect(page1.body.data!.streamEvents.nextRevision).toBe('2');
      const page2 = await gql<{ streamEvents: { events: { type: string }[]; nextRevision: string | null } }>(
        app.url,
        '{ streamEvents(streamName: "ticket-au-1", fromRevision: "2", first: 2) { events { type } nextRevision } }',
        {},
        auditor,
      );
      expect(page2.body.data!.streamEvents).toEqual({ events: [{ type: 'TicketClosed' }], nextRevision: null });

      const atRevision = await gql<{ aggregateState: { revision: string; state: unknown } }>(
        app.url,
        '{ aggregateState(streamName: "ticket-au-1", revision: "0") { revision state } }',
        {},
        auditor,
      );
      expect(atRevision.body.data!.aggregateState).toEqual({ revision: '0', state: { status: 'open', ticketId: 'au-1', title: 'escalate' } });
      const atTime = await gql<{ aggregateState: { revision: string; time: string; state: unknown } }>(
        app.url,
        '{ aggregateState(streamName: "ticket-au-1", time: "2026-03-01T10:01:30Z") { revision time state } }',
        {},
        auditor,
      );
      expect(atTime.body.data!.aggregateState).toEqual({
        revision: '1',
        time: '2026-03-01T10:01:00.000Z',
        state: { status: 'open', ticketId: 'au-1', title: 'escalated' },
      });

      // The reactor's follow-up carries the correlation on: one workflow over two streams.
      await runner.waitForPosition('follow-up', Position.parse(opened.position), { timeoutMs: 5_000 });
      const workflow = await gql<{ correlation: { events: { streamName: string; type: string; position: string }[]; nextCursor: string | null } }>(
        app.url,
        'query($id: ID!) { correlation(correlationId: $id, first: 10) { events { streamName type position } nextCursor } }',
        { id: opened.correlationId },
        auditor,
      );
      const steps = workflow.body.data!.correlation.events.map((event) => `${event.streamName}:${event.type}`);
      expect(steps).toEqual(expect.arrayContaining(['ticket-au-1:TicketOpened', 'ticket-au-1-follow-up:TicketOpened']));
      const first = await gql<{ correlation: { events: { position: string }[]; nextCursor: string } }>(
        app.url,
        'query($id: ID!) { correlation(correlationId: $id, first: 1) { events { position } nextCursor } }',
        { id: opened.correlationId },
        auditor,
      );
      const rest = await gql<{ correlation: { events: { position: string }[] } }>(
        app.url,
        'query($id: ID!, $after: String) { correlation(correlationId: $id, after: $after, first: 10) { events { position } } }',
        { id: opened.correlationId, after: first.body.data!.correlation.nextCursor },
        auditor,
      );
      expect([...first.body.data!.correlation.events, ...rest.body.data!.correlation.events].map((event) => event.position)).toEqual(
        workflow.body.data!.correlation.events.map((event) => event.position),
      );

      const forbidden = await gql(app.url, '{ streamEvents(streamName: "ticket-au-1") { nextRevision } }', {}, agent);
      expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const both = await gql(app.url, '{ aggregateState(streamName: "ticket-au-1", revision: "0", time: "2026-03-01T10:00:00Z") { revision } }', {}, auditor);
      expect(both.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const unknownAggregate = await gql(app.url, '{ aggregateState(streamName: "order-1", revision: "0") { revision } }', {}, auditor);
      expect(unknownAggregate.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    });

    it('admin: projection status and rebuild need the admin role', async () => {
      const query = '{ projectionStatuses { name state version definedVersion position lagEvents lastError { message } } }';
      expect((await gql(app.url, query)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await gql(app.url, query, {}, agent)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const statuses = await gql<{ projectionStatuses: { name: string; state: string; version: number; lastError: unknown }[] }>(app.url, query, {}, admin);
      expect(statuses.body.data!.projectionStatuses).toEqual([
        expect.objectContaining({ name: 'ticket-board', version: 1, definedVersion: 1, lastError: null, state: expect.stringMatching(/live|catching-up/) }),
      ]);
      const rebuild = await gql<{ rebuildProjection: { name: string } }>(app.url, 'mutation { rebuildProjection(name: "ticket-board") { name } }', {}, admin);
      expect(rebuild.body.data!.rebuildProjection.name).toBe('ticket-board');
      await app.api.engine!.whenRebuilt('ticket-board', { timeoutMs: 10_000 });
      // Readers were switched over to the rebuilt read model, which has every ticket.
      const read = await gql<{ ticket: { status: string } }>(app.url, '{ ticket(id: "au-1") { status } }');
      expect(read.body.data!.ticket.status).toBe('closed');
      const missing = await gql(app.url, 'mutation { rebuildProjection(name: "nope") { name } }', {}, admin);
      expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    });

    it('admin: reactor status, parked events and redrive go through the reactors runtime', async () => {
      const opened = (await gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId: 'pz-1', title: 'poison pill' } }, agent)).body.data!.openTicket;
      await runner.waitForPosition('follow-up', Position.parse(opened.position), { timeoutMs: 5_000 });

      const statuses = await gql<{ reactorStatuses: { name: string; state: string; parkedCount: number }[] }>(
        app.url,
        '{ reactorStatuses { name state parkedCount lastError } }',
        {},
        admin,
      );
      expect(statuses.body.data!.reactorStatuses).toEqual([expect.objectContaining({ name: 'follow-up', parkedCount: 1 })]);
      const parked = await gql<{ parkedEvents: { items: { reactor: string; streamName: string; reason: string; eventId: string }[]; next: string | null } }>(
        app.url,
        '{ parkedEvents(reactor: "follow-up", first: 10) { items { reactor eventId streamName reason attempts } next } }',
        {},
        admin,
      );
      expect(parked.body.data!.parkedEvents.items).toEqual([
        expect.objectContaining({ reactor: 'follow-up', streamName: 'ticket-pz-1', reason: 'cannot follow up on pz-1' }),
      ]);
      expect((await gql(app.url, '{ parkedEvents { next } }', {}, agent)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

      poisonAccepted = true;
      const handled = new Promise<RecordedEvent>((resolve) => (redriven = resolve));
      const redrive = await gql<{ redriveParked: number }>(app.url, 'mutation { redriveParked(reactor: "follow-up") }', {}, admin);
      expect(redrive.body.data!.redriveParked).toBe(1);
      expect((await handled).streamName).toBe('ticket-pz-1');
    });

    it('a failed projection makes /readyz answer 503', async () => {
      // A document the projection cannot patch: a rename event for a ticket it never saw opened.
      await app.eventStore.appendToStream('ticket-ghost', [
        { id: '7f1f0a62-6a8c-4f6e-9d0a-1c1a6b2b3c4d', type: 'TicketRenamed', data: { ticketId: 'ghost', title: 'boo' }, metadata: {} },
      ]);
      await expect(app.api.engine!.waitForPosition('ticket-board', (await app.eventStore.headPosition())!, { timeoutMs: 5_000 })).rejects.toMatchObject({
        code: 'PROJECTION_FAILED',
      });
      const ready = await fetch(app.url.replace('/graphql', '/readyz'));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, checks: { projections: 'failed: ticket-board' } });
    });
  });

  describe('when another process runs the projections', () => {
    let dir: string;
    let eventStore: EventStore;
    let engineReadModels: SqliteReadModelStore;
    let apiReadModels: SqliteReadModelStore;

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'eventfold-api-ryw-'));
      eventStore = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
      engineReadModels = SqliteReadModelStore.open(join(dir, 'read-models.db'));
      apiReadModels = SqliteReadModelStore.open(join(dir, 'read-models.db'));
    });
    afterEach(async () => {
      await engineReadModels.close();
      await apiReadModels.close();
      await eventStore.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('waitFor answers once the projection has the write, and TIMEOUT when it does not come in time', async () => {
      const app = await startTestApi({ eventStore, readModels: apiReadModels, runProjections: false, waitTimeoutMs: 300 });
      const engine = new ProjectionEngine({ eventStore, readModels: engineReadModels, projections: [ticketBoard] });
      try {
        await gql(app.url, OPEN, { input: { ticketId: 'w-1', title: 'x' } }, agent);
        // No engine runs yet: the write is durable but the read model cannot show it in time.
        const timedOut = await gql(app.url, CLOSE, { id: 'w-1' }, agent);
        expect(timedOut.body.errors?.[0]?.extensions?.code).toBe('TIMEOUT');

        await gql(app.url, OPEN, { input: { ticketId: 'w-2', title: 'x' } }, agent);
        const answered = gql(app.url, CLOSE, { id: 'w-2' }, agent);
        await engine.start();
        const response = await answered;
        expect(response.body.errors).toBeUndefined();
        const read = await gql<{ ticket: { status: string } }>(app.url, '{ ticket(id: "w-2") { status } }');
        expect(read.body.data!.ticket.status).toBe('closed');
      } finally {
        await engine.stop();
        await app.close();
      }
    });

    it('graceful shutdown: in-flight requests finish, subscriptions close with a reason, new requests are refused', async () => {
      const app = await startTestApi({ eventStore, readModels: apiReadModels, runProjections: false, waitTimeoutMs: 10_000 });
      const ws = wsClient(app.wsUrl);
      const first = new ProjectionEngine({ eventStore, readModels: engineReadModels, projections: [ticketBoard] });
      const second = new ProjectionEngine({ eventStore, readModels: engineReadModels, projections: [ticketBoard] });
      try {
        await first.start();
        const opened = await gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId: 'g-1', title: 'x' } }, agent);
        await first.waitForPosition('ticket-board', Position.parse(opened.body.data!.openTicket.position));
        await first.stop();
        const changes = subscribe(ws.client, 'subscription { ticketChanged(id: "g-1") { status } }');
        expect((await changes.next()).data).toEqual({ ticketChanged: { status: 'open' } });
        // An in-flight mutation: it waits for a projection that only runs again after shutdown began.
        const inFlight = gql(app.url, CLOSE, { id: 'g-1' }, agent);
        await new Promise<void>((resolve) => app.listening.server.once('request', () => resolve()));
        const closing = app.api.close({ timeoutMs: 10_000 });
        expect(await ws.closed).toEqual({ code: 1001, reason: 'server shutting down' });
        const ready = await fetch(app.url.replace('/graphql', '/readyz')).then((response) => response.status, () => 'refused');
        expect([503, 'refused']).toContain(ready);
        await second.start();
        const response = await inFlight;
        expect(response.status).toBe(200);
        expect(response.body.errors).toBeUndefined();
        await closing;
        await expect(fetch(app.url, { method: 'POST' })).rejects.toThrow();
      } finally {
        await ws.dispose();
        await second.stop();
        await app.close();
      }
    });
  });

  it('graceful shutdown stops the projections with their checkpoints flushed', async () => {
    const app = await startTestApi();
    const receipt = (await gql<{ openTicket: Receipt }>(app.url, OPEN.replace('openTicket(input: $input)', 'openTicket(input: $input, waitFor: ["ticket-board"])'), { input: { ticketId: 'f-1', title: 'x' } }, agent)).body.data!.openTicket;
    await app.api.close();
    const record = await app.readModels.load('ticket-board');
    const slot = record.slots.find((candidate) => candidate.version === record.active?.version);
    expect(slot?.position?.toString()).toBe(receipt.position);
    expect((await app.api.engine!.status('ticket-board')).state).toBe('stopped');
    await app.close();
  });
});

describe('listen', () => {
  it('reports a taken port and leaves nothing running', async () => {
    const first = await startTestApi();
    const eventStore = await connectEventStore('memory:');
    const readModels = new InMemoryReadModelStore();
    try {
      const second = await createApi({ eventStore, readModels, projections: [ticketBoard], aggregates: [ticket], resolvers: ticketResolvers(), auth: { mode: 'off' }, logger: memoryLogger() });
      await expect(second.listen({ port: first.listening.port, host: '127.0.0.1' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect((await second.engine!.status('ticket-board')).state).toBe('stopped');
    } finally {
      await readModels.close();
      await eventStore.close();
      await first.close();
    }
  });
});
