import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { connectEventStore } from '../../src';
import { PostgresReadModelStore } from '../../src/backends/postgres';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { createDatabase, startPostgres } from '../../test/support/postgres-server';
import { createApi } from '../../src/api';
import { ticket } from '../../test/api/app/ticket';
import { ticketBoard } from '../../test/api/app/ticket-board.projection';
import { ticketResolvers } from '../../test/api/app/ticket.graphql';
import { alternating, type BenchContext } from '../harness';

/**
 * The GraphQL API on embedded SQLite (full sync), served by a child process so that the load
 * generators here do not share its event loop:
 * - mutation round trip and throughput: autocannon, 32 connections, `openTicket` on a new stream each;
 * - push latency: N graphql-ws subscribers on one document, one mutation at a time, from sending the
 *   mutation to each subscriber receiving the new value;
 * - max subscribers: N grows until push p99 reaches 250 ms, or the count or time budget runs out.
 */
export async function run(context: BenchContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-bench-api-'));
  const server = await startServer(dir);
  const sockets: WebSocket[] = [];
  try {
    const authorization = `Bearer ${await benchToken()}`;
    await mutationLoad(context, server, authorization);
    await fixedRate(context, server, authorization);
    await pushes(context, server, authorization, sockets);
  } finally {
    for (const socket of sockets) socket.terminate();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  await postgresScaling(context);
}

function openTicketRequests(failed: { count: number }) {
  const body = JSON.stringify({ query: OPEN, variables: { input: { ticketId: 'b-[<id>]', title: 'benchmark' } } });
  return [{ method: 'POST' as const, body, onResponse: (status: number, responseBody: string) => void (status !== 200 || responseBody.includes('"errors"') ? failed.count++ : 0) }];
}

/**
 * Mutation latency at a fixed offered load of 1,000 mutations/s (autocannon's `overallRate`, spread
 * over 64 connections so that the rate, not the connection count, sets the load): less noisy than
 * latency at the maximum rate, where it only says how deep the queue is.
 */
async function fixedRate(context: BenchContext, server: Server, authorization: string): Promise<void> {
  const rate = 1_000;
  const seconds = context.quick ? 3 : 10;
  const failed = { count: 0 };
  const headers = { 'content-type': 'application/json', authorization };
  context.progress(`mutations at a fixed ${rate}/s for ${seconds} s`);
  const result = await cannon(
    { url: server.url, connections: 64, overallRate: rate, amount: rate * seconds, idReplacement: true, headers, requests: openTicketRequests(failed) },
    seconds * 1_000 + 10_000,
  );
  if (failed.count > 0 || result.errors > 0 || result.non2xx > 0) throw new Error(`fixed-rate mutations failed: ${failed.count} GraphQL errors, ${result.errors} connection errors`);
  context.record({ backend: 'sqlite', metric: 'mutation_p50_at_1000', value: result.latency.p50, unit: 'ms' });
  context.record({ backend: 'sqlite', metric: 'mutation_p99_at_1000', value: result.latency.p99, unit: 'ms' });
  context.record({ backend: 'sqlite', metric: 'mutation_rate_at_1000', value: result.requests.total / result.duration, unit: 'mutations/s' });
}

/**
 * One and two API processes on one PostgreSQL server (fsync on), measured side by side in
 * alternating rounds: both servers run throughout; a `1proc` round sends 32 connections to the first,
 * a `2proc` round 16 to each. Only the first runs the projection (one runner per read model). The
 * figure is mutations/s at the maximum rate; each process's CPU per mutation goes to the progress line.
 */
async function postgresScaling(context: BenchContext): Promise<void> {
  const postgres = await startPostgres();
  const servers: Server[] = [];
  try {
    const { url } = await createDatabase(postgres.url, 'api');
    const authorization = `Bearer ${await benchToken()}`;
    servers.push(await startServer('', { postgresUrl: url, runProjections: true }));
    servers.push(await startServer('', { postgresUrl: url, runProjections: false }));
    const headers = { 'content-type': 'application/json', authorization };
    const failed = { count: 0 };
    const roundMs = context.quick ? 2_000 : 4_000;
    const load = async (targets: readonly Server[]): Promise<{ units: number; ms: number }> => {
      const begin = performance.now();
      const results = await Promise.all(
        targets.map((target) =>
          cannon({ url: target.url, connections: 32 / targets.length, amount: 100_000, idReplacement: true, headers, requests: openTicketRequests(failed) }, roundMs),
        ),
      );
      return { units: results.reduce((sum, result) => sum + result.requests.total, 0), ms: performance.now() - begin };
    };
    context.progress('postgres: warm-up of both API processes');
    await load(servers);
    const cpuBefore = await Promise.all(servers.map((server) => server.cpuMs()));
    const figures = await alternating(
      [
        { label: '1proc', round: () => load(servers.slice(0, 1)) },
        { label: '2proc', round: () => load(servers) },
      ],
      context.quick ? 2 : 4,
    );
    const cpuAfter = await Promise.all(servers.map((server) => server.cpuMs()));
    if (failed.count > 0) throw new Error(`${failed.count} PostgreSQL API mutations failed`);
    context.progress(`postgres: API processes' CPU over the rounds: ${cpuAfter.map((after, index) => `${Math.round(after - cpuBefore[index]!)} ms`).join(', ')}`);
    context.record({ backend: 'postgres', metric: 'api_pg_1proc', value: figures.get('1proc')!, unit: 'mutations/s' });
    context.record({ backend: 'postgres', metric: 'api_pg_2proc', value: figures.get('2proc')!, unit: 'mutations/s' });
    context.record({ backend: 'postgres', metric: 'ratio_api_pg_2proc_1proc', value: figures.get('2proc')! / figures.get('1proc')!, unit: '×' });
  } finally {
    for (const server of servers) await server.stop();
    await postgres.stop();
  }
}

const OPEN = 'mutation($input: OpenTicketInput!) { openTicket(input: $input) { revision position } }';
const RENAME = 'mutation($input: RenameTicketInput!) { renameTicket(input: $input) { revision } }';

async function mutationLoad(context: BenchContext, server: Server, authorization: string): Promise<void> {
  const url = server.url;
  const headers = { 'content-type': 'application/json', authorization };
  const body = JSON.stringify({ query: OPEN, variables: { input: { ticketId: 'b-[<id>]', title: 'benchmark' } } });
  let failed = 0;
  const requests = [{ method: 'POST' as const, body, onResponse: (status: number, responseBody: string) => void (status !== 200 || responseBody.includes('"errors"') ? failed++ : 0) }];
  context.progress('mutations: warm-up');
  await cannon({ url, connections: 8, amount: 2_000, idReplacement: true, headers, requests }, 2_000);
  context.progress('mutations: 32 concurrent HTTP clients');
  const cpuBefore = await server.cpuMs();
  const result = await cannon(
    { url, connections: 32, amount: context.quick ? 30_000 : 200_000, idReplacement: true, headers, requests },
    context.quick ? 3_000 : 10_000,
  );
  if (failed > 0 || result.errors > 0 || result.non2xx > 0) {
    throw new Error(`mutations failed: ${failed} GraphQL errors, ${result.errors} connection errors, ${result.non2xx} non-2xx`);
  }
  context.record({ backend: 'sqlite', metric: 'mutation_p50', value: result.latency.p50, unit: 'ms' });
  context.record({ backend: 'sqlite', metric: 'mutation_p99', value: result.latency.p99, unit: 'ms' });
  context.record({ backend: 'sqlite', metric: 'mutation_throughput', value: (result.requests.total / (result.duration * 1000)) * 1000, unit: 'mutations/s' });
  // The server's own CPU per mutation (user + system, includes the SQLite commits it waits on): the
  // figure that other load on the machine disturbs least.
  context.record({ backend: 'sqlite', metric: 'mutation_server_cpu', value: ((await server.cpuMs()) - cpuBefore) / result.requests.total, unit: 'ms' });
}

/** autocannon until `options.amount` requests are done or `maxMs` has passed, whichever comes first. */
function cannon(options: autocannon.Options, maxMs: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const stop = { timer: undefined as NodeJS.Timeout | undefined };
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
      clearTimeout(stop.timer);
      if (error) reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
      else resolve(result);
    });
    stop.timer = setTimeout(() => instance.stop(), maxMs);
  });
}

interface Subscriber {
  readonly socket: WebSocket;
  onValue: ((text: string) => void) | undefined;
}

/**
 * A minimal graphql-transport-ws subscriber on a raw `ws` socket: connection_init, subscribe, then it
 * hands each `next` message's raw text on without parsing it. Thousands of them share this process and
 * its two cores with the server, so the client side is kept as cheap as the protocol allows; the tests
 * use the real graphql-ws client.
 */
function openSubscriber(wsUrl: string, authorization: string, query: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    const subscriber: Subscriber = { socket, onValue: undefined };
    let first = true;
    socket.once('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('{"type":"connection_ack"')) {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      } else if (text.includes('"type":"next"')) {
        if (first) {
          first = false;
          resolve(subscriber);
        } else subscriber.onValue?.(text);
      } else if (!text.includes('"type":"ping"') && !text.includes('"type":"pong"')) {
        reject(new Error(`unexpected message: ${text.slice(0, 200)}`));
      }
    });
  });
}

async function pushes(context: BenchContext, server: Server, authorization: string, sockets: WebSocket[]): Promise<void> {
  const url = server.url;
  const headers = { 'content-type': 'application/json', authorization };
  const post = async (query: string, variables: Record<string, unknown>): Promise<void> => {
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const result = (await response.json()) as { errors?: unknown };
    if (result.errors) throw new Error(JSON.stringify(result.errors));
  };
  await post(OPEN.replace('openTicket(input: $input)', 'openTicket(input: $input, waitFor: ["ticket-board"])'), { input: { ticketId: 'push-target', title: 'start' } });
  const subscribers: Subscriber[] = [];
  let round = 0;
  const wsUrl = url.replace(/^http/, 'ws');

  /** Grows the subscriber set to `count`, each having received the current value. */
  const grow = async (count: number): Promise<void> => {
    while (subscribers.length < count) {
      const batch = Math.min(250, count - subscribers.length);
      const opened = await Promise.all(
        Array.from({ length: batch }, () => openSubscriber(wsUrl, authorization, 'subscription { ticketChanged(id: "push-target") { title } }')),
      );
      for (const subscriber of opened) {
        sockets.push(subscriber.socket);
        subscribers.push(subscriber);
      }
    }
  };

  /** One mutation at a time; each sample is one subscriber's latency from sending to receiving. */
  const measure = async (rounds: number): Promise<number[]> => {
    const samples: number[] = [];
    for (let index = 0; index < rounds; index++) {
      const title = `round-${round++}`;
      let pending = subscribers.length;
      let sentAt = 0;
      const everyone = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${pending} of ${subscribers.length} subscribers got no push within 10 s`)), 10_000);
        for (const subscriber of subscribers) {
          subscriber.onValue = (text) => {
            if (!text.includes(`"title":"${title}"`)) return;
            subscriber.onValue = undefined;
            samples.push(performance.now() - sentAt);
            if (--pending === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
        }
      });
      sentAt = performance.now();
      await post(RENAME, { input: { ticketId: 'push-target', title } });
      await everyone;
    }
    return samples;
  };

  context.progress('push: 1,000 subscribers');
  await grow(1_000);
  await measure(3); // warm-up
  const cpuBefore = await server.cpuMs();
  const rounds = context.quick ? 10 : 30;
  const samples = await measure(rounds);
  // The server's CPU per change pushed to all 1,000 (the mutation included).
  context.record({ backend: 'sqlite', metric: 'push_server_cpu', value: ((await server.cpuMs()) - cpuBefore) / rounds, unit: 'ms' });
  context.record({ backend: 'sqlite', metric: 'push_p50', value: percentile(samples, 0.5), unit: 'ms' });
  context.record({ backend: 'sqlite', metric: 'push_p99', value: percentile(samples, 0.99), unit: 'ms' });

  // Bounded search: counts in steps, stopped by p99 >= 250 ms, the count cap or the time budget.
  const steps = context.quick ? [1_000, 2_000, 4_000] : [1_000, 2_000, 4_000, 6_000, 8_000, 10_000, 12_000, 14_000, 16_000, 18_000];
  const deadline = Date.now() + (context.quick ? 60_000 : 300_000);
  let held = 0;
  for (const count of steps) {
    if (Date.now() > deadline) break;
    context.progress(`max subscribers: ${count.toLocaleString('en-US')}`);
    await grow(count);
    await measure(2);
    const p99 = percentile(await measure(context.quick ? 5 : 10), 0.99);
    context.progress(`  push p99 with ${count.toLocaleString('en-US')} subscribers: ${p99.toFixed(1)} ms`);
    if (p99 >= 250) break;
    held = count;
  }
  context.record({ backend: 'sqlite', metric: 'max_subscribers', value: held, unit: 'subscribers' });
}

function percentile(samples: readonly number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

const SECRET = 'a-bench-secret-that-is-long-enough-for-hs256!';

function benchToken(): Promise<string> {
  return new SignJWT({ roles: ['agent'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(SECRET));
}

interface Server {
  readonly url: string;
  /** The server process's CPU time so far (user + system), in ms. */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(dir: string, postgres?: { postgresUrl: string; runProjections: boolean }): Promise<Server> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', '@swc-node/register'],
    env: {
      ...process.env,
      EVENTFOLD_API_BENCH_SERVER: dir || 'postgres',
      ...(postgres && { EVENTFOLD_API_BENCH_PG: postgres.postgresUrl, EVENTFOLD_API_BENCH_PROJECTIONS: postgres.runProjections ? '1' : '0' }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the API server exited with ${code}`)));
  });
  return {
    url,
    cpuMs: () =>
      new Promise<number>((resolve) => {
        const onMessage = (message: unknown): void => {
          if (typeof message !== 'object' || message === null || !('cpuMs' in message)) return;
          child.off('message', onMessage);
          resolve((message as { cpuMs: number }).cpuMs);
        };
        child.on('message', onMessage);
        child.send('cpu');
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send('stop');
      await exited;
    },
  };
}

/** The server side, when this file runs as the forked child. */
async function serve(dir: string): Promise<void> {
  const postgresUrl = process.env.EVENTFOLD_API_BENCH_PG;
  const eventStore = await connectEventStore(postgresUrl ?? `sqlite:${join(dir, 'events.db')}`);
  const readModels = postgresUrl ? await PostgresReadModelStore.connect(postgresUrl) : SqliteReadModelStore.open(join(dir, 'read-models.db'));
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...line: unknown[]) => console.error(...line) };
  const api = await createApi({
    eventStore,
    readModels,
    projections: [ticketBoard],
    aggregates: [ticket],
    resolvers: ticketResolvers(),
    auth: { mode: 'jwt', secret: SECRET },
    logger: quiet,
    runProjections: process.env.EVENTFOLD_API_BENCH_PROJECTIONS !== '0',
  });
  const { url } = await api.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ cpuMs: (user + system) / 1000 });
      return;
    }
    if (message !== 'stop') return;
    void api
      .close({ timeoutMs: 5_000 })
      .then(() => readModels.close())
      .then(() => eventStore.close())
      .then(() => process.exit(0));
  });
  process.send!({ url });
}

if (process.env.EVENTFOLD_API_BENCH_SERVER && process.send) {
  serve(process.env.EVENTFOLD_API_BENCH_SERVER).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
