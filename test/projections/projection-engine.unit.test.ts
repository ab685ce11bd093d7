import type { AppendResult } from '../../src/event-store/event-store';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import {
  InMemoryReadModelStore,
  ProjectionEngine,
  ProjectionFailedError,
  WaitForPositionTimeoutError,
  defineProjection,
  type ProjectionChange,
} from '../../src/projections';
import { orderEvent, orderSummary } from './support/order-summary.projection';

describe('ProjectionEngine (in memory)', () => {
  let eventStore: InMemoryEventStore;
  let readModels: InMemoryReadModelStore;
  let engine: ProjectionEngine | undefined;

  beforeEach(() => {
    eventStore = new InMemoryEventStore();
    readModels = new InMemoryReadModelStore();
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await eventStore.close();
  });

  it('projects stored and live events into documents and waits for a position', async () => {
    await eventStore.appendToStream('order-1', [
      orderEvent('OrderPlaced', { orderId: 'o-1', customerId: 'c-1' }),
      orderEvent('ItemAdded', { orderId: 'o-1', price: 5 }),
    ]);
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
    await engine.start();
    const { position } = await eventStore.appendToStream('order-1', [
      orderEvent('ItemAdded', { orderId: 'o-1', price: 7 }),
      orderEvent('OrderPaid', { orderId: 'o-1' }),
    ]);
    await engine.waitForPosition('order-summary', position, { timeoutMs: 5_000 });
    const docs = readModels.documents(orderSummary, 'orders');
    expect(await docs.get('o-1')).toEqual({ orderId: 'o-1', status: 'paid', total: 12, items: 2, customerId: 'c-1' });
    expect(await docs.find({ where: { status: 'paid' } })).toHaveLength(1);
    const status = await engine.status('order-summary');
    expect(status).toMatchObject({ state: 'live', version: 1, eventsHandled: 4, lagEvents: 0, lagMs: 0 });
    expect(status.position?.equals(position)).toBe(true);
  });

  it('announces each committed batch with its changed keys and position', async () => {
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
    const changes: ProjectionChange[] = [];
    engine.changes.subscribe((change) => changes.push(change));
    await engine.start();
    await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    const { position } = await eventStore.appendToStream('order-2', [
      orderEvent('OrderPlaced', { orderId: 'o-2' }),
      orderEvent('OrderPlaced', { orderId: 'o-3' }),
    ]);
    await engine.waitForPosition('order-summary', position);
    const keys = changes.flatMap((change) => (change.keys === 'all' ? [] : change.keys));
    expect(keys.sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect(changes.at(-1)!.position.equals(position)).toBe(true);
    expect(changes.every((change) => change.projection === 'order-summary' && change.version === 1)).toBe(true);
  });

  it('resolves a wait for an event of a type the projection does not handle', async () => {
    engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
    await engine.start();
    await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    const { position } = await eventStore.appendToStream('audit-1', [orderEvent('SomethingElse', {})]);
    await engine.waitForPosition('order-summary', position, { timeoutMs: 2_000 });
    expect(await readModels.documents(orderSummary, 'orders').get('o-1')).toBeDefined();
  });

  it('fails a wait with a typed timeout error when the projection cannot get there', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const slow = defineProjection({
      name: 'slow',
      version: 1,
      eventTypes: ['OrderPlaced'],
      async handle() {
        await blocked;
      },
    });
    engine = new ProjectionEngine({ eventStore, readModels, projections: [slow] });
    await engine.start();
    const { position } = await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    const error = await engine.waitForPosition('slow', position, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitForPositionTimeoutError);
    expect(error).toMatchObject({ code: 'WAIT_TIMEOUT', projection: 'slow', timeoutMs: 50 });
    release();
    await engine.waitForPosition('slow', position, { timeoutMs: 2_000 });
  });

  it('hands the handler batches no larger than the batch size', async () => {
    const sizes: number[] = [];
    const counting = defineProjection({
      name: 'counting',
      version: 1,
      eventTypes: ['OrderPlaced'],
      batchSize: 40,
      handle(events) {
        sizes.push(events.length);
      },
    });
    const appended: AppendResult[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await eventStore.appendToStream(`order-${i}`, Array.from({ length: 30 }, (_, n) => orderEvent('OrderPlaced', { orderId: `o-${i}-${n}` })));
      appended.push(result);
    }
    engine = new ProjectionEngine({ eventStore, readModels, projections: [counting] });
    await engine.start();
    await engine.waitForPosition('counting', appended[4]!.position);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(150);
    expect(Math.max(...sizes)).toBe(40);
  });

  it('loads the documents a batch will read in one prefetch per collection when the projection names them', async () => {
    const prefetched: string[][] = [];
    const spying: typeof readModels = Object.assign(Object.create(readModels) as InMemoryReadModelStore, {
      commitBatch: ((layout, request, work) =>
        readModels.commitBatch(layout, request, (tx) =>
          work(
            Object.assign(Object.create(tx) as typeof tx, {
              documents: (collection: string) => {
                const writer = tx.documents(collection);
                return Object.assign(Object.create(writer) as typeof writer, {
                  prefetch: (keys: Iterable<string>) => {
                    prefetched.push([...keys]);
                    return writer.prefetch(keys);
                  },
                });
              },
            }),
          ),
        )) satisfies InMemoryReadModelStore['commitBatch'],
    });
    const keyed = defineProjection({
      ...orderSummary,
      documentKeys: { orders: (event) => (event.data as { orderId: string }).orderId },
    });
    const { position } = await eventStore.appendToStream('order-1', [
      orderEvent('OrderPlaced', { orderId: 'o-1' }),
      orderEvent('ItemAdded', { orderId: 'o-1', price: 1 }),
      orderEvent('OrderPlaced', { orderId: 'o-2' }),
      orderEvent('ItemAdded', { orderId: 'o-2', price: 2 }),
    ]);
    engine = new ProjectionEngine({ eventStore, readModels: spying, projections: [keyed] });
    await engine.start();
    await engine.waitForPosition('order-summary', position);
    expect(prefetched).toEqual([['o-1', 'o-2']]);
    expect(await readModels.documents(keyed, 'orders').get('o-2')).toMatchObject({ total: 2 });
  });

  it('stops a projection on a poison event, records it, lets others go on, and resumes after a fix', async () => {
    let fixed = false;
    const fragile = defineProjection({
      name: 'fragile',
      version: 1,
      eventTypes: ['OrderPlaced'],
      collections: { seen: orderSummary.collections.orders },
      handle(events, tx) {
        for (const event of events) {
          const data = event.data as { orderId: string };
          if (data.orderId === 'bad' && !fixed) throw new RangeError('cannot handle order "bad"');
          tx.documents('seen').put(data.orderId, { orderId: data.orderId, status: 'placed', total: 0, items: 0, customerId: 'c' });
        }
      },
    });
    await eventStore.appendToStream('order-1', [orderEvent('OrderPlaced', { orderId: 'o-1' })]);
    const poison = await eventStore.appendToStream('order-bad', [orderEvent('OrderPlaced', { orderId: 'bad' })]);
    const after = await eventStore.appendToStream('order-2', [orderEvent('OrderPlaced', { orderId: 'o-2' })]);
    const failures: string[] = [];
    engine = new ProjectionEngine({
      eventStore,
      readModels,
      projections: [fragile, orderSummary],
      onFailure: (name) => failures.push(name),
    });
    await engine.start();
    // The healthy projection goes on past the poison event.
    await engine.waitForPosition('order-summary', after.position);
    const error = await engine.waitForPosition('fragile', after.position, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectionFailedError);
    const status = await engine.status('fragile');
    expect(status.state).toBe('failed');
    expect(status.lastError).toMatchObject({ name: 'RangeError', message: 'cannot handle order "bad"' });
    expect(status.lastError?.event?.position.equals(poison.position)).toBe(true);
    // The events before the poison event in the same batch are committed; the poison one is not.
    expect(status.position?.isBefore(poison.position)).toBe(true);
    const seen = readModels.documents(fragile, 'seen');
    expect(await seen.get('o-1')).toBeDefined();
    expect(await seen.get('bad')).toBeUndefined();
    expect(failures).toEqual(['fragile']);
    const stored = await readModels.load('fragile');
    expect(stored.slots[0]?.failure).toMatchObject({ eventId: status.lastError?.event?.id, error: { name: 'RangeError' } });

    fixed = true;
    engine.resume('fragile');
    await engine.waitForPosition('fragile', after.position, { timeoutMs: 2_000 });
    expect((await seen.find()).map((doc) => doc.orderId).sort()).toEqual(['bad', 'o-1', 'o-2']);
    expect((await engine.status('fragile')).state).toBe('live');
    expect((await readModels.load('fragile')).slots[0]?.failure).toBeUndefined();
  });
});
