// The README's order aggregate (section "Domain and commands"), verbatim, imported from the package as a
// user writes it. The README tests of every section use this one copy, and the package test installs it
// into its consumer projects: if it stops compiling or passing, the docs are wrong.
import { z } from 'zod';
import { BusinessRuleError, defineAggregate, defineCommands, defineEvents, type CommandOf, type Decider, type EventOf } from 'eventfold';

const line = z.object({ sku: z.string().min(1), quantity: z.number().int().positive() });

export const orderCommands = defineCommands({
  PlaceOrder: { schema: z.object({ customerId: z.string(), lines: z.array(line).min(1), placedAt: z.iso.datetime() }), stream: 'new' },
  ShipOrder: { schema: z.object({ shippedAt: z.iso.datetime() }), stream: 'existing' },
});

export const orderEvents = defineEvents({
  OrderPlaced: z.object({ customerId: z.string(), lines: z.array(line), placedAt: z.iso.datetime() }),
  OrderShipped: z.object({ shippedAt: z.iso.datetime() }),
});

export type OrderCommand = CommandOf<typeof orderCommands>;
export type OrderEvent = EventOf<typeof orderEvents>;
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
