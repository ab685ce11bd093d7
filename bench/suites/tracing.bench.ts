import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import { connectEventStore } from '../../src';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { createApi } from '../../src/api';
import { ticket } from '../../test/api/app/ticket';
import { ticketBoard } from '../../test/api/app/ticket-board.projection';
import { ticketResolvers } from '../../test/api/app/ticket.graphql';
import { type BenchContext } from '../harness';
import { traceCommand } from '../../src/internal/telemetry';

/**
 * What tracing costs: the `api` suite's mutation load (the GraphQL API on embedded SQLite in a child
 * process, autocannon with 32 connections, `openTicket` on a new stream each) against a server with no
 * OpenTelemetry SDK (the kit's spans and metrics are the API's no-ops) and against one with the SDK on
 * (a tracer provider with a BatchSpanProcessor, a meter provider with a periodic reader, both exporting
 * to an exporter that drops everything, so the figure is the kit's and the SDK's cost, not a network's).
 * The two runs alternate (off, on, off, on) so that a change in the machine's load hits both.
 */
export async function run(context: BenchContext): Promise<void> {
  await noSdkOverhead(context);
  const authorization = `Bearer ${await benchToken()}`;
  const rounds = context.quick ? 1 : 2;
  const totals = new Map<Mode, { requests: number; seconds: number; cpuMs: number; latencies: number[] }>();
  for (let round = 0; round < rounds; round++) {
    for (const mode of MODES) {
      const dir = mkdtempSync(join(tmpdir(), 'eventfold-bench-tracing-'));
      const server = await startServer(dir, mode);
      try {
        context.progress(`${mode}: round ${round + 1} of ${rounds}`);
        const measured = await mutationLoad(context, server, authorization);
        const total = totals.get(mode) ?? { requests: 0, seconds: 0, cpuMs: 0, latencies: [] };
        total.requests += measured.requests;
        total.seconds += measured.seconds;
        total.cpuMs += measured.cpuMs;
        total.latencies.push(measured.p50);
        totals.set(mode, total);
      } finally {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  for (const mode of MODES) {
    const total = totals.get(mode)!;
    const backend = mode === 'off' ? 'sqlite, no SDK' : 'sqlite, SDK on';
    context.record({ backend, metric: 'mutation_throughput', value: total.requests / total.seconds, unit: 'mutations/s' });
    context.record({ backend, metric: 'mutation_p50', value: total.latencies.reduce((a, b) => a + b, 0) / total.latencies.length, unit: 'ms' });
    context.record({ backend, metric: 'mutation_server_cpu', value: total.cpuMs / total.requests, unit: 'ms' });
  }
}

/**
 * The kit's tracing of one command with no SDK, alone: the command span, its three steps and the append
 * wrapper (no-op spans from the API, one duration and one append record on no-op instruments) around
 * work that does nothing. This process never registers an SDK.
 */
async function noSdkOverhead(context: BenchContext): Promise<void> {
  const request = { streamName: 'bench-1', command: { type: 'Bench' } };
  const nothing = (): Promise<void> => Promise.resolve();
  const once = (): Promise<void> =>
    traceCommand(request, async (trace) => {
      await trace.step('load', nothing);
      await trace.step('decide', nothing);
      await trace.append('bench-1', 1, 'sqlite', nothing);
    });
  const bare = async (): Promise<void> => {
    await nothing();
    await nothing();
    await nothing();
  };
  const count = context.quick ? 50_000 : 200_000;
  const time = async (work: () => Promise<void>): Promise<number> => {
    for (let index = 0; index < 5_000; index++) await work();
    const started = performance.now();
    for (let index = 0; index < count; index++) await work();
    return ((performance.now() - started) * 1e6) / count;
  };
  const traced = await time(once);
  const untraced = await time(bare);
  context.record({ backend: 'no SDK', metric: 'trace_overhead_per_command', value: Math.max(0, traced - untraced), unit: 'ns' });
}

type Mode = 'off' | 'sdk';
const MODES: readonly Mode[] = ['off', 'sdk'];

const OPEN = 'mutation($input: OpenTicketInput!) { openTicket(input: $input) { revision position } }';

async function mutationLoad(
  context: BenchContext,
  server: Server,
  authorization: string,
): Promise<{ requests: number; seconds: number; cpuMs: number; p50: number }> {
  const headers = { 'content-type': 'application/json', authorization };
  const body = JSON.stringify({ query: OPEN, variables: { input: { ticketId: 't-[<id>]', title: 'benchmark' } } });
  let failed = 0;
  const requests = [{ method: 'POST' as const, body, onResponse: (status: number, text: string) => void (status !== 200 || text.includes('"errors"') ? failed++ : 0) }];
  await cannon({ url: server.url, connections: 8, amount: 1_000, idReplacement: true, headers, requests }, 2_000);
  const cpuBefore = await server.cpuMs();
  const result = await cannon(
    { url: server.url, connections: 32, amount: context.quick ? 20_000 : 100_000, idReplacement: true, headers, requests },
    context.quick ? 3_000 : 8_000,
  );
  if (failed > 0 || result.errors > 0 || result.non2xx > 0) {
    throw new Error(`mutations failed: ${failed} GraphQL errors, ${result.errors} connection errors, ${result.non2xx} non-2xx`);
  }
  return { requests: result.requests.total, seconds: result.duration, cpuMs: (await server.cpuMs()) - cpuBefore, p50: result.latency.p50 };
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
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(dir: string, mode: Mode): Promise<Server> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, EVENTFOLD_TRACING_BENCH_SERVER: dir, EVENTFOLD_TRACING_BENCH_MODE: mode },
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

/** The SDK as an app would start it, exporting to nowhere. */
async function startSdk(): Promise<() => Promise<void>> {
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
  const { metrics } = await import('@opentelemetry/api');
  const success = { code: 0 };
  const tracerProvider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor({ export: (_spans, done) => done(success), shutdown: () => Promise.resolve() })],
  });
  tracerProvider.register();
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: {
          export: (_metrics, done) => done(success),
          forceFlush: () => Promise.resolve(),
          shutdown: () => Promise.resolve(),
          selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
        },
        exportIntervalMillis: 1_000,
      }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  return async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  };
}

/** The server side, when this file runs as the forked child. */
async function serve(dir: string, mode: Mode): Promise<void> {
  const stopSdk = mode === 'sdk' ? await startSdk() : undefined;
  const eventStore = await connectEventStore(`sqlite:${join(dir, 'events.db')}`);
  const readModels = SqliteReadModelStore.open(join(dir, 'read-models.db'));
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...line: unknown[]) => console.error(...line) };
  const api = await createApi({
    eventStore,
    readModels,
    projections: [ticketBoard],
    aggregates: [ticket],
    resolvers: ticketResolvers(),
    auth: { mode: 'jwt', secret: SECRET },
    logger: quiet,
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
      .then(() => stopSdk?.())
      .then(() => process.exit(0));
  });
  process.send!({ url });
}

if (process.env.EVENTFOLD_TRACING_BENCH_SERVER && process.send) {
  serve(process.env.EVENTFOLD_TRACING_BENCH_SERVER, process.env.EVENTFOLD_TRACING_BENCH_MODE === 'sdk' ? 'sdk' : 'off').catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
