// The examples of README.md's "Domain and commands" section, verbatim apart from imports (the docs import from 'eventfold'):
// if this file stops compiling or passing, the docs are wrong.
import { z } from 'zod';
import { handleCommand, loadAt, StateCache, type CommandEnvironment, type CommandRequest } from '../../src/commands';
import { BusinessRuleError, defineAggregate, defineCommands, defineEvents, type CommandOf, type Decider, type EventOf } from '../../src/domain';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { deciderSpecification } from '../../src/testing';

const line = z.object({ sku: z.string().min(1), quantity: z.number().int().positive() });

export const orderCommands = defineCommands({
  PlaceOrder: { schema: z.object({ customerId: z.string(), lines: z.array(line).min(1), placedAt: z.iso.datetime() }), stream: 'new' },
  ShipOrder: { schema: z.object({ shippedAt: z.iso.datetime() }), stream: 'existing' },
});

export const orderEvents = defineEvents({
  OrderPlaced: z.object({ customerId: z.string(), lines: z.array(line), placedAt: z.iso.datetime() }),
  OrderShipped: z.object({ shippedAt: z.iso.datetime() }),
});

type OrderCommand = CommandOf<typeof orderCommands>;
type OrderEvent = EventOf<typeof orderEvents>;
type OrderState =
  | { status: 'none' }
  | { status: 'placed'; customerId: string }
  | { status: 'shipped'; customerId: string };

export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'PlaceOrder':
        return [{ type: 'OrderPlaced', data: command.data }];
      case 'ShipOrder':
        if (state.status !== 'placed') throw new BusinessRuleError('NOT_SHIPPABLE', `an order that is ${state.status} cannot ship`);
        return [{ type: 'OrderShipped', data: command.data }];
      default: {
        const _never: never = command;
        return _never;
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'OrderPlaced':
        return { status: 'placed', customerId: event.data.customerId };
      case 'OrderShipped':
        return state.status === 'placed' ? { status: 'shipped', customerId: state.customerId } : state;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
};

export const order = defineAggregate({ category: 'order', decider: orderDecider, commands: orderCommands, events: orderEvents });

describe('README: domain and commands', () => {
  const store = new InMemoryEventStore();
  afterAll(() => store.close());

  it('runs a command, idempotently', async () => {
    const environment: CommandEnvironment = { store, cache: new StateCache(), clock: () => new Date() };

    const request: CommandRequest<OrderCommand> = {
      streamName: order.streamName('42'), // 'order-42'
      command: { type: 'PlaceOrder', data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 2 }], placedAt: '2026-03-01T10:00:00Z' } },
      commandId: '5d0c1f9e-7a51-4b8e-9c3e-0b7f6c1e2a10', // e.g. the client's mutation id
      userId: 'u-1',
    };

    const receipt = await handleCommand(environment, order, request);
    // { commandId, streamName: 'order-42', revision: 0n, position, correlationId, events: [{ type: 'OrderPlaced', … }] }

    const again = await handleCommand(environment, order, request); // a retry after a timeout
    // again deep-equals receipt, and nothing was appended twice

    const { state, revision } = await loadAt(store, order, 'order-42', { revision: 0n });
    expect(again).toEqual(receipt);
    expect(receipt).toMatchObject({ streamName: 'order-42', revision: 0n, events: [{ type: 'OrderPlaced' }] });
    expect({ state, revision }).toEqual({ state: { status: 'placed', customerId: 'c-7' }, revision: 0n });
  });

  it('specifies the decider', () => {
    const given = deciderSpecification(order);
    const placed: OrderEvent = { type: 'OrderPlaced', data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 2 }], placedAt: '2026-03-01T10:00:00Z' } };

    given([placed])
      .when({ type: 'ShipOrder', data: { shippedAt: '2026-03-02T08:00:00Z' } })
      .then([{ type: 'OrderShipped', data: { shippedAt: '2026-03-02T08:00:00Z' } }]);

    given([]).when({ type: 'ShipOrder', data: { shippedAt: '2026-03-02T08:00:00Z' } }).thenThrows('NOT_SHIPPABLE');
    given([]).when({ type: 'PlaceOrder', data: { customerId: 'c-7', lines: [], placedAt: 'soon' } }).thenThrows('VALIDATION_FAILED');
  });
});
