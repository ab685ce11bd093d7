import fc from 'fast-check';
import { decodeRecorded, handleCommand, InMemorySnapshotStore, StateCache, type CommandEnvironment } from '../../src/commands';
import { loadStream } from '../../src/commands/stream-loader';
import { fold } from '../../src/domain';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { Position } from '../../src/event-store/position';
import { cart, snapshottingCart, type CartCommand } from '../domain/shopping-cart';
import { countingReads, foreignItemAdded, losingAnswers, readAllOf } from './store-doubles';

const at = '2026-03-01T10:00:00.000Z';
const open: CartCommand = { type: 'OpenCart', data: { customerId: 'u-1', openedAt: at } };
const add = (sku: string, quantity = 1): CartCommand => ({ type: 'AddItem', data: { sku, quantity, unitPriceCents: 100 } });

let store: InMemoryEventStore;
let cache: StateCache;
let environment: CommandEnvironment;

beforeEach(() => {
  store = new InMemoryEventStore();
  cache = new StateCache();
  environment = { store, cache, sleep: () => Promise.resolve() };
});

afterEach(() => store.close());

describe('handleCommand with a state cache', () => {
  it('reads only the events after the cached state', async () => {
    await handleCommand(environment, cart, { streamName: 'cart-1', command: open });
    await handleCommand(environment, cart, { streamName: 'cart-1', command: add('tea') });
    const counted = countingReads(store);
    await handleCommand({ ...environment, store: counted }, cart, { streamName: 'cart-1', command: add('cake') });
    expect(counted.reads).toEqual([{ fromRevision: 2n }]);
    expect(cache.get(cart, 'cart-1')).toMatchObject({ revision: 2n, state: { lines: { tea: {}, cake: {} } } });
  });

  it('sees what other writers appended since, before deciding', async () => {
    await handleCommand(environment, cart, { streamName: 'cart-1', command: open });
    await store.appendToStream('cart-1', foreignItemAdded('tea').map((event) => ({ ...event, data: { sku: 'tea', quantity: 99, unitPriceCents: 1 } })));
    await expect(handleCommand(environment, cart, { streamName: 'cart-1', command: add('tea') })).rejects.toMatchObject({ rule: 'TOO_MANY' });
  });

  it('starts over when the cached state is ahead of the stream (a cache from another store)', async () => {
    for (const command of [open, add('tea'), add('cake')]) await handleCommand(environment, cart, { streamName: 'cart-1', command });
    const otherStore = new InMemoryEventStore();
    await handleCommand({ store: otherStore }, cart, { streamName: 'cart-1', command: open });
    const receipt = await handleCommand({ ...environment, store: otherStore }, cart, { streamName: 'cart-1', command: add('jam') });
    expect(receipt.revision).toBe(1n);
    expect(cache.get(cart, 'cart-1')).toMatchObject({ revision: 1n, state: { lines: { jam: {} } } });
    await otherStore.close();
  });

  it('recognises a retried command older than the cached state', async () => {
    const lossy = losingAnswers(store, 1);
    const request = { streamName: 'cart-1', command: open, commandId: 'open-1' };
    await expect(handleCommand({ ...environment, store: lossy }, cart, request)).rejects.toThrow('timeout');
    await handleCommand(environment, cart, { streamName: 'cart-1', command: add('tea') });
    expect(cache.get(cart, 'cart-1')!.revision).toBe(1n);
    expect(await handleCommand(environment, cart, request)).toMatchObject({ revision: 0n, events: [{ type: 'CartOpened' }] });
    expect(await readAllOf(store, 'cart-1')).toHaveLength(2);
  });

  it('keeps the snapshot cadence while the cache serves the loads', async () => {
    const snapshotStore = new InMemorySnapshotStore();
    const everyTwo = snapshottingCart(2);
    for (const command of [open, add('a'), add('b'), add('c'), add('d')]) {
      await handleCommand({ ...environment, snapshots: snapshotStore }, everyTwo, { streamName: 'cart-1', command });
    }
    expect((await snapshotStore.load('cart-1'))!.revision).toBe(3n);
    expect(cache.get(everyTwo, 'cart-1')).toMatchObject({ revision: 4n, snapshotRevision: 3n });
  });

  it('agrees with a full fold whatever two cached writers do in turn (property)', async () => {
    const sku = fc.constantFrom('tea', 'cake');
    const command: fc.Arbitrary<CartCommand> = fc.oneof(
      fc.tuple(sku, fc.integer({ min: 1, max: 60 })).map(([name, quantity]) => add(name, quantity)),
      sku.map((name): CartCommand => ({ type: 'RemoveItem', data: { sku: name } })),
      fc.constant<CartCommand>({ type: 'CheckOut', data: { checkedOutAt: at } }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), command), { maxLength: 25 }), async (steps) => {
        const shared = new InMemoryEventStore();
        const writers = [{ store: shared, cache: new StateCache() }, { store: shared, cache: new StateCache() }];
        await handleCommand(writers[0]!, cart, { streamName: 'cart-p', command: open });
        for (const [second, next] of steps) {
          await handleCommand(writers[second ? 1 : 0]!, cart, { streamName: 'cart-p', command: next }).catch(() => undefined);
        }
        const full = fold(cart, (await readAllOf(shared, 'cart-p')).map((event) => decodeRecorded(cart.events, event)));
        for (const writer of writers) expect((await loadStream(writer, cart, 'cart-p')).state).toEqual(full);
        await shared.close();
      }),
      { numRuns: 60 },
    );
  });
});

describe('StateCache', () => {
  const entry = (revision: bigint, state: unknown = { revision }) => ({
    state,
    revision,
    position: Position.of(revision + 1n, revision + 1n),
    snapshotRevision: -1n,
    recentCommandIds: [],
  });

  it('evicts the least recently used stream beyond its size', () => {
    const small = new StateCache({ maxStreams: 2 });
    small.set(cart, 'cart-a', entry(1n));
    small.set(cart, 'cart-b', entry(1n));
    expect(small.get(cart, 'cart-a')).toBeDefined();
    small.set(cart, 'cart-c', entry(1n));
    expect(small.get(cart, 'cart-b')).toBeUndefined();
    expect(small.get(cart, 'cart-a')).toBeDefined();
    expect(small.size).toBe(2);
  });

  it('keeps the newer state when racing commands store theirs', () => {
    cache.set(cart, 'cart-a', entry(5n));
    cache.set(cart, 'cart-a', entry(4n));
    expect(cache.get(cart, 'cart-a')!.revision).toBe(5n);
  });

  it('gives nothing to an aggregate that did not fold the state', () => {
    cache.set(cart, 'cart-a', entry(1n));
    expect(cache.get(snapshottingCart(5), 'cart-a')).toBeUndefined();
    cache.delete('cart-a');
    expect(cache.get(cart, 'cart-a')).toBeUndefined();
    cache.set(cart, 'cart-b', entry(1n));
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('rejects a nonsense size', () => {
    expect(() => new StateCache({ maxStreams: 0 })).toThrow(RangeError);
  });
});
