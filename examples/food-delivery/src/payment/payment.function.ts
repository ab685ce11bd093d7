import { decodeRecorded, type ReactorHandler } from '../eventfold';
import { order } from '../domain/order';
import { orderEvents } from '../domain/order-messages';

/** The demo card's limit: an order whose total exceeds 1000.00 is declined. */
export const CARD_LIMIT_CENTS = 100_000;

/**
 * The payment function: what a serverless payment service runs for each validated order (and refunds
 * for each cancelled one), delivered by
 * the `payment` webhook reactor as a signed HTTP request. It "charges" the order (the demo card declines
 * totals over 1000.00) and records the outcome on the order. The delivery's idempotency key — the event
 * id — makes the charge and the recorded outcome happen once however often the delivery is retried.
 */
export const chargeOrder: ReactorHandler = async (recorded, context) => {
  const event = decodeRecorded(orderEvents, recorded);
  if (event.type === 'OrderCancelled') {
    // A cancelled order is refunded; the order decides whether there is a payment to refund (once).
    await context.send(order, {
      streamName: order.streamName(event.data.orderId),
      command: { type: 'RecordRefund', data: { refundId: `ref_${context.idempotencyKey}` } },
    });
    return;
  }
  if (event.type !== 'OrderValidated') return;
  const { orderId, totalCents } = event.data;
  const outcome =
    totalCents > CARD_LIMIT_CENTS
      ? ({ outcome: 'failed', reason: `card declined: ${(totalCents / 100).toFixed(2)} is over the demo card limit of 1000.00` } as const)
      : ({ outcome: 'succeeded', paymentId: `pay_${context.idempotencyKey}`, amountCents: totalCents } as const);
  await context.send(order, { streamName: order.streamName(orderId), command: { type: 'RecordPayment', data: outcome } });
};
