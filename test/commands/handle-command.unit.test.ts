import { z } from 'zod';
import {
  CommandIdReusedError,
  ConcurrencyConflictError,
  handleCommand,
  StreamAlreadyExistsError,
  StreamNotFoundError,
  type CommandEnvironment,
} from '../../src/commands';
import { eventIdFor } from '../../src/commands/command-identity';
import {
  BusinessRuleError,
  DeciderFailedError,
  defineAggregate,
  defineCommands,
  defineEvents,
  InvalidDecisionError,
  InvalidStoredEventError,
  MalformedStreamNameError,
  UnknownCommandError,
  ValidationError,
  type Decider,
} from '../../src/domain';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { rejection } from '../domain/caught';
import { cart, cartDecider, type CartCommand } from '../domain/shopping-cart';
import { foreignItemAdded, losingAnswers, readAllOf, withCompetingWriter, type ReadWriteStore } from './store-doubles';

const now = new Date('2026-03-01T10:00:00.000Z');
const openedAt = now.toISOString();
const open: CartCommand = { type: 'OpenCart', data: { customerId: 'u-1', openedAt } };
const addTea: CartCommand = { type: 'AddItem', data: { sku: 'tea', quantity: 2, unitPriceCents: 250 } };
const checkOut: CartCommand = { type: 'CheckOut', data: { checkedOutAt: openedAt } };

let store: InMemoryEventStore;
let environment: CommandEnvironment;
let nextId: number;

beforeEach(() => {
  store = new InMemoryEventStore();
  nextId = 0;
  environment = { store, clock: () => now, newId: () => `generated-${++nextId}`, sleep: () => Promise.resolve() };
});

afterEach(() => store.close());

async function openCart(id = 'c-1', commandId = `open-${id}`) {
  return handleCommand(environment, cart, { streamName: cart.streamName(id), command: open, commandId });
}

describe('handleCommand', () => {
  it('decides against the folded stream and appends with deterministic event ids', async () => {
    await openCart();
    const receipt = await handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea, commandId: 'add-1' });

    expect(receipt).toEqual({
      commandId: 'add-1',
      streamName: 'cart-c-1',
      revision: 1n,
      position: expect.anything(),
      correlationId: 'add-1',
      events: [{ type: 'ItemAdded', data: addTea.data }],
    });
    const stored = await readAllOf(store, 'cart-c-1');
    expect(stored.map((event) => [event.id, event.type])).toEqual([
      [eventIdFor('open-c-1', 0), 'CartOpened'],
      [eventIdFor('add-1', 0), 'ItemAdded'],
    ]);
    expect(receipt.position!.equals(stored[1]!.position)).toBe(true);
  });

  it('stamps correlation, causation, user, tenant, command and clock time on every event', async () => {
    await handleCommand(environment, cart, {
      streamName: 'cart-c-1',
      command: open,
      commandId: 'open-1',
      correlationId: 'checkout-flow-9',
      userId: 'u-1',
      tenantId: 't-1',
      metadata: { source: 'graphql', commandId: 'forged' },
    });
    const [event] = await readAllOf(store, 'cart-c-1');
    expect(event!.metadata).toEqual({
      source: 'graphql',
      correlationId: 'checkout-flow-9',
      causationId: 'open-1',
      commandId: 'open-1',
      commandType: 'OpenCart',
      userId: 'u-1',
      tenantId: 't-1',
      time: '2026-03-01T10:00:00.000Z',
      schemaVersion: 1,
      commandHash: expect.any(String),
    });
  });

  it('carries the correlation of the event that caused the command, with that event as cause', async () => {
    await openCart();
    const [trigger] = await readAllOf(store, 'cart-c-1');
    const receipt = await handleCommand(environment, cart, { streamName: 'cart-c-2', command: open, causedBy: trigger! });
    const [event] = await readAllOf(store, 'cart-c-2');
    expect(receipt.correlationId).toBe('open-c-1');
    expect(event!.metadata).toMatchObject({ correlationId: 'open-c-1', causationId: trigger!.id, commandId: 'generated-1' });
  });

  it('generates a command id when none is given, and correlates on it', async () => {
    const receipt = await handleCommand(environment, cart, { streamName: 'cart-c-1', command: open });
    expect(receipt.commandId).toBe('generated-1');
    expect(receipt.correlationId).toBe('generated-1');
    // Without an id of its own, a resent command is a new command.
    await expect(handleCommand(environment, cart, { streamName: 'cart-c-1', command: open })).rejects.toThrow(StreamAlreadyExistsError);
  });

  it('stamps the schema version each event type is written with', async () => {
    await openCart();
    await handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea });
    expect((await readAllOf(store, 'cart-c-1')).map((event) => event.metadata.schemaVersion)).toEqual([1, 2]);
  });

  it('returns an empty receipt at the current revision when the command decides nothing', async () => {
    await openCart();
    const receipt = await handleCommand(environment, cart, { streamName: 'cart-c-1', command: { type: 'RemoveItem', data: { sku: 'tea' } } });
    expect(receipt).toMatchObject({ revision: 0n, events: [] });
    expect(receipt.position!.equals((await store.headPosition())!)).toBe(true);
    expect(await readAllOf(store, 'cart-c-1')).toHaveLength(1);
  });

  it('upcasts old stored events before folding them', async () => {
    await openCart();
    // Written before ItemAdded had a price: no schemaVersion, no unitPriceCents.
    await store.appendToStream('cart-c-1', [{ id: '00000000-0000-4000-8000-000000000001', type: 'ItemAdded', data: { sku: 'tea', quantity: 3 } }]);
    await handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea });
    const receipt = await handleCommand(environment, cart, { streamName: 'cart-c-1', command: checkOut });
    // The old 3 teas were read at price 0, then the new AddItem set the line price to 250: 5 × 250.
    expect(receipt.events).toEqual([{ type: 'CartCheckedOut', data: { checkedOutAt: openedAt, totalCents: 1250 } }]);
  });

  it('refuses to fold a stored event that does not fit its schema', async () => {
    await openCart();
    await store.appendToStream('cart-c-1', [{ id: '00000000-0000-4000-8000-000000000002', type: 'ItemRemoved', data: { sku: 42 }, metadata: {} }]);
    const error = await rejection(() => handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea }));
    expect(error).toBeInstanceOf(InvalidStoredEventError);
    expect((error as Error).message).toContain('cart-c-1@1');
    expect(await readAllOf(store, 'cart-c-1')).toHaveLength(2);
  });
});

describe('stream expectations', () => {
  const visits = defineAggregate({
    category: 'visits',
    decider: {
      initialState: () => ({ status: 'counting', count: 0 }),
      decide: () => [{ type: 'Visited', data: {} }],
      evolve: (state) => ({ status: 'counting', count: state.count + 1 }),
    } satisfies Decider<{ type: 'RecordVisit'; data: object }, { type: 'Visited'; data: object }, { status: 'counting'; count: number }>,
    commands: defineCommands({ RecordVisit: { schema: z.object({}), stream: 'any' } }),
    events: defineEvents({ Visited: z.object({}) }),
  });

  it('rejects a must-be-new command on an existing stream with ALREADY_EXISTS, appending nothing', async () => {
    await openCart();
    const error = await rejection(() => handleCommand(environment, cart, { streamName: 'cart-c-1', command: open, commandId: 'open-again' }));
    expect(error).toBeInstanceOf(StreamAlreadyExistsError);
    expect(error).toMatchObject({ code: 'ALREADY_EXISTS', streamName: 'cart-c-1', revision: 0n });
    expect(await readAllOf(store, 'cart-c-1')).toHaveLength(1);
  });

  it('rejects a must-exist command on a missing stream with NOT_FOUND, appending nothing', async () => {
    const error = await rejection(() => handleCommand(environment, cart, { streamName: 'cart-nope', command: addTea }));
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', streamName: 'cart-nope', commandType: 'AddItem' });
    expect(await store.headPosition()).toBeUndefined();
  });

  it('runs an either-way command on a new and on an existing stream', async () => {
    const first = await handleCommand(environment, visits, { streamName: 'visits-home', command: { type: 'RecordVisit', data: {} } });
    const second = await handleCommand(environment, visits, { streamName: 'visits-home', command: { type: 'RecordVisit', data: {} } });
    expect([first.revision, second.revision]).toEqual([0n, 1n]);
  });
});

describe('idempotent commands', () => {
  it('returns the original receipt for a repeated command and appends nothing new', async () => {
    const first = await openCart();
    const again = await openCart();
    expect(again).toEqual(first);
    expect(await readAllOf(store, 'cart-c-1')).toHaveLength(1);
  });

  it('returns the original receipt when the first answer was lost, even after later commands', async () => {
    const lossy = losingAnswers(store, 1);
    const request = { streamName: 'cart-c-1', command: open, commandId: 'open-1' };
    await expect(handleCommand({ ...environment, store: lossy }, cart, request)).rejects.toThrow('timeout');
    await handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea, commandId: 'add-1' });

    // The retry would now break the rule "open only once"; it must instead be recognised.
    const retried = await handleCommand(environment, cart, request);
    expect(retried).toMatchObject({ commandId: 'open-1', revision: 0n, correlationId: 'open-1', events: [{ type: 'CartOpened' }] });
    const stored = await readAllOf(store, 'cart-c-1');
    expect(stored).toHaveLength(2);
    expect(retried.position!.equals(stored[0]!.position)).toBe(true);
  });

  it('recognises a retried command whose rule would now reject it', async () => {
    await openCart();
    await handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea });
    const first = await handleCommand(environment, cart, { streamName: 'cart-c-1', command: checkOut, commandId: 'pay-1' });
    expect(await handleCommand(environment, cart, { streamName: 'cart-c-1', command: checkOut, commandId: 'pay-1' })).toEqual(first);
    await expect(handleCommand(environment, cart, { streamName: 'cart-c-1', command: checkOut, commandId: 'pay-2' })).rejects.toThrow(
      BusinessRuleError,
    );
  });

  it('rejects a different command that reuses a command id on the same stream', async () => {
    await openCart('c-1', 'shared-id');
    const error = await rejection(() =>
      handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea, commandId: 'shared-id' }),
    );
    expect(error).toBeInstanceOf(CommandIdReusedError);
    expect(error).toMatchObject({ code: 'COMMAND_ID_REUSED', commandId: 'shared-id' });
    expect((error as Error).message).toContain('it was OpenCart');
    expect(await readAllOf(store, 'cart-c-1')).toHaveLength(1);
  });

  it('rejects the same command type with another payload under a used id', async () => {
    await openCart();
    await handleCommand(environment, cart, { streamName: 'cart-c-1', command: addTea, commandId: 'add-1' });
    const other: CartCommand = { type: 'AddItem', data: { ...addTea.data, quantity: 3 } };
    await expect(handleCommand(environment, cart, { streamName: 'cart-c-1', command: other, commandId: 'add-1' })).rejects.toThrow(
      /an earlier AddItem on cart-c-1 had another payload/,
    );
  });

  it('rejects a command id reused on another stream', async () => {
    await openCart('c-1', 'shared-id');
    const error = await rejection(() => openCart('c-2', 'shared-id'));
    expect(error).toBeInstanceOf(CommandIdReusedError);
    expect(await readAllOf(store, 'cart-c-2')).toHaveLength(0);
  });

  it('gives concurrent duplicates the same receipt and writes the events once', async () => {
    await openCart();
    const request = { streamName: 'cart-c-1', command: addTea, commandId: 'add-1' };
    const [a, b] = await Promise.all([handleCommand(environment, cart, request), handleCommand(environment, cart, request)]);
    expect(a).toEqual(b);
    expect(await readAllOf(store, 'cart-c-1')).toHaveLength(2);
  });
});

describe('concurrency conflicts', () => {
  it('re-reads and decides again after losing a race, waiting a jittered delay each time', async () => {
    await openCart();
    const contended = withCompetingWriter(store, 2, () => foreignItemAdded('tea'));
    const delays: number[] = [];
    const receipt = await handleCommand(
      { ...environment, store: contended, random: () => 0.5, sleep: (ms) => (delays.push(ms), Promise.resolve()) },
      cart,
      { streamName: 'cart-c-1', command: addTea },
    );
    expect(contended.interruptions).toBe(2);
    // Full jitter: half of 2 ms, then half of 4 ms (base 2 ms, doubling).
    expect(delays).toEqual([1, 2]);
    expect(receipt.revision).toBe(3n);
    expect((await readAllOf(store, 'cart-c-1')).map((event) => event.type)).toEqual(['CartOpened', 'ItemAdded', 'ItemAdded', 'ItemAdded']);
  });

  it('decides on the fresh state after a conflict, so rules see the competing write', async () => {
    await openCart();
    const contended = withCompetingWriter(store, 1, () => [
      { id: '00000000-0000-4000-8000-0000000000aa', type: 'ItemAdded', data: { sku: 'tea', quantity: 99, unitPriceCents: 1 }, metadata: { schemaVersion: 2 } },
    ]);
    const error = await rejection(() => handleCommand({ ...environment, store: contended }, cart, { streamName: 'cart-c-1', command: addTea }));
    expect(error).toMatchObject({ code: 'RULE_VIOLATED', rule: 'TOO_MANY' });
  });

  it('gives up with CONFLICT after the default three retries, appending nothing of its own', async () => {
    await openCart();
    const contended = withCompetingWriter(store, 4, () => foreignItemAdded());
    const delays: number[] = [];
    const error = await rejection(() =>
      handleCommand(
        { ...environment, store: contended, random: () => 0.999, sleep: (ms) => (delays.push(ms), Promise.resolve()) },
        cart,
        { streamName: 'cart-c-1', command: addTea, commandId: 'add-1' },
      ),
    );
    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect(error).toMatchObject({ code: 'CONFLICT', attempts: 4 });
    expect(delays).toHaveLength(3);
    delays.forEach((delay, retry) => expect(delay).toBeLessThan(2 * 2 ** retry));
    const stored = await readAllOf(store, 'cart-c-1');
    expect(stored.some((event) => event.metadata.commandId === 'add-1')).toBe(false);
  });

  it('honours a retry policy, including none at all', async () => {
    await openCart();
    await expect(
      handleCommand({ ...environment, store: withCompetingWriter(store, 1, () => foreignItemAdded()), retry: { maxRetries: 0 } }, cart, {
        streamName: 'cart-c-1',
        command: addTea,
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT', attempts: 1 });
    const receipt = await handleCommand(
      { ...environment, store: withCompetingWriter(store, 6, () => foreignItemAdded()), retry: { maxRetries: 6 } },
      cart,
      { streamName: 'cart-c-1', command: addTea },
    );
    expect(receipt.events).toHaveLength(1);
    await expect(handleCommand({ ...environment, retry: { maxRetries: -1 } }, cart, { streamName: 'cart-c-1', command: addTea })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('bad input: typed errors, nothing appended', () => {
  async function expectNothingAppended(run: () => Promise<unknown>): Promise<unknown> {
    const before = await store.headPosition();
    const error = await rejection(run);
    expect(await store.headPosition()).toEqual(before);
    return error;
  }

  beforeEach(() => openCart());

  it('an invalid payload: VALIDATION_FAILED naming every field', async () => {
    const error = await expectNothingAppended(() =>
      handleCommand(environment, cart, { streamName: 'cart-c-1', command: { type: 'AddItem', data: { sku: 'tea', quantity: 'two' } } as never }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual(['data.quantity', 'data.unitPriceCents']);
  });

  it('an unknown command type: UNKNOWN_COMMAND', async () => {
    const error = await expectNothingAppended(() =>
      handleCommand(environment, cart, { streamName: 'cart-c-1', command: { type: 'Teleport', data: {} } as never }),
    );
    expect(error).toBeInstanceOf(UnknownCommandError);
  });

  it.each(['c-1', 'order-1', '', 'cart-'])('a stream name that does not parse (%p): INVALID_STREAM_NAME', async (streamName) => {
    const error = await expectNothingAppended(() => handleCommand(environment, cart, { streamName, command: addTea }));
    expect(error).toBeInstanceOf(MalformedStreamNameError);
    expect(error).toMatchObject({ code: 'INVALID_STREAM_NAME' });
  });

  it('malformed request fields: VALIDATION_FAILED naming each', async () => {
    const error = await expectNothingAppended(() =>
      handleCommand(environment, cart, {
        streamName: 'cart-c-1',
        command: addTea,
        commandId: 42,
        userId: '',
        tenantId: 'a\nb',
        causedBy: { id: 1 },
        metadata: ['x'],
      } as never),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual(['commandId', 'userId', 'tenantId', 'causedBy', 'metadata']);
  });

  it('no request at all: VALIDATION_FAILED', async () => {
    expect(await expectNothingAppended(() => handleCommand(environment, cart, null as never))).toBeInstanceOf(ValidationError);
  });

  it('a decider that throws: DECIDER_FAILED with the bug as cause', async () => {
    const bug = new TypeError('lines is undefined');
    const broken = defineAggregate({
      category: 'cart',
      decider: {
        ...cartDecider,
        decide: () => {
          throw bug;
        },
      },
      commands: cart.commands,
      events: cart.events,
    });
    const error = await expectNothingAppended(() => handleCommand(environment, broken, { streamName: 'cart-c-1', command: addTea }));
    expect(error).toBeInstanceOf(DeciderFailedError);
    expect((error as Error).cause).toBe(bug);
  });

  it('a decide that returns non-events: INVALID_DECISION', async () => {
    const sloppy = defineAggregate({
      category: 'cart',
      decider: { ...cartDecider, decide: () => [{ type: 'ItemAdded', data: { sku: 'tea' } }] as never },
      commands: cart.commands,
      events: cart.events,
    });
    const error = await expectNothingAppended(() => handleCommand(environment, sloppy, { streamName: 'cart-c-1', command: addTea }));
    expect(error).toBeInstanceOf(InvalidDecisionError);
    expect((error as Error).message).toMatch(/\[0\]\.data\.quantity/);
  });

  it('a clock that returns nonsense', async () => {
    const error = await expectNothingAppended(() =>
      handleCommand({ ...environment, clock: () => new Date('nope') }, cart, { streamName: 'cart-c-1', command: addTea }),
    );
    expect(error).toBeInstanceOf(RangeError);
  });
});

describe('with a store that is not the in-memory one', () => {
  it('needs only the reader and writer roles', async () => {
    const minimal: ReadWriteStore = {
      readStream: (name, options) => store.readStream(name, options),
      readAll: (options) => store.readAll(options),
      readCorrelation: (id) => store.readCorrelation(id),
      appendToStream: (name, events, options) => store.appendToStream(name, events, options),
    };
    const receipt = await handleCommand({ store: minimal }, cart, { streamName: 'cart-x', command: open });
    expect(receipt.revision).toBe(0n);
    expect(receipt.commandId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
