import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connectEventStore, ReactorRunner, type EventStore } from '../../src';
import { runCli } from '../../src/cli/program';
import { ManualClock } from '../../src/testing/manual-clock';
import { bearer, gql, startTestApi, token, type TestApi } from '../api/support/test-api';
import { expiryReactor, ticket } from '../handlers/support/timer-fixtures';

/** Runs the CLI in this process against the running API; returns its exit code and output. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await runCli(argv, { stdout, stderr, env: {}, json: false, signal: new AbortController().signal });
  return { code, out, err };
}

describe('eventfold timers (through a running app’s admin API)', () => {
  let dir: string;
  let eventStore: EventStore;
  let runner: ReactorRunner;
  let app: TestApi;
  let adminToken: string;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventfold-cli-timers-'));
    eventStore = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
    runner = await ReactorRunner.start({ store: eventStore, reactors: [expiryReactor(60_000)], aggregates: [ticket], clock });
    app = await startTestApi({ eventStore, reactors: runner });
    adminToken = await token('admin-1', ['admin']);
    const positions = [];
    for (const id of ['cli-1', 'cli-2', 'cli-3']) {
      positions.push((await eventStore.appendToStream(`ticket-${id}`, [{ id: randomUUID(), type: 'TicketOpened', data: {}, metadata: {} }])).position);
    }
    for (const position of positions) await runner.waitForPosition('expiry', position);
  });
  afterAll(async () => {
    await app.close();
    await runner.stop();
    await eventStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists pending timers as text and JSON, a page at a time up to --limit', async () => {
    const text = await cli(['timers', 'list', '--api', app.url, '--token', adminToken]);
    expect(text.code).toBe(0);
    expect(text.out.trim().split('\n')).toHaveLength(3);
    expect(text.out).toMatch(/pending\s+expiry\s+expire-ticket-cli-1\s+→ ExpireTicket on ticket-cli-1/);
    const json = await cli(['--json', 'timers', 'list', '--api', app.url, '--token', adminToken, '--limit', '2']);
    const rows = JSON.parse(json.out) as { key: string; status: string }[];
    expect(rows.map((row) => row.key)).toEqual(['expire-ticket-cli-1', 'expire-ticket-cli-2']);
  });

  it('cancels one timer (exit 0), then finds none to cancel (exit 1); the cancelled timer never fires', async () => {
    const cancelled = await cli(['timers', 'cancel', 'expiry', 'expire-ticket-cli-2', '--api', app.url, '--token', adminToken]);
    expect(cancelled).toMatchObject({ code: 0, out: 'cancelled expiry expire-ticket-cli-2\n' });
    const again = await cli(['timers', 'cancel', 'expiry', 'expire-ticket-cli-2', '--api', app.url, '--token', adminToken]);
    expect(again.code).toBe(1);
    clock.advance(120_000);
    await runner.timersSettled();
    const fired = JSON.parse((await cli(['--json', 'timers', 'list', '--status', 'fired', '--api', app.url, '--token', adminToken])).out) as { key: string }[];
    expect(fired.map((row) => row.key)).toEqual(['expire-ticket-cli-1', 'expire-ticket-cli-3']);
    const types: string[] = [];
    for await (const event of eventStore.readStream('ticket-cli-2')) types.push(event.type);
    expect(types).toEqual(['TicketOpened']);
  });

  it('usage and access errors exit 2 with the reason: no API, a bad status, no admin role', async () => {
    expect(await cli(['timers', 'list'])).toMatchObject({ code: 2, err: expect.stringMatching(/no API given/) as unknown });
    expect(await cli(['timers', 'list', '--api', app.url, '--token', adminToken, '--status', 'done'])).toMatchObject({ code: 2 });
    const agent = await cli(['timers', 'list', '--api', app.url, '--token', await token('agent-1', ['agent'])]);
    expect(agent).toMatchObject({ code: 2, err: expect.stringMatching(/FORBIDDEN/) as unknown });
    // The API itself: a bad cursor is the caller's mistake.
    const bad = await gql(app.url, '{ timers(after: "nonsense") { next } }', {}, bearer(adminToken));
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
