import { deciderSpecification, verifyProcess, verifyReactor, type IssuedEvent, type ScenarioEvent } from 'eventfold/testing';
import { defineReactor } from '../src/eventfold';
import { order } from '../src/domain/order';
import type { OrderEvent } from '../src/domain/order-messages';
import { chargeOrder } from '../src/payment/payment.function';
import { approvalTimeoutProcess } from '../src/reactors/approval-timeout.process';

const given = deciderSpecification(order);
const placed: OrderEvent = { type: 'OrderPlaced', data: { orderId: 'o-1', customerId: 'c-1', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 2 }] } };
const validated: OrderEvent = { type: 'OrderValidated', data: { orderId: 'o-1', items: [{ menuItemId: 'gyoza', name: 'Gyoza (6)', unitPriceCents: 690, quantity: 2 }], totalCents: 1380 } };
const paid: OrderEvent = { type: 'PaymentSucceeded', data: { orderId: 'o-1', paymentId: 'pay-1', amountCents: 1380 } };
const approved: OrderEvent = { type: 'OrderApproved', data: { orderId: 'o-1', approvedBy: 'restaurant' } };
const timedOut: OrderEvent = { type: 'OrderCancelled', data: { orderId: 'o-1', reason: 'APPROVAL_TIMEOUT' } };
const refunded: OrderEvent = { type: 'PaymentRefunded', data: { orderId: 'o-1', paymentId: 'pay-1', amountCents: 1380, refundId: 'ref-1' } };

describe('order: the approval deadline and refunds', () => {
  it('cancels a paid order whose approval timed out; does nothing once it was approved or cancelled', () => {
    given([placed, validated, paid]).when({ type: 'ExpireApproval', data: {} }).then([timedOut]);
    given([placed, validated, paid, approved]).when({ type: 'ExpireApproval', data: {} }).then([]);
    given([placed, validated, paid, timedOut]).when({ type: 'ExpireApproval', data: {} }).then([]);
    given([placed, validated]).when({ type: 'ExpireApproval', data: {} }).then([]);
  });

  it('refunds a cancelled, paid order once; an unpaid or open order has nothing to refund', () => {
    given([placed, validated, paid, timedOut]).when({ type: 'RecordRefund', data: { refundId: 'ref-1' } }).then([refunded]);
    given([placed, validated, paid, timedOut, refunded]).when({ type: 'RecordRefund', data: { refundId: 'ref-2' } }).then([]);
    given([placed, { type: 'OrderCancelled', data: { orderId: 'o-1', reason: 'changed my mind' } }]).when({ type: 'RecordRefund', data: { refundId: 'ref-1' } }).then([]);
    given([placed, validated, paid]).when({ type: 'RecordRefund', data: { refundId: 'ref-1' } }).then([]);
  });
});

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, second));
const event = (orderId: string, type: string, data: Record<string, unknown>, second: number): ScenarioEvent => ({
  streamName: `order-${orderId}`,
  type,
  data: { orderId, ...data },
  recordedAt: at(second),
});
const issuedOf = (outcome: unknown): IssuedEvent[] => (outcome as { issued: IssuedEvent[] }).issued;

describe('the approval-timeout process (verifyProcess: duplicates, shuffles, jumps in time)', () => {
  const placedEvent = (orderId: string, second: number) =>
    event(orderId, 'OrderPlaced', { customerId: 'c-1', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }] }, second);
  const validatedEvent = (orderId: string, second: number) =>
    event(orderId, 'OrderValidated', { items: [{ menuItemId: 'gyoza', name: 'Gyoza (6)', unitPriceCents: 690, quantity: 1 }], totalCents: 690 }, second);
  const paidEvent = (orderId: string, second: number) => event(orderId, 'PaymentSucceeded', { paymentId: `pay-${orderId}`, amountCents: 690 }, second);

  it('cancels only the order nobody approved in time, once', async () => {
    const { outcome } = await verifyProcess(approvalTimeoutProcess(60_000), {
      events: [
        placedEvent('late', 0),
        validatedEvent('late', 1),
        paidEvent('late', 2),
        placedEvent('quick', 3),
        validatedEvent('quick', 4),
        paidEvent('quick', 5),
        event('quick', 'OrderApproved', { approvedBy: 'restaurant' }, 30),
      ],
      aggregates: [order],
      runs: 40,
    });
    expect(issuedOf(outcome)).toEqual([{ streamName: 'order-late', type: 'OrderCancelled', data: { orderId: 'late', reason: 'APPROVAL_TIMEOUT' } }]);
  });

  it('leaves the timer pending while the deadline has not come', async () => {
    const { outcome } = await verifyProcess(approvalTimeoutProcess(60_000), {
      events: [placedEvent('o', 0), validatedEvent('o', 1), paidEvent('o', 2)],
      aggregates: [order],
      advanceMs: 59_000,
      runs: 20,
    });
    expect(issuedOf(outcome)).toEqual([]);
    expect(outcome).toMatchObject({ pendingTimers: [{ key: 'o:approval', dueAt: at(62).toISOString() }] });
  });
});

describe('the payment function refunds cancelled orders (verifyReactor)', () => {
  it('refunds a paid order once, however often the cancellation is delivered; an unpaid one has nothing to refund', async () => {
    const { outcome } = await verifyReactor(
      defineReactor({ name: 'payment', filter: { eventTypes: ['OrderValidated', 'OrderCancelled'] }, handle: chargeOrder }),
      {
        events: [
          event('paid', 'OrderPlaced', { customerId: 'c', restaurantId: 'r', items: [{ menuItemId: 'gyoza', quantity: 1 }] }, 0),
          event('paid', 'OrderValidated', { items: [{ menuItemId: 'gyoza', name: 'G', unitPriceCents: 690, quantity: 1 }], totalCents: 690 }, 1),
          event('paid', 'PaymentSucceeded', { paymentId: 'pay-paid', amountCents: 690 }, 2),
          event('paid', 'OrderCancelled', { reason: 'APPROVAL_TIMEOUT' }, 3),
          event('unpaid', 'OrderPlaced', { customerId: 'c', restaurantId: 'r', items: [{ menuItemId: 'gyoza', quantity: 1 }] }, 4),
          event('unpaid', 'OrderCancelled', { reason: 'changed my mind' }, 5),
        ],
      },
    );
    const refunds = issuedOf(outcome).filter((issued) => issued.type === 'PaymentRefunded');
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ streamName: 'order-paid', data: { orderId: 'paid', paymentId: 'pay-paid', amountCents: 690 } });
  });
});
