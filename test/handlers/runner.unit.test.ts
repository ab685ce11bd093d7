import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineAggregate, defineCommands, defineEvents, type Decider } from '../../src/domain';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import type { RecordedEvent } from '../../src/event-store/event-store';
import {
  defineReactor,
  InMemoryReactorStateStore,
  InvalidReactorError,
  NonRetryableError,
  partitionOf,
  ReactorRunner,
  RetryLaterError,
  UnknownReactorError,
  type Reactor,
  type ReactorHandler,
} from '../../src/handlers';
import { appendEach, gate, label, until } from './support/reactor-fixtures';

const runners: ReactorRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});

async function start(store: InMemoryEventStore, reactors: Reactor[], extra: Partial<Parameters<typeof ReactorRunner.start>[0]> = {}) {
  const runner = await ReactorRunner.start({ store, reactors, checkpointIntervalMs: 5, partitions: { count: 4 }, ...extra });
  runners.push(runner);
  return runner;
}

function reactor(handle: ReactorHandler, options: Partial<Parameters<typeof defineReactor>[0]> = {}): Reactor {
  return defineReactor({ name: 'test', filter: { streamPrefixes: ['order-'] }, retry: { initialDelayMs: 1, maxDelayMs: 5 }, handle, ...options });
}

describe('ReactorRunner (in memory)', () => {
  it('delivers every matching event once in a quiet run, and per stream in revision order', async () => {
    const store = new InMemoryEventStore();
    const seen: RecordedEvent[] = [];
    const runner = await start(store, [
      reactor((event) => {
        seen.push(event);
      }),
    ]);
    const items = Array.from({ length: 60 }, (_, index) => ({ streamName: `order-${index % 6}`, type: 'Step', data: { index } }));
    await appendEach(store, [{ streamName: 'other-1', type: 'Ignored' }]);
    const last = await appendEach(store, items);
    await runner.waitForPosition('test', last);
    expect(seen).toHaveLength(60);
    expect(new Set(seen.map((event) => event.id)).size).toBe(60);
    for (let stream = 0; stream < 6; stream++) {
      const revisions = seen.filter((event) => event.streamName === `order-${stream}`).map((event) => Number(event.revision));
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    }
    expect(seen.some((event) => event.streamName === 'other-1')).toBe(false);
  });

  it('never checkpoints past unfinished work, and resumes from the checkpoint after a restart', async () => {
    const store = new InMemoryEventStore();
    const handled: string[] = [];
    const slow = reactor(
      async (event, context) => {
        if (event.streamName === 'order-a' && event.revision === 0n) {
          // Runs until the runner stops it.
          await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
          throw new Error('stopped');
        }
        handled.push(label(event));
      },
      { ordering: 'unordered' },
    );
    const runner = await start(store, [slow], { partitions: { count: 1 } });
    await appendEach(store, [{ streamName: 'order-a', type: 'Step' }]);
    await appendEach(store, [
      { streamName: 'order-b', type: 'Step' },
      { streamName: 'order-c', type: 'Step' },
    ]);
    await until(async () => (await runner.invocations()).length === 2, 'the two later events to be logged');
    // Flushes are serialised (log, then checkpoints): once a later flush has logged a fourth event, the
    // checkpoint write of the flush that logged the first two is done.
    const lastOfAll = await appendEach(store, [{ streamName: 'order-d', type: 'Step' }]);
    await until(async () => (await runner.invocations()).length === 3, 'a later flush');
    // Three later events finished, but the first has not: the checkpoint must stay before it.
    const [status] = await runner.status();
    expect(status!.checkpoints[0]!.position).toBeUndefined();
    await runner.stop();
    expect((await runner.listParked()).items).toEqual([]);

    const again: string[] = [];
    const second = await start(store, [reactor((event) => void again.push(label(event)), { ordering: 'unordered' })], {
      partitions: { count: 1 },
    });
    await second.waitForPosition('test', lastOfAll);
    // At least once: the unfinished event comes again (and the later ones with it, being after the checkpoint).
    expect(again).toContain('order-a@0');
    const [after] = await second.status();
    await until(async () => (await second.status())[0]!.position === lastOfAll.toString(), 'the checkpoint to reach the last event');
    expect(after!.handled).toBeGreaterThanOrEqual(1);
  });

  it('runs streams in parallel up to the concurrency limit but one event of a stream at a time (per-stream)', async () => {
    const store = new InMemoryEventStore();
    let running = 0;
    let most = 0;
    const perStream = new Map<string, number>();
    let overlapInStream = false;
    const release = gate();
    const runner = await start(store, [
      reactor(
        async (event) => {
          running++;
          most = Math.max(most, running);
          const inStream = (perStream.get(event.streamName) ?? 0) + 1;
          perStream.set(event.streamName, inStream);
          if (inStream > 1) overlapInStream = true;
          await release.promise;
          perStream.set(event.streamName, inStream - 1);
          running--;
        },
        { concurrency: 3 },
      ),
    ]);
    const last = await appendEach(
      store,
      Array.from({ length: 20 }, (_, index) => ({ streamName: `order-${index % 5}`, type: 'Step' })),
    );
    await until(() => running === 3, 'three handlers at once');
    release.open();
    await runner.waitForPosition('test', last);
    expect(most).toBe(3);
    expect(overlapInStream).toBe(false);
  });

  it('runs one stream fully in parallel when unordered', async () => {
    const store = new InMemoryEventStore();
    let running = 0;
    const release = gate();
    const runner = await start(store, [
      reactor(
        async () => {
          running++;
          await release.promise;
        },
        { ordering: 'unordered', concurrency: 4 },
      ),
    ]);
    const last = await appendEach(store, Array.from({ length: 8 }, () => ({ streamName: 'order-1', type: 'Step' })));
    await until(() => running === 4, 'four handlers of one stream at once');
    release.open();
    await runner.waitForPosition('test', last);
  });

  it('retries with backoff, records every attempt, and succeeds', async () => {
    const store = new InMemoryEventStore();
    const attempts: number[] = [];
    const runner = await start(store, [
      reactor((_event, context) => {
        attempts.push(context.delivery.attempt);
        expect(context.delivery.maxAttempts).toBe(5);
        if (context.delivery.attempt < 3) throw new Error(`flaky ${context.delivery.attempt}`);
      }),
    ]);
    const last = await appendEach(store, [{ streamName: 'order-1', type: 'Step' }]);
    await runner.waitForPosition('test', last);
    expect(attempts).toEqual([1, 2, 3]);
    await until(async () => (await runner.invocations({ reactor: 'test' })).length === 3, 'three recorded attempts');
    const log = await runner.invocations({ reactor: 'test' });
    expect(log.map((entry) => [entry.attempt, entry.outcome, entry.error?.message])).toEqual([
      [3, 'succeeded', undefined],
      [2, 'retrying', 'flaky 2'],
      [1, 'retrying', 'flaky 1'],
    ]);
    expect(log.every((entry) => entry.durationMs >= 0 && entry.workerId === runner.workerId)).toBe(true);
  });

  it('parks after the last attempt, parks a NonRetryableError at once, and honours RetryLaterError', async () => {
    const store = new InMemoryEventStore();
    const attemptsOf = new Map<string, number>();
    const retryAfterSeenAt: number[] = [];
    const runner = await start(store, [
      reactor(
        (event, context) => {
          attemptsOf.set(event.streamName, context.delivery.attempt);
          if (event.streamName === 'order-bad') throw new NonRetryableError('malformed order');
          if (event.streamName === 'order-down') throw new Error('service down');
          if (event.streamName === 'order-later' && context.delivery.attempt === 1) {
            retryAfterSeenAt.push(Date.now());
            throw new RetryLaterError('rate limited', { retryAfterMs: 60 });
          }
          if (event.streamName === 'order-later') retryAfterSeenAt.push(Date.now());
        },
        { retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1_000 } },
      ),
    ]);
    const last = await appendEach(store, [
      { streamName: 'order-bad', type: 'Step' },
      { streamName: 'order-down', type: 'Step' },
      { streamName: 'order-later', type: 'Step' },
    ]);
    await runner.waitForPosition('test', last);
    expect(attemptsOf.get('order-bad')).toBe(1);
    expect(attemptsOf.get('order-down')).toBe(3);
    expect(retryAfterSeenAt[1]! - retryAfterSeenAt[0]!).toBeGreaterThanOrEqual(55);
    const { items } = await runner.listParked({ reactor: 'test' });
    expect(items.map((parked) => [parked.streamName, parked.attempts, parked.reason, parked.error.code, parked.status])).toEqual([
      ['order-bad', 1, 'malformed order', 'NON_RETRYABLE', 'parked'],
      ['order-down', 3, 'service down', undefined, 'parked'],
    ]);
    const [status] = await runner.status();
    expect(status!.parkedCount).toBe(2);
    expect(status!.lastError).toBeDefined();
  });

  it('parks when the next retry would pass the maximum age', async () => {
    const store = new InMemoryEventStore();
    let calls = 0;
    const runner = await start(store, [
      reactor(
        () => {
          calls++;
          throw new Error('always');
        },
        { retry: { maxAttempts: 1_000, initialDelayMs: 20, maxDelayMs: 20, maxAgeMs: 50 } },
      ),
    ]);
    const last = await appendEach(store, [{ streamName: 'order-1', type: 'Step' }]);
    await runner.waitForPosition('test', last);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThan(10);
    expect((await runner.listParked()).items).toHaveLength(1);
  });

  it('per-stream: later events wait behind a parked one and run in order after a successful redrive', async () => {
    const store = new InMemoryEventStore();
    let broken = true;
    const handled: string[] = [];
    const runner = await start(store, [
      reactor(
        (event) => {
          if (broken && event.streamName === 'order-x' && event.revision === 1n) throw new Error('bug');
          handled.push(label(event));
        },
        { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } },
      ),
    ]);
    const last = await appendEach(store, [
      { streamName: 'order-x', type: 'Step' },
      { streamName: 'order-x', type: 'Step' },
      { streamName: 'order-y', type: 'Step' },
      { streamName: 'order-x', type: 'Step' },
      { streamName: 'order-x', type: 'Step' },
    ]);
    await runner.waitForPosition('test', last);
    expect(handled).toEqual(['order-x@0', 'order-y@0']);
    const { items } = await runner.listParked({ reactor: 'test' });
    expect(items.map((parked) => [label(parked.event), parked.status])).toEqual([
      ['order-x@1', 'parked'],
      ['order-x@2', 'waiting'],
      ['order-x@3', 'waiting'],
    ]);
    // Waiting events cannot be redriven on their own; the parked one can.
    broken = false;
    expect(await runner.redrive({ reactor: 'test', eventId: items[1]!.eventId })).toBe(0);
    expect(await runner.redrive({ reactor: 'test', eventId: items[0]!.eventId })).toBe(1);
    await until(() => handled.length === 5, 'the stream to drain');
    expect(handled.slice(2)).toEqual(['order-x@1', 'order-x@2', 'order-x@3']);
    expect((await runner.listParked()).items).toEqual([]);
    // The stream is unblocked: new events run at once.
    const next = await appendEach(store, [{ streamName: 'order-x', type: 'Step' }]);
    await runner.waitForPosition('test', next);
    expect(handled[5]).toBe('order-x@4');
  });

  it("per-stream with whenStreamBlocked 'park': later events are parked too and a stream redrive sends them in order", async () => {
    const store = new InMemoryEventStore();
    let broken = true;
    const handled: string[] = [];
    const runner = await start(store, [
      reactor(
        (event) => {
          if (broken && event.revision === 0n) throw new NonRetryableError('bug');
          handled.push(label(event));
        },
        { whenStreamBlocked: 'park' },
      ),
    ]);
    const last = await appendEach(store, [
      { streamName: 'order-x', type: 'Step' },
      { streamName: 'order-x', type: 'Step' },
      { streamName: 'order-x', type: 'Step' },
    ]);
    await runner.waitForPosition('test', last);
    const { items } = await runner.listParked();
    expect(items.map((parked) => [label(parked.event), parked.status, parked.error.code])).toEqual([
      ['order-x@0', 'parked', 'NON_RETRYABLE'],
      ['order-x@1', 'parked', 'STREAM_BLOCKED'],
      ['order-x@2', 'parked', 'STREAM_BLOCKED'],
    ]);
    broken = false;
    expect(await runner.redrive({ reactor: 'test', streamName: 'order-x' })).toBe(3);
    await until(() => handled.length === 3, 'the redriven stream');
    expect(handled).toEqual(['order-x@0', 'order-x@1', 'order-x@2']);
    await until(async () => (await runner.listParked()).items.length === 0, 'the parked list to empty');
  });

  it('unordered: a parked event blocks nothing; redrive all with a limit, oldest first; a failing redrive parks again', async () => {
    const store = new InMemoryEventStore();
    const fixed = new Set<string>();
    const handled: string[] = [];
    const runner = await start(store, [
      reactor(
        (event) => {
          if (event.streamName.startsWith('order-bad') && !fixed.has(event.streamName)) throw new NonRetryableError('not yet');
          handled.push(label(event));
        },
        { ordering: 'unordered' },
      ),
    ]);
    const last = await appendEach(store, [
      { streamName: 'order-bad1', type: 'Step' },
      { streamName: 'order-bad2', type: 'Step' },
      { streamName: 'order-bad1', type: 'Step' },
      { streamName: 'order-ok', type: 'Step' },
    ]);
    await runner.waitForPosition('test', last);
    expect(handled).toEqual(['order-ok@0']);
    expect((await runner.listParked()).items).toHaveLength(3);
    fixed.add('order-bad1');
    expect(await runner.redrive({ reactor: 'test', limit: 2 })).toBe(2);
    await until(() => handled.length === 2, 'the first redriven event');
    // order-bad1@0 ran, order-bad2@0 failed again and is parked again (not requested any more).
    await until(async () => (await runner.listParked()).items.every((parked) => !parked.redriveRequested), 'the redrives to finish');
    const { items } = await runner.listParked();
    expect(items.map((parked) => [label(parked.event), parked.attempts])).toEqual([
      ['order-bad2@0', 1],
      ['order-bad1@1', 1],
    ]);
    expect(await runner.redrive({ reactor: 'test', all: true })).toBe(2);
    await until(async () => (await runner.listParked()).items.length === 1, 'order-bad1@1 to go through');
    expect(handled).toContain('order-bad1@1');
  });

  it('pages parked events with a cursor', async () => {
    const store = new InMemoryEventStore();
    const runner = await start(store, [reactor(() => Promise.reject(new NonRetryableError('no')), { ordering: 'unordered' })]);
    const last = await appendEach(store, Array.from({ length: 5 }, (_, index) => ({ streamName: `order-${index}`, type: 'Step' })));
    await runner.waitForPosition('test', last);
    const first = await runner.listParked({ limit: 2 });
    const second = await runner.listParked({ limit: 2, after: first.next });
    const third = await runner.listParked({ limit: 2, after: second.next });
    expect([...first.items, ...second.items, ...third.items].map((parked) => parked.streamName)).toEqual([
      'order-0',
      'order-1',
      'order-2',
      'order-3',
      'order-4',
    ]);
    expect(third.next).toBeUndefined();
    await expect(runner.listParked({ after: 'nonsense' })).rejects.toBeInstanceOf(InvalidReactorError);
  });

  it('sends commands with ids derived from the event: a redelivered event never issues its command twice', async () => {
    const counterCommands = defineCommands({ Count: { schema: z.object({ source: z.string() }), stream: 'any' } });
    const counterEvents = defineEvents({ Counted: z.object({ source: z.string() }) });
    type CounterCommand = { type: 'Count'; data: { source: string } };
    type CounterEvent = { type: 'Counted'; data: { source: string } };
    const decider: Decider<CounterCommand, CounterEvent, null> = {
      initialState: () => null,
      decide: (command) => [{ type: 'Counted', data: command.data }],
      evolve: (state) => state,
    };
    const counter = defineAggregate({ category: 'counter', decider, commands: counterCommands, events: counterEvents });
    const store = new InMemoryEventStore();
    const state = new InMemoryReactorStateStore();
    const counting = reactor(async (event, context) => {
      await context.send(counter, { streamName: 'counter-1', command: { type: 'Count', data: { source: event.id } } });
    });
    const first = await start(store, [counting], { state });
    const last = await appendEach(store, [
      { streamName: 'order-1', type: 'Step' },
      { streamName: 'order-2', type: 'Step' },
    ]);
    await first.waitForPosition('test', last);
    await first.stop();
    // A fresh bookkeeping (no checkpoints): every event is delivered again.
    const second = await start(store, [counting], { state: new InMemoryReactorStateStore() });
    await second.waitForPosition('test', last);
    const counted: RecordedEvent[] = [];
    for await (const event of store.readStream('counter-1')) counted.push(event);
    expect(counted).toHaveLength(2);
    const [firstOrder] = await (async () => {
      const events: RecordedEvent[] = [];
      for await (const event of store.readStream('order-1')) events.push(event);
      return events;
    })();
    const fromFirst = counted.find((event) => (event.data as { source: string }).source === firstOrder!.id)!;
    expect(fromFirst.metadata.causationId).toBe(firstOrder!.id);
    expect(fromFirst.metadata.correlationId).toBe(firstOrder!.id);
  });

  it('gives each handler its idempotency key, a logger with fields, and an abort signal on stop', async () => {
    const store = new InMemoryEventStore();
    const lines: Record<string, unknown>[] = [];
    const started = gate();
    let aborted = false;
    const runner = await start(
      store,
      [
        reactor(async (event, context) => {
          expect(context.idempotencyKey).toBe(event.id);
          context.logger.info({ extra: 1 }, 'handling');
          started.open();
          await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
          aborted = true;
          throw new Error('stopped');
        }),
      ],
      {
        logger: {
          debug: () => undefined,
          info: (fields: Record<string, unknown> | string) => {
            if (typeof fields !== 'string') lines.push(fields);
          },
          warn: () => undefined,
          error: () => undefined,
        },
      },
    );
    await appendEach(store, [{ streamName: 'order-1', type: 'Step' }]);
    await started.promise;
    await runner.stop();
    expect(aborted).toBe(true);
    expect(lines[0]).toMatchObject({ reactor: 'test', streamName: 'order-1', attempt: 1, extra: 1 });
    // Stopped mid-handling: nothing parked, nothing checkpointed past it.
    expect((await runner.listParked()).items).toEqual([]);
    // Its partition has no checkpoint; the others may move past it (they have nothing unfinished).
    const checkpoints = (await runner.status())[0]!.checkpoints;
    expect(checkpoints[partitionOf('order-1', 4)]!.position).toBeUndefined();
  });

  it('deletes invocations older than the retention', async () => {
    const store = new InMemoryEventStore();
    const state = new InMemoryReactorStateStore();
    await state.recordInvocations([
      { reactor: 'test', eventId: randomUUID(), streamName: 'order-1', position: '0'.repeat(32), attempt: 1, outcome: 'succeeded', durationMs: 1, at: new Date(Date.now() - 120_000), workerId: 'w' },
    ]);
    const runner = await start(store, [reactor(() => Promise.resolve())], { state, invocationLog: { retentionMs: 60_000 } });
    await until(async () => (await runner.invocations()).length === 0, 'the old invocation to be pruned');
  });

  it('stops handling on its own when lease renewals hang, before the leases could expire', async () => {
    const store = new InMemoryEventStore();
    const state = new InMemoryReactorStateStore({ shared: true });
    let hang = false;
    const claim = state.claimLeases.bind(state);
    state.claimLeases = (...args) => (hang ? new Promise<never>(() => undefined) : claim(...args));
    const runner = await start(store, [reactor(() => undefined)], { state, partitions: { count: 4, leaseMs: 600 } });
    expect(runner.worker().heldPartitions).toEqual([0, 1, 2, 3]);
    const hungAt = Date.now();
    hang = true;
    await until(() => runner.worker().heldPartitions.length === 0, 'the runner to give up its partitions', 3_000);
    // Within the lease time of the last renewal (renewals run every 200 ms).
    expect(Date.now() - hungAt).toBeLessThan(600);
    expect((await runner.status())[0]!.state).toBe('waiting');
  });

  it('rejects bad options, unknown reactors and bad redrive requests with typed errors', async () => {
    const store = new InMemoryEventStore();
    await expect(ReactorRunner.start({ store, reactors: [reactor(() => Promise.resolve()), reactor(() => Promise.resolve())] })).rejects.toBeInstanceOf(
      InvalidReactorError,
    );
    await expect(ReactorRunner.start({ store, reactors: [], partitions: { count: 0 } })).rejects.toThrow(/partitions.count/);
    await expect(ReactorRunner.start({ store, reactors: [], bufferSize: 1.5 })).rejects.toThrow(/bufferSize/);
    const runner = await start(store, [reactor(() => Promise.resolve())]);
    await expect(runner.redrive({ reactor: 'nope' })).rejects.toBeInstanceOf(UnknownReactorError);
    await expect(runner.redrive({ reactor: 'test', all: true, streamName: 'order-1' })).rejects.toBeInstanceOf(InvalidReactorError);
    await expect(runner.redrive({ reactor: 'test', eventId: '' })).rejects.toBeInstanceOf(InvalidReactorError);
    await expect(runner.redrive({ reactor: 'test', limit: 0 })).rejects.toThrow(/limit/);
    await expect(runner.listParked({ reactor: 'nope' })).rejects.toBeInstanceOf(UnknownReactorError);
    await expect(runner.waitForPosition('nope', (await appendEach(store, [{ streamName: 'x-1', type: 'T' }])))).rejects.toBeInstanceOf(
      UnknownReactorError,
    );
  });
});
