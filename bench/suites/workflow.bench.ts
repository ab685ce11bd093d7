import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { handleCommand } from '../../src/commands';
import { BusinessRuleError, defineAggregate, defineCommands, defineEvents, type CommandOf, type Decider, type EventOf } from '../../src/domain';
import type { EventStore } from '../../src/event-store';
import { createHttpFunction, defineReactor, defineWebhookReactor, ReactorRunner } from '../../src/handlers';
import { defineCollection, defineProjection, ProjectionEngine, type ReadModelStore } from '../../src/projections';
import { PostgresEventStore, PostgresReadModelStore } from '../../src/backends/postgres';
import { SqliteEventStore, SqliteReadModelStore } from '../../src/backends/sqlite';
import { createDatabase, startPostgres } from '../../test/support/postgres-server';
import type { BenchContext } from '../harness';

/**
 * A four-step workflow in one process, end to end: command → reactor → command → reactor through an
 * HTTP function (a webhook reactor POSTs to a local `createHttpFunction` server) → command → reactor →
 * command, then the last event visible in a read model (a projection's document, read after the
 * engine's change feed announces it). Every step is woken by the store's change signal: the stores'
 * poll intervals are set to a minute and the reactors' checkpoint interval to 10 s, so a step that
 * waited for a poll or a checkpoint would show as a latency of seconds, not milliseconds.
 *
 * - `workflow_idle_p50/p99`: one workflow at a time.
 * - `workflow_load_p50/p99`: workflows started at a fixed 100/s (open loop: a start never waits for
 *   earlier workflows), over 10 s (3 s with `--quick`).
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-workflow-'));
  const postgres = await startPostgres();
  try {
    const backends: Array<[string, () => Promise<{ store: EventStore; readModels: ReadModelStore }>]> = [
      [
        'sqlite',
        () =>
          Promise.resolve({
            store: SqliteEventStore.open(join(folder, 'events.db'), { pollIntervalMs: POLL_MS }),
            readModels: SqliteReadModelStore.open(join(folder, 'read.db'), { pollIntervalMs: POLL_MS }),
          }),
      ],
      [
        'postgres',
        async () => {
          const { url } = await createDatabase(postgres.url, 'workflow');
          return { store: await PostgresEventStore.connect(url, { pollIntervalMs: POLL_MS }), readModels: await PostgresReadModelStore.connect(url) };
        },
      ],
    ];
    for (const [backend, open] of backends) {
      const { store, readModels } = await open();
      try {
        await measure(context, backend, store, readModels);
      } finally {
        await readModels.close();
        await store.close();
      }
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Far above any figure here: a step that waited for a poll would stand out. */
const POLL_MS = 60_000;

const workflowCommands = defineCommands({
  Place: { schema: z.object({ workflowId: z.string() }), stream: 'new' },
  Approve: { schema: z.object({}), stream: 'existing' },
  Charge: { schema: z.object({}), stream: 'existing' },
  Complete: { schema: z.object({}), stream: 'existing' },
});

const workflowEvents = defineEvents({
  WorkflowPlaced: z.object({ workflowId: z.string() }),
  WorkflowApproved: z.object({}),
  WorkflowCharged: z.object({}),
  WorkflowCompleted: z.object({}),
});

type WorkflowCommand = CommandOf<typeof workflowCommands>;
type WorkflowEvent = EventOf<typeof workflowEvents>;
type WorkflowState = { status: 'none' } | { status: 'placed' | 'approved' | 'charged' | 'completed' };

const NEXT: Readonly<Record<'Approve' | 'Charge' | 'Complete', { from: 'placed' | 'approved' | 'charged'; event: WorkflowEvent['type'] }>> = {
  Approve: { from: 'placed', event: 'WorkflowApproved' },
  Charge: { from: 'approved', event: 'WorkflowCharged' },
  Complete: { from: 'charged', event: 'WorkflowCompleted' },
};

const workflowDecider: Decider<WorkflowCommand, WorkflowEvent, WorkflowState> = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'Place':
        return [{ type: 'WorkflowPlaced', data: command.data }];
      case 'Approve':
      case 'Charge':
      case 'Complete': {
        const step = NEXT[command.type];
        if (state.status !== step.from) throw new BusinessRuleError('OUT_OF_ORDER', `${command.type} needs status ${step.from}, not ${state.status}`);
        return [{ type: step.event, data: {} } as WorkflowEvent];
      }
      default: {
        const _never: never = command;
        return _never;
      }
    }
  },
  evolve(_state, event) {
    switch (event.type) {
      case 'WorkflowPlaced':
        return { status: 'placed' };
      case 'WorkflowApproved':
        return { status: 'approved' };
      case 'WorkflowCharged':
        return { status: 'charged' };
      case 'WorkflowCompleted':
        return { status: 'completed' };
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
};

const workflow = defineAggregate({ category: 'workflow', decider: workflowDecider, commands: workflowCommands, events: workflowEvents });

interface WorkflowDocument {
  readonly status: string;
}

const STATUS: Readonly<Record<string, string>> = {
  WorkflowPlaced: 'placed',
  WorkflowApproved: 'approved',
  WorkflowCharged: 'charged',
  WorkflowCompleted: 'completed',
};

const workflowStatus = defineProjection({
  name: 'workflow-status',
  version: 1,
  eventTypes: ['WorkflowPlaced', 'WorkflowApproved', 'WorkflowCharged', 'WorkflowCompleted'],
  collections: { workflows: defineCollection<WorkflowDocument>() },
  documentKeys: { workflows: (event: { streamName: string }) => event.streamName },
  handle(events, tx) {
    const documents = tx.documents('workflows');
    for (const event of events) documents.put(event.streamName, { status: STATUS[event.type] ?? 'unknown' });
    return Promise.resolve();
  },
});

/** Times of one workflow's steps (performance.now()), for the per-hop breakdown. */
interface Trace {
  readonly start: number;
  placed?: number;
  approveWoken?: number;
  approveSent?: number;
  chargeWoken?: number;
  chargeSent?: number;
  completeWoken?: number;
  completeSent?: number;
  end?: number;
  readonly done: Promise<number>;
  finish(at: number): void;
}

async function measure(context: BenchContext, backend: string, store: EventStore, readModels: ReadModelStore): Promise<void> {
  const traces = new Map<string, Trace>();
  const secret = 'a-workflow-bench-secret';
  const approve = defineReactor({
    name: 'workflow-approve',
    filter: { eventTypes: ['WorkflowPlaced'] },
    handle: async (event, reactorContext) => {
      const trace = traces.get(event.streamName);
      if (trace) trace.approveWoken = performance.now();
      await reactorContext.send(workflow, { streamName: event.streamName, command: { type: 'Approve', data: {} } });
      if (trace) trace.approveSent = performance.now();
    },
  });
  const chargeFunction = createHttpFunction(
    async (event, functionContext) => {
      const trace = traces.get(event.streamName);
      if (trace) trace.chargeWoken = performance.now();
      await functionContext.send(workflow, { streamName: event.streamName, command: { type: 'Charge', data: {} } });
      if (trace) trace.chargeSent = performance.now();
    },
    { secret, commands: { store } },
  );
  const server: Server = createServer((request, response) => void chargeFunction(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const charge = defineWebhookReactor({
    name: 'workflow-charge',
    filter: { eventTypes: ['WorkflowApproved'] },
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/charge`,
    secret,
  });
  const complete = defineReactor({
    name: 'workflow-complete',
    filter: { eventTypes: ['WorkflowCharged'] },
    handle: async (event, reactorContext) => {
      const trace = traces.get(event.streamName);
      if (trace) trace.completeWoken = performance.now();
      await reactorContext.send(workflow, { streamName: event.streamName, command: { type: 'Complete', data: {} } });
      if (trace) trace.completeSent = performance.now();
    },
  });
  const engine = new ProjectionEngine({ eventStore: store, readModels, projections: [workflowStatus] });
  const documents = readModels.documents(workflowStatus, 'workflows');
  const unsubscribe = engine.changes.subscribe((change) => {
    if (change.projection !== workflowStatus.name) return;
    const keys = change.keys === 'all' ? [...traces.keys()] : change.keys;
    for (const key of keys) {
      const trace = traces.get(key);
      if (!trace) continue;
      // The end: the last event is visible to a reader of the read model.
      void documents.get(key).then((document) => {
        if (document?.status === 'completed') trace.finish(performance.now());
      });
    }
  });
  await engine.start();
  const runner = await ReactorRunner.start({ store, reactors: [approve, charge, complete], checkpointIntervalMs: 10_000 });
  const startWorkflow = (): Trace => {
    const id = randomUUID();
    const streamName = `workflow-${id}`;
    let finish!: (at: number) => void;
    let settled = false;
    const start = performance.now();
    const done = new Promise<number>((resolve) => {
      finish = (at) => {
        if (settled) return;
        settled = true;
        resolve(at - start);
      };
    });
    const trace: Trace = {
      start,
      done,
      finish: (at) => {
        trace.end ??= at;
        finish(at);
      },
    };
    traces.set(streamName, trace);
    void handleCommand({ store }, workflow, { streamName, command: { type: 'Place', data: { workflowId: id } } }).then(() => {
      trace.placed = performance.now();
    });
    return trace;
  };
  const within = async (traceList: readonly Trace[], timeoutMs: number): Promise<number[]> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${backend}: workflows did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([Promise.all(traceList.map((trace) => trace.done)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    context.progress(`${backend}: warm-up`);
    for (let index = 0; index < 10; index++) await within([startWorkflow()], 30_000);
    traces.clear();

    const idleCount = context.quick ? 30 : 100;
    context.progress(`${backend}: ${idleCount} workflows one at a time (idle)`);
    const idle: Trace[] = [];
    for (let index = 0; index < idleCount; index++) {
      const trace = startWorkflow();
      idle.push(trace);
      await within([trace], 30_000);
    }
    const idleMs = await within(idle, 1_000);
    context.progress(`${backend}: idle hops (p50 ms): ${stepBreakdown(idle)}`);
    context.record({ backend, metric: 'workflow_idle_p50', value: percentile(idleMs, 0.5), unit: 'ms' });
    context.record({ backend, metric: 'workflow_idle_p99', value: percentile(idleMs, 0.99), unit: 'ms' });
    traces.clear();

    const rate = 100;
    const seconds = context.quick ? 3 : 10;
    context.progress(`${backend}: ${rate} workflows/s for ${seconds} s (load)`);
    const loaded: Trace[] = [];
    const loopBefore = performance.eventLoopUtilization();
    const cpuBefore = process.cpuUsage();
    const begin = performance.now();
    for (let index = 0; index < rate * seconds; index++) {
      // Open loop on a fixed schedule: a late start is not skipped, it starts at once.
      const due = begin + (index * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      loaded.push(startWorkflow());
    }
    const loadMs = await within(loaded, 60_000);
    const loop = performance.eventLoopUtilization(loopBefore);
    const cpu = process.cpuUsage(cpuBefore);
    context.progress(`${backend}: load hops (p50 ms): ${stepBreakdown(loaded)}; offered ${rate}/s, started over ${Math.round(performance.now() - begin)} ms`);
    // What bounds the tail: the one process runs every step, so its event loop's busy share is the queue.
    context.progress(
      `${backend}: under load the event loop was busy ${(loop.utilization * 100).toFixed(0)}% of the time; ` +
        `process CPU ${((cpu.user + cpu.system) / 1000 / loaded.length).toFixed(2)} ms per workflow`,
    );
    context.progress(`${backend}: load hops (p99 ms): ${stepBreakdown(loaded, 0.99)}`);
    context.record({ backend, metric: 'workflow_load_p50', value: percentile(loadMs, 0.5), unit: 'ms' });
    context.record({ backend, metric: 'workflow_load_p99', value: percentile(loadMs, 0.99), unit: 'ms' });
  } finally {
    unsubscribe();
    await runner.stop();
    await charge.close();
    await engine.stop();
    await new Promise((resolve) => server.close(resolve));
  }
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/**
 * Median time of each hop: a command from its start until its append returned ("send"), and from there
 * until the next reactor's handler started ("→"), or until the read model showed the last event.
 */
function stepBreakdown(traces: readonly Trace[], quantile = 0.5): string {
  const hop = (from: (trace: Trace) => number | undefined, to: (trace: Trace) => number | undefined) => (trace: Trace) => {
    const begin = from(trace);
    const end = to(trace);
    return begin !== undefined && end !== undefined ? end - begin : undefined;
  };
  const steps: Array<[string, (trace: Trace) => number | undefined]> = [
    ['place send', hop((trace) => trace.start, (trace) => trace.placed)],
    ['→ approve reactor', hop((trace) => trace.placed, (trace) => trace.approveWoken)],
    ['approve send', hop((trace) => trace.approveWoken, (trace) => trace.approveSent)],
    ['→ charge function', hop((trace) => trace.approveSent, (trace) => trace.chargeWoken)],
    ['charge send', hop((trace) => trace.chargeWoken, (trace) => trace.chargeSent)],
    ['→ complete reactor', hop((trace) => trace.chargeSent, (trace) => trace.completeWoken)],
    ['complete send', hop((trace) => trace.completeWoken, (trace) => trace.completeSent)],
    ['→ read model', hop((trace) => trace.completeSent, (trace) => trace.end)],
  ];
  return steps
    .map(([label, of]) => {
      const values = traces.map(of).filter((value): value is number => value !== undefined);
      return `${label} ${values.length > 0 ? percentile(values, quantile).toFixed(1) : '-'}`;
    })
    .join(', ');
}
