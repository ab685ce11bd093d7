import { randomUUID } from 'node:crypto';
import { defineProjection, defineReactor, Position, ReactorRunner } from '../../src';
import { ticketBoard } from './app/ticket-board.projection';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { subscribe, wsClient } from './support/ws-client';

// `/metrics` on a real API (SQLite files, loopback HTTP): Prometheus text, admins only, and lag figures
// that rise while a projection and a reactor are held up and fall back to zero once they catch up.

/** A promise released by hand, for holding a handler until the test has looked at the lag. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

// The exposition format, line by line: `# HELP name text`, `# TYPE name kind`, or a sample
// `name{label="value",…} number`. Anything else fails the parse.
const HELP = /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/;
// Other lines starting with `#` are comments (the exporter writes `# UNIT`).
const COMMENT = /^# (?!HELP |TYPE ).*$/;
const TYPE = /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?(?:[0-9.e+-]+|NaN|\+?Inf))(?: -?\d+)?$/;

function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || HELP.test(line) || TYPE.test(line) || COMMENT.test(line)) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const projectionGate = { current: gate() };
const slowBoard = defineProjection({
  name: 'slow-board',
  version: 1,
  eventTypes: ['TicketOpened'],
  collections: {},
  async handle() {
    await projectionGate.current.wait;
  },
});

const reactorGate = { current: gate() };
const slowReactor = defineReactor({
  name: 'slow-reactor',
  filter: { eventTypes: ['TicketOpened'] },
  handle: async () => {
    await reactorGate.current.wait;
  },
});

const OPEN = `mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { position } }`;

let app: TestApi;
let runner: ReactorRunner;
let admin: Record<string, string>;
let metricsUrl: string;

beforeAll(async () => {
  app = await startTestApi({ metrics: true, projections: [ticketBoard, slowBoard] });
  runner = await ReactorRunner.start({ store: app.eventStore, reactors: [slowReactor], checkpointIntervalMs: 10 });
  admin = bearer(await token('admin-1', ['admin']));
  metricsUrl = new URL('/metrics', app.url).toString();
});

afterAll(async () => {
  projectionGate.current.open();
  reactorGate.current.open();
  await runner?.stop();
  await app?.close();
});

async function scrape(headers: Record<string, string> = admin): Promise<Sample[]> {
  const response = await fetch(metricsUrl, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheus(await response.text());
}

const valueOf = (samples: Sample[], name: string, labels: Record<string, string>): number | undefined =>
  samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value;

async function openTicket(): Promise<Position> {
  const answer = await gql<{ openTicket: { position: string } }>(app.url, OPEN, { input: { ticketId: randomUUID(), title: 'lag' } }, admin);
  expect(answer.body.errors).toBeUndefined();
  return Position.parse(answer.body.data!.openTicket.position);
}

test('/metrics needs the admin role', async () => {
  expect((await fetch(metricsUrl)).status).toBe(401);
  expect((await fetch(metricsUrl, { headers: bearer(await token('agent-1', ['agent'])) })).status).toBe(403);
  expect((await fetch(metricsUrl, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
});

test('/metrics parses as Prometheus text and its lag figures move', async () => {
  // Held: the projection and the reactor are stuck on the first of three tickets.
  await openTicket();
  await openTicket();
  const last = await openTicket();
  let samples = await scrape();
  const projection = { eventfold_projection_name: 'slow-board' };
  const reactor = { eventfold_reactor_name: 'slow-reactor' };
  expect(valueOf(samples, 'eventfold_projection_lag_events', projection)).toBeGreaterThanOrEqual(3);
  expect(valueOf(samples, 'eventfold_reactor_lag_events', reactor)).toBeGreaterThanOrEqual(3);
  expect(valueOf(samples, 'eventfold_projection_lag_seconds', projection)).toBeGreaterThan(0);
  expect(valueOf(samples, 'eventfold_reactor_lag_seconds', reactor)).toBeGreaterThan(0);
  expect(valueOf(samples, 'eventfold_reactor_parked_events', reactor)).toBe(0);
  // The commands behind them were measured, by type and outcome.
  expect(valueOf(samples, 'eventfold_command_duration_seconds_count', { eventfold_command_type: 'OpenTicket', eventfold_command_outcome: 'ok' })).toBe(3);
  expect(valueOf(samples, 'eventfold_events_appended_total', { db_system_name: 'sqlite' })).toBe(3);

  // Released: both catch up, and the lag falls to zero.
  projectionGate.current.open();
  reactorGate.current.open();
  await app.api.engine!.waitForPosition('slow-board', last, { timeoutMs: 10_000 });
  await runner.waitForPosition('slow-reactor', last, { timeoutMs: 10_000 });
  samples = await scrape();
  expect(valueOf(samples, 'eventfold_projection_lag_events', projection)).toBe(0);
  expect(valueOf(samples, 'eventfold_projection_lag_seconds', projection)).toBe(0);
  expect(valueOf(samples, 'eventfold_reactor_lag_events', reactor)).toBe(0);
  expect(valueOf(samples, 'eventfold_reactor_lag_seconds', reactor)).toBe(0);
  expect(valueOf(samples, 'eventfold_reactor_attempts_total', { ...reactor, eventfold_reactor_outcome: 'succeeded' })).toBe(3);
});

test('/metrics counts open subscriptions and their pushes', async () => {
  const ticketId = randomUUID();
  await gql(app.url, OPEN, { input: { ticketId, title: 'watched' } }, admin);
  const ws = wsClient(app.wsUrl, { authorization: admin.authorization });
  const projection = { eventfold_projection_name: 'ticket-board' };
  try {
    const changes = subscribe(ws.client, `subscription { ticketChanged(id: "${ticketId}") { title } }`);
    expect((await changes.next(10_000)).data).toBeDefined();
    const samples = await scrape();
    expect(valueOf(samples, 'eventfold_subscriptions_open', projection)).toBe(1);
    expect(valueOf(samples, 'eventfold_subscription_pushes_total', projection)).toBeGreaterThanOrEqual(1);
    await changes.stop();
    // The server ends the subscription when the client's `complete` arrives: read until it has (bounded).
    const deadline = Date.now() + 10_000;
    let open: number | undefined = 1;
    while (open !== 0 && Date.now() < deadline) open = valueOf(await scrape(), 'eventfold_subscriptions_open', projection);
    expect(open).toBe(0);
  } finally {
    await ws.dispose();
  }
});

test('metrics: { open: true } serves anyone, at the path asked for', async () => {
  const openApi = await startTestApi({ metrics: { open: true, path: '/internal/metrics' } });
  try {
    const response = await fetch(new URL('/internal/metrics', openApi.url));
    expect(response.status).toBe(200);
    expect(parsePrometheus(await response.text()).some((sample) => sample.name === 'target_info')).toBe(true);
    expect((await fetch(new URL('/metrics', openApi.url))).status).toBe(404);
  } finally {
    await openApi.close();
  }
});
