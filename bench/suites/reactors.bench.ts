import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventData, type EventStore } from '../../src/event-store';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { defineReactor, defineWebhookReactor, ReactorRunner, type Reactor } from '../../src/handlers';
import { startPostgres } from '../../test/support/postgres-server';
import type { BenchContext } from '../harness';

const payload = { orderId: 'o-123', customerId: 'c-456', items: [{ menuItemId: 'm-1', quantity: 2 }], total: 25.5 };
const STREAMS = 1_000;
const RUNS = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Reactors: events/s through an in-process reactor with checkpointing (SQLite, PostgreSQL), and
 * webhook deliveries/s to a local HTTP sink in another process. Default runner settings: per-stream
 * ordering, concurrency 32, checkpoints every 100 ms, every attempt in the invocation log. The
 * in-process reactor filters by event type (the common case).
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-reactors-'));
  const postgres = await startPostgres();
  try {
    const backends: Array<[string, () => Promise<EventStore>]> = [
      ['sqlite', () => Promise.resolve(SqliteEventStore.open(join(folder, 'store.db')))],
      ['postgres', () => PostgresEventStore.connect(postgres.url)],
    ];
    for (const [backend, open] of backends) {
      const store = await open();
      try {
        await measureInProcess(context, backend, store);
      } finally {
        await store.close();
      }
    }
    const store = SqliteEventStore.open(join(folder, 'webhook.db'));
    try {
      await measureWebhook(context, folder, store);
    } finally {
      await store.close();
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Appends `count` events over {@link STREAMS} streams, 100 per append; returns the last position. */
async function seed(store: EventStore, prefix: string, count: number, type = 'OrderPlaced'): Promise<void> {
  const perAppend = 100;
  for (let offset = 0; offset < count; offset += perAppend * 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, Math.ceil((count - offset) / perAppend)) }, (_, index) => {
        const events: EventData[] = Array.from({ length: perAppend }, () => ({ id: randomUUID(), type, data: payload }));
        return store.appendToStream(`${prefix}-${(offset / perAppend + index) % STREAMS}`, events);
      }),
    );
  }
}

/** Time from start until the reactor has finished every event, in events per second. */
async function drain(store: EventStore, reactor: Reactor, count: number, maxMs: number): Promise<number> {
  const last = (await store.headPosition())!;
  const begin = performance.now();
  const runner = await ReactorRunner.start({ store, reactors: [reactor] });
  try {
    await runner.waitForPosition(reactor.name, last, { timeoutMs: maxMs });
    return (count / (performance.now() - begin)) * 1000;
  } finally {
    await runner.stop();
  }
}

async function measureInProcess(context: BenchContext, backend: string, store: EventStore): Promise<void> {
  const count = context.quick ? 50_000 : 200_000;
  const prefix = `inproc${randomUUID().slice(0, 6)}`;
  // Filtered by event type, as most reactors are (a unique type per run).
  const type = `OrderPlaced${prefix}`;
  context.progress(`${backend}: appending ${count} events`);
  await seed(store, prefix, count, type);
  const rates: number[] = [];
  // Three runs, each a new reactor from the first event; the median is recorded (the machine is shared).
  for (let run = 0; run < RUNS; run++) {
    let handled = 0;
    const reactor = defineReactor({
      name: `${prefix}-count-${run}`,
      filter: { eventTypes: [type] },
      handle: () => {
        handled++;
      },
    });
    context.progress(`${backend}: in-process reactor over ${count} events (run ${run + 1} of ${RUNS})`);
    rates.push(await drain(store, reactor, count, 120_000));
    if (handled < count) throw new Error(`the reactor handled ${handled} of ${count} events`);
  }
  context.progress(`${backend}: runs ${rates.map((rate) => Math.round(rate)).join(', ')} events/s`);
  context.record({ backend, metric: 'reactor_inprocess', value: median(rates), unit: 'events/s' });
}

const SINK = `
const http = require('node:http');
let deliveries = 0;
const server = http.createServer((request, response) => {
  request.on('data', () => {});
  request.on('end', () => { deliveries++; response.writeHead(204); response.end(); });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => process.send({ deliveries }));
`;

async function measureWebhook(context: BenchContext, folder: string, store: EventStore): Promise<void> {
  const count = context.quick ? 10_000 : 50_000;
  const sinkFile = join(folder, 'sink.js');
  writeFileSync(sinkFile, SINK);
  const sink = fork(sinkFile, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const { port } = await new Promise<{ port: number }>((resolve) => sink.once('message', (message) => resolve(message as { port: number })));
    const prefix = `hook${randomUUID().slice(0, 6)}`;
    context.progress(`webhook: appending ${count} events`);
    await seed(store, prefix, count);
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const hook = defineWebhookReactor({
        name: `${prefix}-hook-${run}`,
        filter: { streamPrefixes: [`${prefix}-`] },
        url: `http://127.0.0.1:${port}/deliveries`,
        secret: 'a-bench-secret-of-some-length',
        concurrency: 64,
      });
      try {
        context.progress(`webhook: ${count} deliveries to a local HTTP sink in another process (run ${run + 1} of ${RUNS})`);
        rates.push(await drain(store, hook, count, 120_000));
        sink.send('count');
        const { deliveries } = await new Promise<{ deliveries: number }>((resolve) => sink.once('message', (message) => resolve(message as { deliveries: number })));
        if (deliveries < count * (run + 1)) throw new Error(`the sink got ${deliveries} of ${count * (run + 1)} deliveries`);
      } finally {
        await hook.close();
      }
    }
    context.progress(`webhook: runs ${rates.map((rate) => Math.round(rate)).join(', ')} deliveries/s`);
    context.record({ backend: 'sqlite', metric: 'webhook_delivery', value: median(rates), unit: 'deliveries/s' });
  } finally {
    sink.kill();
  }
}
