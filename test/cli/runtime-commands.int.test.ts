import { Position } from '../../src';
import { bearer, gql, token } from '../api/support/test-api';
import { eventually } from '../support/eventually';
import { startAdminApp, type AdminApp, type BackendName } from './support/admin-app';
import { cli } from './support/run-cli';
import { freePort } from '../../examples/food-delivery/test/support/app-process';

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { position } }`;

describe.each<BackendName>(['SQLite', 'PostgreSQL'])('eventfold runtime commands against a running API on %s', (backend) => {
  jest.setTimeout(60_000);
  let app: AdminApp;
  let adminToken: string;
  let agent: Record<string, string>;
  let api: string[];

  beforeAll(async () => {
    app = await startAdminApp(backend);
    adminToken = await token('admin-1', ['admin']);
    agent = bearer(await token('agent-1', ['agent']));
    api = ['--api', app.api.url, '--token', adminToken];
    for (let index = 0; index < 30; index++) {
      await gql(app.api.url, OPEN, { input: { ticketId: `t-${index}`, title: `ticket ${index}` } }, agent);
    }
    await app.api.api.engine!.waitForPosition('ticket-board', (await app.store.headPosition())!, { timeoutMs: 10_000 });
  });
  afterAll(() => app.close());

  it('projections status lists each projection with its lag (exit 0 when none has failed)', async () => {
    const run = await cli(['projections', 'status', ...api, '--json']);
    expect(run.code).toBe(0);
    const [statuses] = run.json<{ name: string; state: string; lagEvents: number; eventsHandled: number }[]>();
    expect(statuses).toEqual([expect.objectContaining({ name: 'ticket-board', state: 'live', lagEvents: 0, eventsHandled: 30 })]);
    const human = await cli(['projections', 'status', ...api]);
    expect(human.stdout).toMatch(/^ticket-board {2}v1 {2}live {2}lag 0 events, \d+ ms, 30 handled\n$/);
  });

  it('projections rebuild --wait rebuilds and reports progress until it has finished', async () => {
    const before = (await gql<{ projectionStatuses: { eventsHandled: number }[] }>(app.api.url, '{ projectionStatuses { eventsHandled } }', {}, bearer(adminToken))).body.data!;
    const run = await cli(['projections', 'rebuild', 'ticket-board', '--wait', ...api]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/rebuild ticket-board: \d+\/\d+ \(\d+%\) events/);
    expect(run.stdout).toMatch(/ticket-board rebuilt: live, lag 0 events\n$/);
    const after = (await gql<{ projectionStatuses: { eventsHandled: number; rebuild: unknown }[] }>(app.api.url, '{ projectionStatuses { eventsHandled rebuild { state } } }', {}, bearer(adminToken))).body.data!;
    expect(after.projectionStatuses[0]!.rebuild).toBeNull();
    expect(before.projectionStatuses[0]!.eventsHandled).toBe(30);
    // The rebuilt version handled every event again.
    expect(after.projectionStatuses[0]!.eventsHandled).toBeGreaterThanOrEqual(30);
    const unknown = await cli(['projections', 'rebuild', 'nope', ...api]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('NOT_FOUND');
  });

  it('reactors status, parked and redrive: a parked event is listed with its error and redriven by id, stream or all', async () => {
    const healthy = await cli(['reactors', 'status', ...api, '--json']);
    expect(healthy.code).toBe(0);
    expect(healthy.json()).toEqual([[expect.objectContaining({ name: 'follow-up', parkedCount: 0 })]]);

    const positions: string[] = [];
    for (const id of ['p-1', 'p-2', 'p-3']) {
      positions.push((await gql<{ openTicket: { position: string } }>(app.api.url, OPEN, { input: { ticketId: id, title: 'poison' } }, agent)).body.data!.openTicket.position);
    }
    await app.runner.waitForPosition('follow-up', Position.parse(positions.at(-1)!), { timeoutMs: 10_000 });

    const sick = await cli(['reactors', 'status', ...api]);
    expect(sick.code).toBe(1);
    expect(sick.stdout).toMatch(/^follow-up {2}running {2}lag (\?|\d+) events, 3 parked\n/);
    const parked = await cli(['reactors', 'parked', 'follow-up', ...api, '--json']);
    expect(parked.stderr).toBe('');
    expect(parked.code).toBe(0);
    const items = parked.json<{ eventId: string; streamName: string; reason: string; attempts: number }>();
    expect(items.map((item) => [item.streamName, item.reason])).toEqual([
      ['ticket-p-1', 'cannot follow up on p-1'],
      ['ticket-p-2', 'cannot follow up on p-2'],
      ['ticket-p-3', 'cannot follow up on p-3'],
    ]);

    app.accept();
    const one = await cli(['reactors', 'redrive', 'follow-up', '--event', items[0]!.eventId, ...api]);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('1 parked event of follow-up sent again\n');
    const stream = await cli(['reactors', 'redrive', 'follow-up', '--stream', 'ticket-p-2', ...api, '--json']);
    expect(stream.json()).toEqual([{ reactor: 'follow-up', redriven: 1 }]);
    const all = await cli(['reactors', 'redrive', 'follow-up', '--all', ...api, '--json']);
    expect(all.json()).toEqual([{ reactor: 'follow-up', redriven: 1 }]);
    await eventually(async () => {
      const left = await cli(['reactors', 'parked', 'follow-up', ...api]);
      expect(left.stdout).toBe('follow-up has no parked events\n');
    });
    await eventually(async () => expect((await cli(['reactors', 'status', ...api])).code).toBe(0));
  });

  it('exits 2 for a missing choice, a missing or wrong token, or an unreachable API', async () => {
    const noChoice = await cli(['reactors', 'redrive', 'follow-up', ...api]);
    expect(noChoice.code).toBe(2);
    expect(noChoice.stderr).toContain('--event <id>, --stream <name> or --all');
    const both = await cli(['reactors', 'redrive', 'follow-up', '--event', 'x', '--all', ...api]);
    expect(both.code).toBe(2);
    const noToken = await cli(['projections', 'status', '--api', app.api.url]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/UNAUTHENTICATED/);
    const notAdmin = await cli(['projections', 'status', '--api', app.api.url, '--token', await token('agent-1', ['agent'])]);
    expect(notAdmin.code).toBe(2);
    expect(notAdmin.stderr).toMatch(/FORBIDDEN/);
    const nobody = `http://127.0.0.1:${await freePort()}/graphql`;
    const down = await cli(['reactors', 'status', '--api', nobody]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`cannot reach the API at ${nobody}: ECONNREFUSED`);
    const fromEnv = await cli(['projections', 'status'], { env: { EVENTFOLD_API: app.api.url, EVENTFOLD_TOKEN: adminToken } });
    expect(fromEnv.code).toBe(0);
  });
});
