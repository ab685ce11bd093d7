import { randomUUID } from 'node:crypto';
import { StoreUnavailableError } from '../../src/event-store/errors';
import type { EventStore, RecordedEvent, Subscription, SubscribeToAllOptions } from '../../src/event-store/event-store';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import type { Position } from '../../src/event-store/position';
import { followStore, type FollowPolicy, type FollowVerdict } from '../../src/internal/follow-store';

const event = (type: string) => ({ id: randomUUID(), type, data: {} });

/** The store, with subscriptions that throw after their `failAfter[n]`-th event (none: never). */
function failingSubscriptions(store: InMemoryEventStore, failAfter: (number | undefined)[]) {
  const opened: SubscribeToAllOptions[] = [];
  const closed: number[] = [];
  const source: Pick<EventStore, 'subscribeToAll'> = {
    subscribeToAll(options = {}) {
      const index = opened.length;
      opened.push(options);
      const inner = store.subscribeToAll(options);
      const limit = failAfter[index];
      const subscription: Subscription = {
        close: async () => {
          closed.push(index);
          await inner.close();
        },
        async *[Symbol.asyncIterator]() {
          let delivered = 0;
          for await (const message of inner) {
            if (message.kind === 'event' && limit !== undefined && delivered === limit) throw new StoreUnavailableError('connection lost');
            if (message.kind === 'event') delivered++;
            yield message;
          }
        },
      };
      return subscription;
    },
  };
  return { source, opened, closed };
}

/** A consumer with a checkpoint in memory: it handles each event once, then moves the checkpoint. */
function checkpointingPolicy(options: { onFailure?: (error: unknown, attempt: number) => FollowVerdict } = {}) {
  const handled: RecordedEvent[] = [];
  const failures: { error: unknown; attempt: number }[] = [];
  const froms: (Position | 'start')[] = [];
  let checkpoint: Position | undefined;
  let runsClosed = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const policy: FollowPolicy = {
    open: () => {
      const from = checkpoint ?? 'start';
      froms.push(from);
      return Promise.resolve({
        from,
        async consume(subscription, progressed) {
          for await (const message of subscription) {
            if (message.kind !== 'event') continue;
            handled.push(message.event);
            checkpoint = message.event.position;
            progressed();
            for (const waiter of waiters.filter((candidate) => handled.length >= candidate.count)) waiter.resolve();
          }
        },
        close: () => {
          runsClosed++;
          return Promise.resolve();
        },
      });
    },
    onFailure: (error, attempt) => {
      failures.push({ error, attempt });
      return options.onFailure?.(error, attempt) ?? { kind: 'retry', delayMs: 1 };
    },
  };
  const handledCount = (count: number): Promise<void> =>
    handled.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
  return { policy, handled, failures, froms, handledCount, runsClosed: () => runsClosed };
}

describe('followStore', () => {
  let store: InMemoryEventStore;

  beforeEach(() => {
    store = new InMemoryEventStore();
  });

  afterEach(async () => {
    await store.close();
  });

  it('restarts a failed subscription after the backoff the policy chose, from the checkpoint, handling nothing twice', async () => {
    await store.appendToStream('order-1', [event('A'), event('B'), event('C')]);
    const { source, opened, closed } = failingSubscriptions(store, [2]);
    const consumer = checkpointingPolicy();
    const abort = new AbortController();
    const following = followStore(source, consumer.policy, abort.signal);

    await consumer.handledCount(3);
    abort.abort();
    await expect(following).resolves.toBe('aborted');

    expect(consumer.handled.map((recorded) => recorded.type)).toEqual(['A', 'B', 'C']);
    expect(consumer.failures).toHaveLength(1);
    expect(consumer.failures[0]!.attempt).toBe(1);
    expect(consumer.failures[0]!.error).toBeInstanceOf(StoreUnavailableError);
    // The second subscription starts after the last handled event, not from the start again.
    expect(opened).toHaveLength(2);
    expect(opened[0]!.fromPosition).toBe('start');
    expect(opened[1]!.fromPosition).toBe(consumer.handled[1]!.position);
    expect(consumer.froms[1]).toBe(consumer.handled[1]!.position);
    expect(closed).toEqual(expect.arrayContaining([0, 1]));
    expect(consumer.runsClosed()).toBe(2);
  });

  it('counts failures in a row and starts over once work went through', async () => {
    await store.appendToStream('order-1', [event('A'), event('B')]);
    // Two subscriptions fail before their first event; the third delivers A and then fails.
    const { source } = failingSubscriptions(store, [0, 0, 1]);
    const consumer = checkpointingPolicy();
    const abort = new AbortController();
    const following = followStore(source, consumer.policy, abort.signal);

    await consumer.handledCount(2);
    abort.abort();
    await following;

    expect(consumer.failures.map((failure) => failure.attempt)).toEqual([1, 2, 1]);
    expect(consumer.handled.map((recorded) => recorded.type)).toEqual(['A', 'B']);
  });

  it('treats a subscription that ends by itself as a failure', async () => {
    await store.appendToStream('order-1', [event('A')]);
    let opens = 0;
    const failures: unknown[] = [];
    const abort = new AbortController();
    const end = await followStore(
      store,
      {
        open: () => {
          opens++;
          return Promise.resolve({ from: 'start', consume: () => Promise.resolve() });
        },
        onFailure: (error) => {
          failures.push(error);
          return failures.length < 2 ? { kind: 'resume-now' } : { kind: 'stop' };
        },
      },
      abort.signal,
    );
    expect(end).toBe('stopped');
    expect(opens).toBe(2);
    expect(failures).toEqual([expect.any(StoreUnavailableError), expect.any(StoreUnavailableError)]);
  });

  it('stops when the policy says so, closing the subscription and the run', async () => {
    await store.appendToStream('order-1', [event('A'), event('B')]);
    const { source, opened, closed } = failingSubscriptions(store, [1]);
    const consumer = checkpointingPolicy({ onFailure: () => ({ kind: 'stop' }) });
    const end = await followStore(source, consumer.policy, new AbortController().signal);

    expect(end).toBe('stopped');
    expect(opened).toHaveLength(1);
    expect(new Set(closed)).toEqual(new Set([0]));
    expect(consumer.runsClosed()).toBe(1);
    expect(consumer.handled.map((recorded) => recorded.type)).toEqual(['A']);
  });

  it('stops on abort while live: closes the subscription, ends the run and asks the policy nothing', async () => {
    await store.appendToStream('order-1', [event('A')]);
    const { source, closed } = failingSubscriptions(store, []);
    const consumer = checkpointingPolicy();
    const abort = new AbortController();
    const following = followStore(source, consumer.policy, abort.signal);
    await consumer.handledCount(1);

    abort.abort();
    await expect(following).resolves.toBe('aborted');
    expect(new Set(closed)).toEqual(new Set([0]));
    expect(consumer.runsClosed()).toBe(1);
    expect(consumer.failures).toEqual([]);
  });

  it('stops on abort during a backoff without waiting it out or opening another run', async () => {
    const { source } = failingSubscriptions(store, [0]);
    await store.appendToStream('order-1', [event('A')]);
    const abort = new AbortController();
    let failed: () => void = () => undefined;
    const firstFailure = new Promise<void>((resolve) => (failed = resolve));
    const consumer = checkpointingPolicy({
      onFailure: () => {
        failed();
        return { kind: 'retry', delayMs: 3_600_000 };
      },
    });
    const following = followStore(source, consumer.policy, abort.signal);
    await firstFailure;

    abort.abort();
    await expect(following).resolves.toBe('aborted');
    expect(consumer.froms).toHaveLength(1);
  });
});
