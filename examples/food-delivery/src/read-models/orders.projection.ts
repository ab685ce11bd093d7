import { defineCollection, defineProjection, type RecordedEvent } from '../eventfold';
import { ORDER_EVENT_TYPES, orderEvents, type OrderEvent } from '../domain/order-messages';
import type { OrderStatusName, OrderUpdate, OrderView } from './order-view';

const orders = defineCollection<OrderView>({ indexes: { customerId: 'text', status: 'text', placedPosition: 'text' } });

/**
 * Every state each order went through, one document per event. A subscriber that falls behind (two
 * events land in one batch) still gets each transition, not only the latest state.
 */
const orderUpdates = defineCollection<OrderUpdate>({ indexes: { orderId: 'text', revision: 'number' } });

/** The key of an order's state after the event at `revision`; zero-padded so keys sort by revision. */
export function updateKey(orderId: string, revision: number): string {
  return `${orderId}@${String(revision).padStart(6, '0')}`;
}

const cents = (amount: number): number => amount / 100;

/** Applies one event to the order's view. Pure, so that the unit tests can fold events through it. */
export function applyToOrderView(
  view: OrderView | undefined,
  event: OrderEvent,
  recorded: Pick<RecordedEvent, 'position' | 'revision' | 'metadata' | 'recordedAt'>,
): OrderView | undefined {
  const at = {
    position: recorded.position.toString(),
    revision: Number(recorded.revision),
    updatedAt: (recorded.metadata.time ?? recorded.recordedAt.toISOString()),
  };
  const next = (status: OrderStatusName, changes: Partial<OrderView> = {}): OrderView | undefined =>
    view && { ...view, ...changes, ...at, status };
  switch (event.type) {
    case 'OrderPlaced':
      return {
        id: event.data.orderId,
        status: 'PLACED',
        customerId: event.data.customerId,
        restaurantId: event.data.restaurantId,
        items: event.data.items.map((item) => ({ menuItemId: item.menuItemId, quantity: item.quantity, name: null, unitPrice: null })),
        total: 0,
        rejectionReason: null,
        paymentError: null,
        cancellationReason: null,
        paymentId: null,
        driverId: null,
        paidAt: null,
        refunded: false,
        placedPosition: at.position,
        placedAt: at.updatedAt,
        ...at,
      };
    case 'OrderValidated':
      return next('VALIDATED', {
        items: event.data.items.map((item) => ({
          menuItemId: item.menuItemId,
          quantity: item.quantity,
          name: item.name,
          unitPrice: cents(item.unitPriceCents),
        })),
        total: cents(event.data.totalCents),
      });
    case 'OrderRejected':
      return next('REJECTED', { rejectionReason: event.data.reason });
    case 'PaymentSucceeded':
      return next('PAID', { paymentId: event.data.paymentId, paidAt: recorded.recordedAt.toISOString() });
    case 'PaymentFailed':
      return next('PAYMENT_FAILED', { paymentError: event.data.reason });
    case 'OrderApproved':
      return next('APPROVED');
    case 'DriverAssigned':
      return next('DRIVER_ASSIGNED', { driverId: event.data.driverId });
    case 'OrderCancelled':
      return next('CANCELLED', { cancellationReason: event.data.reason });
    case 'PaymentRefunded':
      return next('CANCELLED', { refunded: true });
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

const orderIdOf = (event: { readonly data: unknown }): string => (event.data as { orderId: string }).orderId;

/**
 * The `orders` read model: one document per order (for `order`, `orders` and the subscription's first
 * answer) and one per transition (for the subscription's every change). Written with its checkpoint in
 * one transaction, so a crash never applies an event twice.
 */
export const ordersProjection = defineProjection({
  name: 'orders',
  version: 1,
  eventTypes: ORDER_EVENT_TYPES,
  // Upcast by the catalog: the handler reads today's shape of every stored version.
  events: orderEvents,
  collections: { orders, order_updates: orderUpdates },
  documentKeys: { orders: orderIdOf },
  async handle(events, tx) {
    const views = tx.documents('orders');
    const updates = tx.documents('order_updates');
    for (const event of events) {
      const orderId = orderIdOf(event);
      const view = applyToOrderView(await views.get(orderId), event, event);
      // Impossible while OrderPlaced opens every order stream; if it happens, stop loudly (never skip silently).
      if (!view) throw new Error(`${event.type} at ${event.streamName}@${event.revision}: the order has no OrderPlaced`);
      views.put(orderId, view);
      updates.put(updateKey(orderId, view.revision), { orderId, revision: view.revision, order: view });
    }
  },
});
