import { handleCommand, StateCache, type CommandEnvironment } from '../../src/commands';
import { RECENT_COMMAND_LIMIT, withCommandIds } from '../../src/commands/recent-commands';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { cart, type CartCommand } from '../domain/shopping-cart';
import { countingReads, readAllOf } from './store-doubles';

const at = '2026-03-01T10:00:00.000Z';
const open: CartCommand = { type: 'OpenCart', data: { customerId: 'u-1', openedAt: at } };
const add = (sku: string): CartCommand => ({ type: 'AddItem', data: { sku, quantity: 1, unitPriceCents: 100 } });
const remove = (sku: string): CartCommand => ({ type: 'RemoveItem', data: { sku } });

let store: InMemoryEventStore;
let environment: CommandEnvironment;

beforeEach(() => {
  store = new InMemoryEventStore();
  environment = { store, cache: new StateCache() };
});

afterEach(() => store.close());

describe('withCommandIds', () => {
  it('adds each command once, oldest first, and keeps only the last ones', () => {
    expect(withCommandIds(['a'], ['a', 'b', 'b', 'c'])).toEqual(['a', 'b', 'c']);
    const many = Array.from({ length: RECENT_COMMAND_LIMIT + 5 }, (_, i) => `c${i}`);
    expect(withCommandIds([], many)).toEqual(many.slice(5));
    const unchanged = ['x'];
    expect(withCommandIds(unchanged, ['x'])).toBe(unchanged);
  });
});

describe('recognising retries behind the fold, without reading the stream again', () => {
  it('answers a rejected or no-op command on a cached stream from one read of new events', async () => {
    await handleCommand(environment, cart, { streamName: 'cart-1', command: open });
    await handleCommand(environment, cart, { streamName: 'cart-1', command: add('tea') });
    const counted = countingReads(store);
    const probe = { ...environment, store: counted };
    expect((await handleCommand(probe, cart, { streamName: 'cart-1', command: remove('jam') })).events).toEqual([]);
    await expect(handleCommand(probe, cart, { streamName: 'cart-1', command: open })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(counted.reads).toEqual([{ fromRevision: 2n }, { fromRevision: 2n }]);
  });

  it('recognises a retry that now decides nothing, while it is among the recent commands', async () => {
    await handleCommand(environment, cart, { streamName: 'cart-1', command: open });
    await handleCommand(environment, cart, { streamName: 'cart-1', command: add('tea') });
    const removed = await handleCommand(environment, cart, { streamName: 'cart-1', command: remove('tea'), commandId: 'remove-1' });
    await handleCommand(environment, cart, { streamName: 'cart-1', command: add('cake') });
    expect(await handleCommand(environment, cart, { streamName: 'cart-1', command: remove('tea'), commandId: 'remove-1' })).toEqual(removed);
  });

  it('beyond the window: appends nothing for a retry that decides nothing, and still catches one that decides events', async () => {
    await handleCommand(environment, cart, { streamName: 'cart-1', command: open });
    await handleCommand(environment, cart, { streamName: 'cart-1', command: add('tea') });
    await handleCommand(environment, cart, { streamName: 'cart-1', command: remove('tea'), commandId: 'old-remove' });
    const oldAdd = await handleCommand(environment, cart, { streamName: 'cart-1', command: add('jam'), commandId: 'old-add' });
    for (let i = 0; i < RECENT_COMMAND_LIMIT; i++) await handleCommand(environment, cart, { streamName: 'cart-1', command: add(`sku-${i}`) });
    const before = (await readAllOf(store, 'cart-1')).length;

    // Documented limit: answered as a new command would be. Nothing is appended either way.
    const lateRemove = await handleCommand(environment, cart, { streamName: 'cart-1', command: remove('tea'), commandId: 'old-remove' });
    expect(lateRemove.events).toEqual([]);
    // Deciding events again reuses the command's event ids, which the store recognises.
    expect(await handleCommand(environment, cart, { streamName: 'cart-1', command: add('jam'), commandId: 'old-add' })).toMatchObject({
      revision: oldAdd.revision,
      events: oldAdd.events,
    });
    expect(await readAllOf(store, 'cart-1')).toHaveLength(before);
  });
});
