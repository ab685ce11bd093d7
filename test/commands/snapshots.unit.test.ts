import fc from 'fast-check';
import {
  handleCommand,
  InMemorySnapshotStore,
  decodeRecorded,
  type CommandEnvironment,
  type Snapshot,
  type SnapshotStore,
} from '../../src/commands';
import { loadStream } from '../../src/commands/stream-loader';
import { defineAggregate, fold } from '../../src/domain';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { Position } from '../../src/event-store/position';
import { rejection } from '../domain/caught';
import { cart, cartDecider, snapshottingCart, type CartCommand, type CartEvent, type CartState } from '../domain/shopping-cart';
import { countingReads, readAllOf } from './store-doubles';

const at = '2026-03-01T10:00:00.000Z';
const open: CartCommand = { type: 'OpenCart', data: { customerId: 'u-1', openedAt: at } };
const add = (sku: string, quantity = 1): CartCommand => ({ type: 'AddItem', data: { sku, quantity, unitPriceCents: 100 } });

let store: InMemoryEventStore;
let snapshots: InMemorySnapshotStore;
let environment: CommandEnvironment;

beforeEach(() => {
  store = new InMemoryEventStore();
  snapshots = new InMemorySnapshotStore();
  environment = { store, snapshots, clock: () => new Date(at), sleep: () => Promise.resolve() };
});

afterEach(() => store.close());

describe('snapshots', () => {
  it('saves one every N events and then folds only the events after it', async () => {
    const everyThree = snapshottingCart(3);
    const run = (command: CartCommand) => handleCommand(environment, everyThree, { streamName: 'cart-1', command });
    await run(open);
    await run(add('tea'));
    expect(await snapshots.load('cart-1')).toBeUndefined();
    await run(add('cake'));
    const snapshot = await snapshots.load('cart-1');
    expect(snapshot).toMatchObject({ revision: 2n, version: 1 });
    expect(snapshot!.state).toEqual(fold(cartDecider, (await readAllOf(store, 'cart-1')).map((event) => decodeRecorded(cart.events, event))));

    const counted = countingReads(store);
    await handleCommand({ ...environment, store: counted }, everyThree, { streamName: 'cart-1', command: add('jam') });
    expect(counted.reads).toEqual([{ fromRevision: 3n }]);
    // Revision 3 is one event past the snapshot: not yet time for the next one.
    expect((await snapshots.load('cart-1'))!.revision).toBe(2n);
  });

  it('snapshots a long stream on load, even when its commands decide nothing', async () => {
    const everyThree = snapshottingCart(3);
    await handleCommand(environment, cart, { streamName: 'cart-1', command: open });
    for (const sku of ['a', 'b', 'c', 'd']) await handleCommand(environment, cart, { streamName: 'cart-1', command: add(sku) });
    expect(await snapshots.load('cart-1')).toBeUndefined();

    const noop: CartCommand = { type: 'RemoveItem', data: { sku: 'absent' } };
    expect((await handleCommand(environment, everyThree, { streamName: 'cart-1', command: noop })).events).toEqual([]);
    expect(await snapshots.load('cart-1')).toMatchObject({ revision: 4n });
    const counted = countingReads(store);
    await handleCommand({ ...environment, store: counted }, everyThree, { streamName: 'cart-1', command: noop });
    expect(counted.reads).toEqual([{ fromRevision: 5n }]);
  });

  it('ignores a snapshot of another version, and replaces it', async () => {
    for (const command of [open, add('tea'), add('cake')]) await handleCommand(environment, snapshottingCart(1, 1), { streamName: 'cart-1', command });
    expect((await snapshots.load('cart-1'))!.version).toBe(1);

    const counted = countingReads(store);
    await handleCommand({ ...environment, store: counted }, snapshottingCart(1, 2), { streamName: 'cart-1', command: add('jam') });
    expect(counted.reads).toEqual([{ fromRevision: 0n }]);
    expect(await snapshots.load('cart-1')).toMatchObject({ version: 2, revision: 3n });
  });

  it('encodes and decodes state with the policy when it has functions for it', async () => {
    const wrapped = defineAggregate({
      category: 'cart',
      decider: cartDecider,
      commands: cart.commands,
      events: cart.events,
      snapshots: { every: 1, version: 1, encode: (state: CartState) => ({ wrapped: state }), decode: (json) => (json as { wrapped: CartState }).wrapped },
    });
    await handleCommand(environment, wrapped, { streamName: 'cart-1', command: open });
    expect((await snapshots.load('cart-1'))!.state).toEqual({ wrapped: { status: 'open', customerId: 'u-1', lines: {} } });
    const loaded = await loadStream(environment, wrapped, 'cart-1');
    expect(loaded).toMatchObject({ snapshotRevision: 0n, state: { status: 'open', customerId: 'u-1', lines: {} } });
  });

  it('recognises a retried command hidden behind a snapshot', async () => {
    const everyOne = snapshottingCart(1);
    const first = await handleCommand(environment, everyOne, { streamName: 'cart-1', command: open, commandId: 'open-1' });
    await handleCommand(environment, everyOne, { streamName: 'cart-1', command: add('tea'), commandId: 'add-1' });
    const removal: CartCommand = { type: 'RemoveItem', data: { sku: 'tea' } };
    const removed = await handleCommand(environment, everyOne, { streamName: 'cart-1', command: removal, commandId: 'remove-1' });
    expect((await snapshots.load('cart-1'))!.revision).toBe(2n);

    // ALREADY_EXISTS, a same-state decision and an empty decision would all answer wrongly here.
    expect(await handleCommand(environment, everyOne, { streamName: 'cart-1', command: open, commandId: 'open-1' })).toEqual(first);
    const addAgain = await handleCommand(environment, everyOne, { streamName: 'cart-1', command: add('tea'), commandId: 'add-1' });
    expect(addAgain).toMatchObject({ revision: 1n, events: [{ type: 'ItemAdded' }] });
    expect(await handleCommand(environment, everyOne, { streamName: 'cart-1', command: removal, commandId: 'remove-1' })).toEqual(removed);
    expect(await readAllOf(store, 'cart-1')).toHaveLength(3);
  });

  it('still rejects a reused command id hidden behind a snapshot', async () => {
    const everyOne = snapshottingCart(1);
    await handleCommand(environment, everyOne, { streamName: 'cart-1', command: open, commandId: 'id-1' });
    await expect(handleCommand(environment, everyOne, { streamName: 'cart-1', command: add('tea'), commandId: 'id-1' })).rejects.toMatchObject({
      code: 'COMMAND_ID_REUSED',
    });
    await expect(handleCommand(environment, everyOne, { streamName: 'cart-1', command: { type: 'CheckOut', data: { checkedOutAt: at } }, commandId: 'id-1' })).rejects.toMatchObject({
      code: 'COMMAND_ID_REUSED',
    });
    expect(await readAllOf(store, 'cart-1')).toHaveLength(1);
  });

  it('lets a business rule through when the command really is new, behind a snapshot', async () => {
    const everyOne = snapshottingCart(1);
    await handleCommand(environment, everyOne, { streamName: 'cart-1', command: open });
    const error = await rejection(() =>
      handleCommand(environment, everyOne, { streamName: 'cart-1', command: { type: 'CheckOut', data: { checkedOutAt: at } } }),
    );
    expect(error).toMatchObject({ code: 'RULE_VIOLATED', rule: 'CART_EMPTY' });
  });

  it('never fails a command over a snapshot: a failing save or load is reported and skipped', async () => {
    const reported: unknown[] = [];
    const broken: SnapshotStore = {
      load: () => Promise.reject(new Error('snapshot table is gone')),
      save: () => Promise.reject(new Error('disk full')),
    };
    const env = { ...environment, snapshots: broken, onSnapshotError: (error: unknown) => reported.push(error) };
    const receipt = await handleCommand(env, snapshottingCart(1), { streamName: 'cart-1', command: open });
    expect(receipt.revision).toBe(0n);
    await handleCommand(env, snapshottingCart(1), { streamName: 'cart-1', command: add('tea') });
    // Second command: the snapshot load fails, then both the save after loading and the one after appending.
    expect(reported.map((error) => (error as Error).message)).toEqual([
      'snapshot table is gone',
      'disk full',
      'snapshot table is gone',
      'disk full',
      'disk full',
    ]);
    expect(await readAllOf(store, 'cart-1')).toHaveLength(2);
  });
});

describe('InMemorySnapshotStore', () => {
  const snapshot = (revision: bigint, version: number, state: Snapshot['state']): Snapshot => ({
    streamName: 's-1',
    revision,
    position: Position.of(revision + 1n, revision + 1n),
    version,
    state,
    recentCommandIds: [`c-${revision}`],
  });

  it('keeps the newer snapshot of a version, and lets another version replace it', async () => {
    await snapshots.save(snapshot(5n, 1, { n: 5 }));
    await snapshots.save(snapshot(3n, 1, { n: 3 }));
    await snapshots.save(snapshot(5n, 1, { n: 55 }));
    expect(await snapshots.load('s-1')).toMatchObject({ revision: 5n, state: { n: 5 } });
    await snapshots.save(snapshot(2n, 2, { n: 2 }));
    expect(await snapshots.load('s-1')).toMatchObject({ revision: 2n, version: 2, state: { n: 2 }, recentCommandIds: ['c-2'] });
  });

  it('hands out copies, so a caller cannot change what is stored', async () => {
    await snapshots.save(snapshot(1n, 1, { list: [1] }));
    const loaded = await snapshots.load('s-1');
    (loaded!.state as { list: number[] }).list.push(2);
    expect((await snapshots.load('s-1'))!.state).toEqual({ list: [1] });
  });

  it('fails a save of state that JSON cannot hold', async () => {
    await expect(snapshots.save(snapshot(1n, 1, { n: 1n } as never))).rejects.toThrow(TypeError);
  });
});

describe('snapshot + tail = full fold (property)', () => {
  const sku = fc.constantFrom('tea', 'cake', 'jam');
  const event: fc.Arbitrary<CartEvent> = fc.oneof(
    fc.record({ type: fc.constant('CartOpened' as const), data: fc.record({ customerId: fc.constantFrom('u-1', 'u-2'), openedAt: fc.constant(at) }) }),
    fc.record({
      type: fc.constant('ItemAdded' as const),
      data: fc.record({ sku, quantity: fc.integer({ min: 1, max: 5 }), unitPriceCents: fc.integer({ min: 0, max: 999 }) }),
    }),
    fc.record({ type: fc.constant('ItemRemoved' as const), data: fc.record({ sku }) }),
    fc.record({ type: fc.constant('CartCheckedOut' as const), data: fc.record({ checkedOutAt: fc.constant(at), totalCents: fc.nat(10_000) }) }),
  );

  it('holds for any history cut at any point, through a JSON round trip of the snapshot', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), fc.nat(), (history, cutSeed) => {
        const cut = cutSeed % (history.length + 1);
        const snapshotState = JSON.parse(JSON.stringify(fold(cart, history.slice(0, cut)))) as CartState;
        expect(fold(cart, history.slice(cut), snapshotState)).toEqual(fold(cart, history));
      }),
      { numRuns: 500 },
    );
  });

  const command: fc.Arbitrary<CartCommand> = fc.oneof(
    { weight: 1, arbitrary: fc.constant(open) },
    { weight: 6, arbitrary: fc.tuple(sku, fc.integer({ min: 1, max: 40 })).map(([name, quantity]) => add(name, quantity)) },
    { weight: 3, arbitrary: sku.map((name): CartCommand => ({ type: 'RemoveItem', data: { sku: name } })) },
    { weight: 1, arbitrary: fc.constant<CartCommand>({ type: 'CheckOut', data: { checkedOutAt: at } }) },
  );

  it('holds for histories written by handleCommand with snapshots every N events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (commands, every) => {
        const history = new InMemoryEventStore();
        const snapshotStore = new InMemorySnapshotStore();
        const env: CommandEnvironment = { store: history, snapshots: snapshotStore };
        const aggregate = snapshottingCart(every);
        for (const next of [open, ...commands]) {
          // Rejected commands (rules, expectations) are part of a random history too.
          await handleCommand(env, aggregate, { streamName: 'cart-p', command: next }).catch(() => undefined);
        }
        const events = (await readAllOf(history, 'cart-p')).map((recorded) => decodeRecorded(cart.events, recorded));
        const fromSnapshot = await loadStream(env, aggregate, 'cart-p');
        const full = await loadStream({ store: history }, aggregate, 'cart-p');
        expect(fromSnapshot.snapshotRevision).toBeGreaterThanOrEqual(events.length >= every ? 0n : -1n);
        expect(fromSnapshot.state).toEqual(fold(cart, events));
        expect(fromSnapshot.state).toEqual(full.state);
        expect(fromSnapshot.revision).toBe(full.revision);
        await history.close();
      }),
      { numRuns: 60 },
    );
  });
});
