import { z } from 'zod';
import { defineCommands, defineEvents, personal, type CommandOf, type EventOf } from '../eventfold';

/** Ids become part of stream names and URLs: non-empty, printable, no spaces. */
const id = z
  .string()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[^\s\u0000-\u001f\u007f]*$/, 'must not contain spaces or control characters');

const reason = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters');

/** A customer's name or address: personal data, erased by forgetCustomer. */
const personalText = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const customerName = personalText(200);
const deliveryAddress = personalText(500);

/** What the customer asked for: ids and quantities only. Prices come from the menu at validation. */
export const requestedItem = z.object({
  menuItemId: id,
  quantity: z.number().int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100'),
});
export type RequestedItem = z.output<typeof requestedItem>;

/** A line as validated against the menu; money is in integer cents so totals never drift. */
export const pricedItem = z.object({
  menuItemId: id,
  name: z.string().min(1),
  unitPriceCents: z.number().int().nonnegative(),
  quantity: z.number().int().min(1).max(100),
});
export type PricedItem = z.output<typeof pricedItem>;

export const orderCommands = defineCommands({
  PlaceOrder: {
    schema: z.object({
      orderId: id,
      customerId: id,
      restaurantId: id,
      items: z.array(requestedItem).min(1, 'must list at least one item').max(50, 'must list at most 50 items'),
      customerName: customerName.optional(),
      deliveryAddress: deliveryAddress.optional(),
    }),
    stream: 'new',
  },
  ValidateOrder: {
    schema: z.object({ items: z.array(pricedItem).min(1), totalCents: z.number().int().nonnegative() }),
    stream: 'existing',
  },
  RejectOrder: { schema: z.object({ reason }), stream: 'existing' },
  RecordPayment: {
    schema: z.discriminatedUnion('outcome', [
      z.object({ outcome: z.literal('succeeded'), paymentId: id, amountCents: z.number().int().nonnegative() }),
      z.object({ outcome: z.literal('failed'), reason }),
    ]),
    stream: 'existing',
  },
  ApproveOrder: { schema: z.object({ approvedBy: z.enum(['auto', 'restaurant']) }), stream: 'existing' },
  AssignDriver: { schema: z.object({ driverId: id }), stream: 'existing' },
  CancelOrder: { schema: z.object({ reason }), stream: 'existing' },
  /** Sent by the approval timer: cancels a paid order the restaurant did not approve in time. */
  ExpireApproval: { schema: z.object({}), stream: 'existing' },
  /** Sent by the payment function once it refunded a cancelled order's payment. */
  RecordRefund: { schema: z.object({ refundId: id }), stream: 'existing' },
});

// Event type strings are stored forever: never rename one, version it. The customer's name and address
// are personal data of the customer: sealed with the customer's key, redacted once forgotten.
export const orderEvents = defineEvents(
  {
    OrderPlaced: z.object({
      orderId: id,
      customerId: id,
      restaurantId: id,
      items: z.array(requestedItem).min(1),
      customerName: personal(customerName).optional(),
      deliveryAddress: personal(deliveryAddress).optional(),
    }),
    OrderValidated: z.object({ orderId: id, items: z.array(pricedItem).min(1), totalCents: z.number().int().nonnegative() }),
    OrderRejected: z.object({ orderId: id, reason }),
    PaymentSucceeded: z.object({ orderId: id, paymentId: id, amountCents: z.number().int().nonnegative() }),
    PaymentFailed: z.object({ orderId: id, reason }),
    OrderApproved: z.object({ orderId: id, approvedBy: z.enum(['auto', 'restaurant']) }),
    DriverAssigned: z.object({ orderId: id, driverId: id }),
    OrderCancelled: z.object({ orderId: id, reason }),
    PaymentRefunded: z.object({ orderId: id, paymentId: id, amountCents: z.number().int().nonnegative(), refundId: id }),
  },
  { subjects: { OrderPlaced: (data) => data.customerId } },
);

/** Why an order the restaurant did not approve in time was cancelled. */
export const APPROVAL_TIMEOUT = 'APPROVAL_TIMEOUT';

export type OrderCommand = CommandOf<typeof orderCommands>;
export type OrderEvent = EventOf<typeof orderEvents>;
export type OrderEventType = OrderEvent['type'];

/** Every event type of the order, for projections and reactor filters. */
export const ORDER_EVENT_TYPES = [
  'OrderPlaced',
  'OrderValidated',
  'OrderRejected',
  'PaymentSucceeded',
  'PaymentFailed',
  'OrderApproved',
  'DriverAssigned',
  'OrderCancelled',
  'PaymentRefunded',
] as const satisfies readonly OrderEventType[];
