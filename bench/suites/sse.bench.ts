import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { connectEventStore } from '../../src';
import { SqliteReadModelStore } from '../../src/backends/sqlite';
import { createApi } from '../../src/api';
import { ticket } from '../../test/api/app/ticket';
import { ticketBoard } from '../../test/api/app/ticket-board.projection';
import { ticketResolvers } from '../../test/api/app/ticket.graphql';
import { type BenchContext } from '../harness';

/**
 * Push latency over Server-Sent Events next to WebSocket, on one API server (embedded SQLite, a child
 * process): N subscribers of one document per transport (graphql-sse's distinct-connections mode: one
 * HTTP event stream each; graphql-transport-ws: one socket each), one mutation at a time, from sending
 * the mutation to each subscriber receiving the new value. Both transports are measured in the same
 * run, alternately, so that the figures compare.
 */
export async function run(context: BenchContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-bench-sse-'));
  const server = await startServer(dir);
  const subscribers: Subscriber[] = [];
  try {
    const authorization = `Bearer ${await benchToken()}`;
    const post = async (query: string, variables: Record<string, unknown>): Promise<void> => {
      const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query, variables }) });
      const result = (await response.json()) as { errors?: unknown };
      if (result.errors) throw new Error(JSON.stringify(result.errors));
    };
    await post(OPEN, { input: { ticketId: 'push-target', title: 'start' } });
    const count = context.quick ? 250 : 1_000;
    context.progress(`${count.toLocaleString('en-US')} subscribers over each transport`);
    const ws: Subscriber[] = [];
    const sse: Subscriber[] = [];
    for (let opened = 0; opened < count; opened += 250) {
      const batch = Math.min(250, count - opened);
      ws.push(...(await Promise.all(Array.from({ length: batch }, () => openWebSocket(server.url, authorization)))));
      sse.push(...(await Promise.all(Array.from({ length: batch }, () => openEventStream(server.url, authorization)))));
    }
    subscribers.push(...ws, ...sse);
    let round = 0;
    const measure = async (group: readonly Subscriber[]): Promise<number[]> => {
      const title = `round-${round++}`;
      const samples: number[] = [];
      let pending = group.length;
      let sentAt = 0;
      const everyone = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${pending} of ${group.length} subscribers got no push within 10 s`)), 10_000);
        for (const subscriber of group) {
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
      return samples;
    };
    // Warm-up, then alternate rounds: each round changes the document once and times one transport.
    for (let index = 0; index < 3; index++) {
      await measure(ws);
      await measure(sse);
    }
    const rounds = context.quick ? 10 : 30;
    const wsSamples: number[] = [];
    const sseSamples: number[] = [];
    for (let index = 0; index < rounds; index++) {
      wsSamples.push(...(await measure(ws)));
      sseSamples.push(...(await measure(sse)));
    }
    context.record({ backend: 'sqlite', metric: 'push_ws_p50', value: percentile(wsSamples, 0.5), unit: 'ms' });
    context.record({ backend: 'sqlite', metric: 'push_ws_p99', value: percentile(wsSamples, 0.99), unit: 'ms' });
    context.record({ backend: 'sqlite', metric: 'push_sse_p50', value: percentile(sseSamples, 0.5), unit: 'ms' });
    context.record({ backend: 'sqlite', metric: 'push_sse_p99', value: percentile(sseSamples, 0.99), unit: 'ms' });
  } finally {
    for (const subscriber of subscribers) subscriber.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const OPEN = 'mutation($input: OpenTicketInput!) { openTicket(input: $input, waitFor: ["ticket-board"]) { revision } }';
const RENAME = 'mutation($input: RenameTicketInput!) { renameTicket(input: $input) { revision } }';
const WATCH = 'subscription { ticketChanged(id: "push-target") { title } }';

interface Subscriber {
  onValue: ((text: string) => void) | undefined;
  close(): void;
}

/** A minimal graphql-transport-ws subscriber (raw `ws`, no parsing), as in the api suite. */
function openWebSocket(url: string, authorization: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const subscriber: Subscriber = { onValue: undefined, close: () => socket.terminate() };
    let first = true;
    socket.once('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('{"type":"connection_ack"')) socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: WATCH } }));
      else if (text.includes('"type":"next"')) {
        if (first) {
          first = false;
          resolve(subscriber);
        } else subscriber.onValue?.(text);
      }
    });
  });
}

/**
 * A minimal graphql-sse subscriber in distinct-connections mode: one POST with `Accept:
 * text/event-stream` on a raw `http` request, each chunk handed on unparsed (the server writes each
 * `next` event in one chunk).
 */
function openEventStream(url: string, authorization: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query: WATCH });
    const request: ClientRequest = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization, 'content-length': Buffer.byteLength(body) },
      agent: false,
    });
    const subscriber: Subscriber = { onValue: undefined, close: () => request.destroy() };
    let first = true;
    request.once('error', reject);
    request.once('response', (response) => {
      if (response.statusCode !== 200) reject(new Error(`event stream refused: ${response.statusCode}`));
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        if (!text.includes('event: next')) return;
        if (first) {
          first = false;
          resolve(subscriber);
        } else subscriber.onValue?.(text);
      });
    });
    request.end(body);
  });
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
  stop(): Promise<void>;
}

async function startServer(dir: string): Promise<Server> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, EVENTFOLD_SSE_BENCH_SERVER: dir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the API server exited with ${code}`)));
  });
  return {
    url,
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
    sse: true,
  });
  const { url } = await api.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (message) => {
    if (message !== 'stop') return;
    void api
      .close({ timeoutMs: 5_000 })
      .then(() => readModels.close())
      .then(() => eventStore.close())
      .then(() => process.exit(0));
  });
  process.send!({ url });
}

if (process.env.EVENTFOLD_SSE_BENCH_SERVER && process.send) {
  serve(process.env.EVENTFOLD_SSE_BENCH_SERVER).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
