import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { InMemoryReadModelStore, ProjectionEngine, ProjectionFailedError, defineProjection } from '../../src/projections';
import { retryDelay } from '../../src/projections/retry-policy';
import { isTransientError } from '../../src/projections/transient-error';
import '../../src/backends/sqlite/transient-errors';
import '../../src/backends/postgres/transient-errors';
import { flaky } from './support/flaky-read-model-store';
import { orderEvent, orderSummary } from './support/order-summary.projection';

describe('engine faults (in memory)', () => {
  let eventStore: InMemoryEventStore;
  let engine: ProjectionEngine | undefined;

  beforeEach(() => {
    eventStore = new InMemoryEventStore();
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await eventStore.close();
  });

  it('rolls back a batch whose commit fails after the handler ran, retries it, and applies it once', async () => {
    const store = flaky(new InMemoryReadModelStore());
    let handlerRuns = 0;
    const counting = defineProjection({
      ...orderSummary,
      async handle(events, tx) {
        handlerRuns++;
        await orderSummary.handle(events, tx);
      },
    });
    engine = new ProjectionEngine({ eventStore, readModels: store, projections: [counting], retry: { initialDelayMs: 1, maxDelayMs: 5 } });
    await engine.start();
    store.failNextCommits(3);
    const { position } = await eventStore.appendToStream('order-1', [
      orderEvent('OrderPlaced', { orderId: 'o-1' }),
      orderEvent('ItemAdded', { orderId: 'o-1', price: 4 }),
    ]);
    await engine.waitForPosition('order-summary', position);
    expect(store.stats.failures).toBe(3);
    expect(handlerRuns).toBe(4);
    expect(await store.documents(counting, 'orders').get('o-1')).toMatchObject({ total: 4, items: 1 });
    const status = await engine.status('order-summary');
    expect(status).toMatchObject({ state: 'live', eventsHandled: 2, retry: undefined });
    expect(status.lastError).toMatchObject({ code: 'READ_MODEL_UNAVAILABLE', message: 'connection lost (injected)' });
  });

  it('reports the retry in status while a database failure lasts', async () => {
    const store = flaky(new InMemoryReadModelStore());
    engine = new ProjectionEngine({ eventStore, readModels: store, projections: [orderSummary], retry: { initialDelayMs: 5, maxDelayMs: 10 } });
    await engine.start();
    store.failNextCommits(Number.MAX_SAFE_INTEGER);
    const { position } = await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    const retrying = await engine.waitForStatus('order-summary', (status) => (status.retry?.attempt ?? 0) >= 3);
    expect(retrying.state).toBe('catching-up');
    expect(retrying.lagEvents).toBe(1);
    expect(retrying.lagMs).toBeGreaterThanOrEqual(0);
    expect(retrying.retry!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() - 1_000);
    store.failNextCommits(0);
    await engine.waitForPosition('order-summary', position);
  });

  it('starts without waiting for an unreachable database, and opens the projection once it is back', async () => {
    const store = flaky(new InMemoryReadModelStore());
    store.failNextLoads(3);
    engine = new ProjectionEngine({ eventStore, readModels: store, projections: [orderSummary], retry: { initialDelayMs: 5, maxDelayMs: 10 } });
    await engine.start();
    const waiting = await engine.status('order-summary');
    expect(waiting.state).toBe('catching-up');
    expect(waiting.lastError).toMatchObject({ code: 'READ_MODEL_UNAVAILABLE' });
    const { position } = await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    await engine.waitForPosition('order-summary', position);
    expect(store.stats.failures).toBe(3);
  });

  it('keeps the old version serving when a rebuild fails, and switches over once the rebuild is resumed and caught up', async () => {
    const readModels = new InMemoryReadModelStore();
    let broken = false;
    const fragile = defineProjection({
      ...orderSummary,
      async handle(events, tx) {
        if (broken) throw new Error('rebuild bug');
        await orderSummary.handle(events, tx);
      },
    });
    const first = await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [fragile] });
    await engine.start();
    await engine.waitForPosition('order-summary', first.position);
    broken = true;
    await engine.rebuild('order-summary');
    const failed = await engine.waitForStatus('order-summary', (status) => status.rebuild?.state === 'failed');
    expect(failed.state).toBe('live');
    expect(failed.rebuild?.lastError?.message).toBe('rebuild bug');
    await expect(engine.whenRebuilt('order-summary', { timeoutMs: 1_000 })).rejects.toBeInstanceOf(ProjectionFailedError);
    expect((await readModels.load('order-summary')).active).toEqual({ version: 1, generation: 0 });

    broken = false;
    engine.resume('order-summary');
    await engine.whenRebuilt('order-summary', { timeoutMs: 5_000 });
    expect((await readModels.load('order-summary')).active).toEqual({ version: 1, generation: 1 });
    const second = await eventStore.appendToStream('order-2', [orderEvent('OrderPlaced', { orderId: 'o-2' })]);
    await engine.waitForPosition('order-summary', second.position);
    expect(await readModels.documents(fragile, 'orders').count()).toBe(2);
  });

  it('classifies database failures as transient and everything else as the batch’s fault', () => {
    expect(isTransientError(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('io'), { code: 'SQLITE_IOERR_WRITE' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('gone'), { code: '57P01' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: '08006' }) }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('check'), { code: 'SQLITE_CONSTRAINT_CHECK' }))).toBe(false);
    expect(isTransientError(Object.assign(new Error('unique'), { code: '23505' }))).toBe(false);
    expect(isTransientError(new TypeError('cannot read properties of undefined'))).toBe(false);
    expect(isTransientError('a string')).toBe(false);
  });

  it('backs off exponentially with equal jitter (half the step is a floor) up to the maximum', () => {
    const middle = () => 0.5;
    expect(retryDelay({ initialDelayMs: 100, maxDelayMs: 1_000 }, 1, middle)).toBe(75);
    expect(retryDelay({ initialDelayMs: 100, maxDelayMs: 1_000 }, 3, middle)).toBe(300);
    expect(retryDelay({ initialDelayMs: 100, maxDelayMs: 1_000 }, 30, middle)).toBe(750);
    expect(retryDelay({ initialDelayMs: 100, maxDelayMs: 10_000 }, 2, () => 0)).toBe(100);
    expect(retryDelay({ initialDelayMs: 100, maxDelayMs: 10_000 }, 2, () => 0.999)).toBeLessThan(200);
  });
});
