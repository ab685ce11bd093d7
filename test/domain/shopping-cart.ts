// The example aggregate the kit's own tests run against: a shopping cart. Lives in test/, not src/:
// the kit ships no example domains.
import { z } from 'zod';
import {
  BusinessRuleError,
  defineAggregate,
  defineCommands,
  defineEvents,
  upcaster,
  versioned,
  type CommandOf,
  type Decider,
  type EventOf,
} from '../../src/domain';

const sku = z.string().min(1).max(64);

export const cartCommands = defineCommands({
  OpenCart: { schema: z.object({ customerId: z.string().min(1), openedAt: z.iso.datetime() }), stream: 'new' },
  AddItem: {
    schema: z.object({ sku, quantity: z.number().int().positive(), unitPriceCents: z.number().int().nonnegative() }),
    stream: 'existing',
  },
  RemoveItem: { schema: z.object({ sku }), stream: 'existing' },
  CheckOut: { schema: z.object({ checkedOutAt: z.iso.datetime() }), stream: 'existing' },
});

export const cartEvents = defineEvents({
  CartOpened: z.object({ customerId: z.string(), openedAt: z.iso.datetime() }),
  // Version 1 had no price; old carts are read as if their items were free.
  ItemAdded: versioned(z.object({ sku: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() }), [
    upcaster(z.object({ sku: z.string(), quantity: z.number().int() }), (v1) => ({ ...v1, unitPriceCents: 0 })),
  ]),
  ItemRemoved: z.object({ sku: z.string() }),
  CartCheckedOut: z.object({ checkedOutAt: z.iso.datetime(), totalCents: z.number().int() }),
});

export type CartCommand = CommandOf<typeof cartCommands>;
export type CartEvent = EventOf<typeof cartEvents>;

export interface CartLine {
  readonly quantity: number;
  readonly unitPriceCents: number;
}

export type CartState =
  | { readonly status: 'empty' }
  | { readonly status: 'open'; readonly customerId: string; readonly lines: Readonly<Record<string, CartLine>> }
  | { readonly status: 'checkedOut'; readonly customerId: string; readonly totalCents: number };

export const MAX_QUANTITY = 99;

export const cartDecider: Decider<CartCommand, CartEvent, CartState> = {
  initialState: () => ({ status: 'empty' }),
  isTerminal: (state) => state.status === 'checkedOut',

  decide(command, state) {
    switch (command.type) {
      case 'OpenCart':
        if (state.status !== 'empty') throw new BusinessRuleError('CART_ALREADY_OPEN', 'the cart is already open');
        return [{ type: 'CartOpened', data: command.data }];
      case 'AddItem': {
        const open = requireOpen(state);
        const quantity = (open.lines[command.data.sku]?.quantity ?? 0) + command.data.quantity;
        if (quantity > MAX_QUANTITY) {
          throw new BusinessRuleError('TOO_MANY', `at most ${MAX_QUANTITY} of ${command.data.sku} per cart`);
        }
        return [{ type: 'ItemAdded', data: command.data }];
      }
      case 'RemoveItem':
        // Removing what is not there is already done: no event, no error.
        return requireOpen(state).lines[command.data.sku] ? [{ type: 'ItemRemoved', data: command.data }] : [];
      case 'CheckOut': {
        const open = requireOpen(state);
        const lines = Object.values(open.lines);
        if (lines.length === 0) throw new BusinessRuleError('CART_EMPTY', 'an empty cart cannot be checked out');
        const totalCents = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
        return [{ type: 'CartCheckedOut', data: { checkedOutAt: command.data.checkedOutAt, totalCents } }];
      }
      default: {
        const _never: never = command;
        return _never;
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'CartOpened':
        return { status: 'open', customerId: event.data.customerId, lines: {} };
      case 'ItemAdded': {
        if (state.status !== 'open') return state;
        const previous = state.lines[event.data.sku]?.quantity ?? 0;
        const line = { quantity: previous + event.data.quantity, unitPriceCents: event.data.unitPriceCents };
        return { ...state, lines: { ...state.lines, [event.data.sku]: line } };
      }
      case 'ItemRemoved': {
        if (state.status !== 'open') return state;
        const { [event.data.sku]: _removed, ...lines } = state.lines;
        return { ...state, lines };
      }
      case 'CartCheckedOut':
        if (state.status !== 'open') return state;
        return { status: 'checkedOut', customerId: state.customerId, totalCents: event.data.totalCents };
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
};

function requireOpen(state: CartState): Extract<CartState, { status: 'open' }> {
  switch (state.status) {
    case 'open':
      return state;
    case 'empty':
      throw new BusinessRuleError('CART_NOT_OPEN', 'the cart has not been opened');
    case 'checkedOut':
      throw new BusinessRuleError('CART_CHECKED_OUT', 'the cart is already checked out');
    default: {
      const _never: never = state;
      return _never;
    }
  }
}

export const cart = defineAggregate({
  category: 'cart',
  decider: cartDecider,
  commands: cartCommands,
  events: cartEvents,
});

/** The same cart, snapshotting every `every` events. */
export function snapshottingCart(every: number, version = 1) {
  return defineAggregate({ ...cart, decider: cartDecider, snapshots: { every, version } });
}
