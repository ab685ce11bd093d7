import { defineReactor } from '../src/eventfold';
import { verifyReactor, type IssuedEvent, type ScenarioEvent } from 'eventfold/testing';
import { chargeOrder } from '../src/payment/payment.function';
import { approvalReactor } from '../src/reactors/approval.reactor';
import { driverAssignmentReactor } from '../src/reactors/driver-assignment.reactor';
import { validationReactor } from '../src/reactors/validation.reactor';
import { driverFor } from '../src/restaurants/drivers';

// Each reactor runs its scenario once in order, then 100 more times with redeliveries (as after a
// restart from a checkpoint) and streams interleaved at random; every run must issue the same events.

const placed = (orderId: string, restaurantId: string, items: { menuItemId: string; quantity: number }[]): ScenarioEvent => ({
  streamName: `order-${orderId}`,
  type: 'OrderPlaced',
  data: { orderId, customerId: 'c-1', restaurantId, items },
});
const validated = (orderId: string, totalCents: number): ScenarioEvent => ({
  streamName: `order-${orderId}`,
  type: 'OrderValidated',
  data: { orderId, items: [{ menuItemId: 'x', name: 'X', unitPriceCents: totalCents, quantity: 1 }], totalCents },
});
const paid = (orderId: string): ScenarioEvent => ({
  streamName: `order-${orderId}`,
  type: 'PaymentSucceeded',
  data: { orderId, paymentId: `pay-${orderId}`, amountCents: 100 },
});
const approved = (orderId: string): ScenarioEvent => ({ streamName: `order-${orderId}`, type: 'OrderApproved', data: { orderId, approvedBy: 'auto' } });
const assigned = (orderId: string): ScenarioEvent => ({ streamName: `order-${orderId}`, type: 'DriverAssigned', data: { orderId, driverId: 'driver-ken' } });
const cancelled = (orderId: string): ScenarioEvent => ({ streamName: `order-${orderId}`, type: 'OrderCancelled', data: { orderId, reason: 'changed my mind' } });

const issuedOf = (outcome: unknown): IssuedEvent[] => (outcome as { issued: IssuedEvent[] }).issued;
const failedOf = (outcome: unknown): unknown[] => (outcome as { failed: unknown[] }).failed;
const byStream = (issued: IssuedEvent[]) => Object.fromEntries(issued.map((event) => [event.streamName, event]));

describe('reactors are idempotent and order-tolerant (verifyReactor)', () => {
  it('validation: validates against the menu or rejects with the reason; skips orders already decided or cancelled', async () => {
    const { outcome, runs } = await verifyReactor(validationReactor, {
      events: [
        placed('v1', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 2 }, { menuItemId: 'shoyu-ramen', quantity: 1 }]),
        placed('v2', 'tokyo-ramen', [{ menuItemId: 'unicorn', quantity: 1 }]),
        placed('v3', 'nowhere', [{ menuItemId: 'gyoza', quantity: 1 }]),
        placed('v4', 'green-bowl', [{ menuItemId: 'lemonade', quantity: 1 }]),
        cancelled('v4'),
        placed('v5', 'green-bowl', [{ menuItemId: 'lemonade', quantity: 1 }]),
        validated('v5', 390),
      ],
    });
    expect(runs).toBe(100);
    expect(failedOf(outcome)).toEqual([]);
    const issued = byStream(issuedOf(outcome));
    expect(Object.keys(issued).sort()).toEqual(['order-v1', 'order-v2', 'order-v3']);
    expect(issued['order-v1']).toEqual({
      streamName: 'order-v1',
      type: 'OrderValidated',
      data: {
        orderId: 'v1',
        items: [
          { menuItemId: 'gyoza', name: 'Gyoza (6)', unitPriceCents: 690, quantity: 2 },
          { menuItemId: 'shoyu-ramen', name: 'Shoyu Ramen', unitPriceCents: 1390, quantity: 1 },
        ],
        totalCents: 2770,
      },
    });
    expect(issued['order-v2']).toMatchObject({ type: 'OrderRejected', data: { reason: expect.stringContaining('"unicorn"') } });
    expect(issued['order-v3']).toMatchObject({ type: 'OrderRejected', data: { reason: 'unknown restaurant "nowhere"' } });
  });

  it('payment (the same handler the HTTP function runs): charges up to 1000.00, declines above, skips cancelled orders', async () => {
    const inProcess = defineReactor({ name: 'payment', filter: { eventTypes: ['OrderValidated'] }, handle: chargeOrder });
    const { outcome } = await verifyReactor(inProcess, {
      events: [
        placed('p1', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('p1', 3470),
        placed('p2', 'caviar-house', [{ menuItemId: 'beluga-tin', quantity: 1 }]),
        validated('p2', 125_000),
        placed('p3', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('p3', 100_000),
        placed('p4', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('p4', 690),
        cancelled('p4'),
      ],
    });
    expect(failedOf(outcome)).toEqual([]);
    const issued = byStream(issuedOf(outcome));
    expect(Object.keys(issued).sort()).toEqual(['order-p1', 'order-p2', 'order-p3']);
    expect(issued['order-p1']).toMatchObject({ type: 'PaymentSucceeded', data: { orderId: 'p1', amountCents: 3470, paymentId: expect.stringMatching(/^pay_/) } });
    expect(issued['order-p2']).toMatchObject({ type: 'PaymentFailed', data: { reason: expect.stringContaining('1250.00') } });
    expect(issued['order-p3']).toMatchObject({ type: 'PaymentSucceeded', data: { amountCents: 100_000 } }); // exactly 1000.00 is fine
  });

  it('restaurant approval: approves paid orders; a cancelled one stays cancelled without failing', async () => {
    const { outcome } = await verifyReactor(approvalReactor, {
      events: [
        placed('a1', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('a1', 690),
        paid('a1'),
        placed('a2', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('a2', 690),
        paid('a2'),
        cancelled('a2'),
        placed('a3', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('a3', 690),
        paid('a3'),
        approved('a3'),
      ],
    });
    expect(failedOf(outcome)).toEqual([]);
    expect(issuedOf(outcome)).toEqual([{ streamName: 'order-a1', type: 'OrderApproved', data: { orderId: 'a1', approvedBy: 'auto' } }]);
  });

  it('driver assignment: one stable driver per approved order, none for an order that has one', async () => {
    const { outcome } = await verifyReactor(driverAssignmentReactor, {
      events: [
        placed('d1', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('d1', 690),
        paid('d1'),
        approved('d1'),
        placed('d2', 'tokyo-ramen', [{ menuItemId: 'gyoza', quantity: 1 }]),
        validated('d2', 690),
        paid('d2'),
        approved('d2'),
        assigned('d2'),
      ],
    });
    expect(failedOf(outcome)).toEqual([]);
    expect(issuedOf(outcome)).toEqual([{ streamName: 'order-d1', type: 'DriverAssigned', data: { orderId: 'd1', driverId: driverFor('d1') } }]);
  });
});
