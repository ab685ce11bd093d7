import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connectEventStore, type EventStore } from '../../src';
import { PostgresReadModelStore } from '../../src/backends/postgres';
import { testDatabase } from '../support/postgres';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

const OPEN = `mutation Open($input: OpenTicketInput!, $waitFor: [String!]) { openTicket(input: $input, waitFor: $waitFor) { position } }`;
const RENAME = `mutation Rename($input: RenameTicketInput!) { renameTicket(input: $input) { position } }`;

describe('two API processes on one PostgreSQL database', () => {
  let database: { url: string; drop(): Promise<void> };
  let child: ChildProcess;
  let childUrl: string;
  let eventStore: EventStore;
  let readModels: PostgresReadModelStore;
  let app: TestApi;
  let agent: Record<string, string>;

  beforeAll(async () => {
    database = await testDatabase('api_two_processes');
    agent = bearer(await token('agent-1', ['agent']));
    // The child runs the projections and serves the API; this process only serves and follows them.
    child = fork(join(__dirname, 'support', 'api-process.ts'), [database.url], { execArgv: ['-r', '@swc-node/register'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    childUrl = await new Promise<string>((resolve, reject) => {
      child.once('message', (message) => resolve((message as { url: string }).url));
      child.once('exit', (code) => reject(new Error(`the API child exited with ${code}`)));
    });
    eventStore = await connectEventStore(database.url);
    readModels = await PostgresReadModelStore.connect(database.url);
    app = await startTestApi({ eventStore, readModels, runProjections: false });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await readModels?.close();
    await eventStore?.close();
    if (child && child.exitCode === null) {
      const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send('stop');
      await stopped;
    }
    await database?.drop();
  });

  it('a subscription on one process gets the change a mutation made on the other', async () => {
    await gql(childUrl, OPEN, { input: { ticketId: 'x-1', title: 'first' }, waitFor: ['ticket-board'] }, agent);
    const ws = wsClient(app.wsUrl);
    try {
      const changes = subscribe<{ ticketChanged: { title: string } }>(ws.client, 'subscription { ticketChanged(id: "x-1") { title } }');
      expect((await changes.next()).data).toEqual({ ticketChanged: { title: 'first' } });
      const renamed = await gql(childUrl, RENAME, { input: { ticketId: 'x-1', title: 'renamed elsewhere' } }, agent);
      expect(renamed.body.errors).toBeUndefined();
      // Heard through LISTEN/NOTIFY: this process runs no projection and was not asked.
      expect((await changes.next()).data).toEqual({ ticketChanged: { title: 'renamed elsewhere' } });
    } finally {
      await ws.dispose();
    }
  });

  it('read-your-writes on one process waits for the projections running in the other', async () => {
    const opened = await gql(app.url, OPEN, { input: { ticketId: 'x-2', title: 'here' }, waitFor: ['ticket-board'] }, agent);
    expect(opened.body.errors).toBeUndefined();
    const read = await gql<{ ticket: { title: string } }>(app.url, '{ ticket(id: "x-2") { title } }');
    expect(read.body.data!.ticket.title).toBe('here');
    const readThere = await gql<{ ticket: { title: string } }>(childUrl, '{ ticket(id: "x-2") { title } }');
    expect(readThere.body.data!.ticket.title).toBe('here');
  });
});
