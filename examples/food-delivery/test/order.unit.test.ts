import { ValidationError } from '../src/eventfold';
import { deciderSpecification } from 'eventfold/testing';
import { order } from '../src/domain/order';
import type { OrderEvent } from '../src/domain/order-messages';

const given = deciderSpecification(order);

const placed: OrderEvent = {
  type: 'OrderPlaced',
  data: { orderId: 'o-1', customerId: 'c-1', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 2 }] },
};
const pricedItems = [{ menuItemId: 'gyoza', name: 'Gyoza (6)', unitPriceCents: 690, quantity: 2 }];
const validate = { type: 'ValidateOrder', data: { items: pricedItems, totalCents: 1380 } } as const;
const validated: OrderEvent = { type: 'OrderValidated', data: { orderId: 'o-1', items: pricedItems, totalCents: 1380 } };
const paid: OrderEvent = { type: 'PaymentSucceeded', data: { orderId: 'o-1', paymentId: 'pay-1', amountCents: 1380 } };
const approved: OrderEvent = { type: 'OrderApproved', data: { orderId: 'o-1', approvedBy: 'auto' } };
const driverAssigned: OrderEvent = { type: 'DriverAssigned', data: { orderId: 'o-1', driverId: 'driver-ada' } };
const cancelled: OrderEvent = { type: 'OrderCancelled', data: { orderId: 'o-1', reason: 'changed my mind' } };
const rejected: OrderEvent = { type: 'OrderRejected', data: { orderId: 'o-1', reason: 'not on the menu' } };
const paymentFailed: OrderEvent = { type: 'PaymentFailed', data: { orderId: 'o-1', reason: 'declined' } };

describe('order: the happy path', () => {
  it('places an order', () => {
    given([])
      .when({ type: 'PlaceOrder', data: { orderId: 'o-1', customerId: 'c-1', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 2 }] } })
      .then([placed]);
  });

  it('validates a placed order with its priced items', () => {
    given([placed]).when(validate).then([validated]);
  });

  it('records a successful payment of a validated order', () => {
    given([placed, validated])
      .when({ type: 'RecordPayment', data: { outcome: 'succeeded', paymentId: 'pay-1', amountCents: 1380 } })
      .then([paid]);
  });

  it('approves a paid order, then assigns a driver', () => {
    given([placed, validated, paid]).when({ type: 'ApproveOrder', data: { approvedBy: 'auto' } }).then([approved]);
    given([placed, validated, paid, approved]).when({ type: 'AssignDriver', data: { driverId: 'driver-ada' } }).then([driverAssigned]);
  });
});

describe('order: the other outcomes', () => {
  it('rejects a placed order with its reason', () => {
    given([placed]).when({ type: 'RejectOrder', data: { reason: 'not on the menu' } }).then([rejected]);
  });

  it('records a failed payment', () => {
    given([placed, validated]).when({ type: 'RecordPayment', data: { outcome: 'failed', reason: 'declined' } }).then([paymentFailed]);
  });

  it('cancels before approval (placed, validated or paid)', () => {
    const cancel = { type: 'CancelOrder', data: { reason: 'changed my mind' } } as const;
    given([placed]).when(cancel).then([cancelled]);
    given([placed, validated]).when(cancel).then([cancelled]);
    given([placed, validated, paid]).when(cancel).then([cancelled]);
  });

  it('refuses to cancel once approved, and a closed order', () => {
    const cancel = { type: 'CancelOrder', data: { reason: 'too late' } } as const;
    given([placed, validated, paid, approved]).when(cancel).thenThrows('ORDER_ALREADY_APPROVED');
    given([placed, validated, paid, approved, driverAssigned]).when(cancel).thenThrows('ORDER_ALREADY_APPROVED');
    given([placed, rejected]).when(cancel).thenThrows('ORDER_CLOSED');
    given([placed, validated, paymentFailed]).when(cancel).thenThrows('ORDER_CLOSED');
  });

  it('manual approval needs a paid, uncancelled order', () => {
    const approve = { type: 'ApproveOrder', data: { approvedBy: 'restaurant' } } as const;
    given([placed, validated]).when(approve).thenThrows('ORDER_NOT_PAID');
    given([placed, cancelled]).when(approve).thenThrows('ORDER_CANCELLED');
    given([]).when(approve).thenThrows('ORDER_NOT_FOUND');
  });

  it('assigns a driver only after approval', () => {
    given([placed, validated, paid]).when({ type: 'AssignDriver', data: { driverId: 'driver-ada' } }).thenThrows('ORDER_NOT_APPROVED');
  });
});

describe('order: commands from reactors tolerate duplicates and late arrival', () => {
  it('decides nothing when the step already happened', () => {
    given([placed, validated]).when(validate).then([]);
    given([placed, rejected]).when({ type: 'RejectOrder', data: { reason: 'again' } }).then([]);
    given([placed, validated, paid]).when({ type: 'RecordPayment', data: { outcome: 'failed', reason: 'late' } }).then([]);
    given([placed, validated, paid, approved]).when({ type: 'ApproveOrder', data: { approvedBy: 'auto' } }).then([]);
    given([placed, validated, paid, approved, driverAssigned]).when({ type: 'AssignDriver', data: { driverId: 'driver-ken' } }).then([]);
    given([placed, cancelled]).when({ type: 'CancelOrder', data: { reason: 'again' } }).then([]);
  });

  it('decides nothing for a step that no longer applies (the order was cancelled meanwhile)', () => {
    given([placed, cancelled]).when(validate).then([]);
    given([placed, validated, cancelled])
      .when({ type: 'RecordPayment', data: { outcome: 'succeeded', paymentId: 'pay-1', amountCents: 1380 } })
      .then([]);
  });
});

describe('order: input validation names the failing fields', () => {
  const place = (data: unknown) => given([]).when({ type: 'PlaceOrder', data } as never);

  it('needs at least one item', () => {
    place({ orderId: 'o-1', customerId: 'c-1', restaurantId: 'r-1', items: [] }).thenThrows(ValidationError, (error) => {
      expect(error.issues.map((issue) => issue.path)).toEqual(['data.items']);
    });
  });

  it('needs quantities from 1 to 100', () => {
    place({ orderId: 'o-1', customerId: 'c-1', restaurantId: 'r-1', items: [{ menuItemId: 'a', quantity: 0 }, { menuItemId: 'b', quantity: 101 }] })
      .thenThrows(ValidationError, (error) => {
        expect(error.issues.map((issue) => issue.path)).toEqual(['data.items[0].quantity', 'data.items[1].quantity']);
      });
  });

  it('needs non-empty ids', () => {
    place({ orderId: '', customerId: '', restaurantId: '', items: [{ menuItemId: '', quantity: 1 }] }).thenThrows(ValidationError, (error) => {
      expect(error.issues.map((issue) => issue.path).sort()).toEqual(
        ['data.customerId', 'data.items[0].menuItemId', 'data.orderId', 'data.restaurantId'].sort(),
      );
    });
  });
});
