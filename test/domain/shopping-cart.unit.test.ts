// The example cart's rules, written as given/when/then specifications with the kit's own helper.
import { BusinessRuleError, fold, UnknownCommandError, ValidationError } from '../../src/domain';
import { deciderSpecification } from '../../src/testing';
import { cart, cartDecider, MAX_QUANTITY, type CartEvent } from './shopping-cart';

const given = deciderSpecification(cart);
const openedAt = '2026-03-01T10:00:00.000Z';
const opened: CartEvent = { type: 'CartOpened', data: { customerId: 'u-1', openedAt } };
const tea: CartEvent = { type: 'ItemAdded', data: { sku: 'tea', quantity: 2, unitPriceCents: 250 } };

describe('shopping cart', () => {
  it('opens a cart that does not exist yet', () => {
    given([]).when({ type: 'OpenCart', data: { customerId: 'u-1', openedAt } }).then([opened]);
  });

  it('refuses to open a cart twice', () => {
    given([opened]).when({ type: 'OpenCart', data: { customerId: 'u-2', openedAt } }).thenThrows('CART_ALREADY_OPEN');
  });

  it('adds an item to an open cart', () => {
    given([opened])
      .when({ type: 'AddItem', data: { sku: 'tea', quantity: 2, unitPriceCents: 250 } })
      .then([tea]);
  });

  it('caps the quantity of one item', () => {
    given([opened, { type: 'ItemAdded', data: { sku: 'tea', quantity: MAX_QUANTITY, unitPriceCents: 250 } }])
      .when({ type: 'AddItem', data: { sku: 'tea', quantity: 1, unitPriceCents: 250 } })
      .thenThrows(BusinessRuleError, (error) => expect(error.rule).toBe('TOO_MANY'));
  });

  it('removes an item that is in the cart, and ignores one that is not', () => {
    given([opened, tea]).when({ type: 'RemoveItem', data: { sku: 'tea' } }).then([{ type: 'ItemRemoved', data: { sku: 'tea' } }]);
    given([opened, tea, { type: 'ItemRemoved', data: { sku: 'tea' } }]).when({ type: 'RemoveItem', data: { sku: 'tea' } }).then([]);
  });

  it('checks out with the total of its lines', () => {
    given([opened, tea, { type: 'ItemAdded', data: { sku: 'cake', quantity: 1, unitPriceCents: 400 } }])
      .when({ type: 'CheckOut', data: { checkedOutAt: openedAt } })
      .then([{ type: 'CartCheckedOut', data: { checkedOutAt: openedAt, totalCents: 900 } }]);
  });

  it('rejects commands on an empty, unopened or checked-out cart', () => {
    given([opened]).when({ type: 'CheckOut', data: { checkedOutAt: openedAt } }).thenThrows('CART_EMPTY');
    given([]).when({ type: 'RemoveItem', data: { sku: 'tea' } }).thenThrows('CART_NOT_OPEN');
    given([opened, tea, { type: 'CartCheckedOut', data: { checkedOutAt: openedAt, totalCents: 500 } }])
      .when({ type: 'AddItem', data: { sku: 'tea', quantity: 1, unitPriceCents: 250 } })
      .thenThrows('CART_CHECKED_OUT');
  });

  it('is terminal once checked out', () => {
    const state = fold(cartDecider, [opened, tea, { type: 'CartCheckedOut', data: { checkedOutAt: openedAt, totalCents: 500 } }]);
    expect(cart.isTerminal?.(state)).toBe(true);
    expect(cart.isTerminal?.(cartDecider.initialState())).toBe(false);
  });

  it('rejects a payload that fails its schema, naming every failing field', () => {
    given([opened])
      .when({ type: 'AddItem', data: { sku: '', quantity: 0, unitPriceCents: 1.5 } })
      .thenThrows(ValidationError, (error) => {
        expect(error.issues.map((issue) => issue.path)).toEqual(['data.sku', 'data.quantity', 'data.unitPriceCents']);
        expect(error.message).toMatch(/data\.sku: .*data\.quantity: .*data\.unitPriceCents: /);
      });
  });

  it('rejects an unknown command type', () => {
    given([]).when({ type: 'EmptyCart', data: {} } as never).thenThrows(UnknownCommandError);
  });
});
