import { defineCollection, defineProjection, isRedacted, personalDataEvents, SUBJECT_FORGOTTEN, type RecordedEvent, type Redacted } from '../eventfold';
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

/** A personal field as the view keeps it: its text, or null when absent or redacted. */
const personalText = (value: string | Redacted | undefined): string | null =>
  value === undefined || isRedacted(value) ? null : value;

/** The view with its customer's personal data erased. */
export function eraseCustomer(view: OrderView): OrderView {
  return { ...view, customerName: null, deliveryAddress: null, personalDataErased: true };
}

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
        customerName: personalText(event.data.customerName),
        deliveryAddress: personalText(event.data.deliveryAddress),
        personalDataErased: isRedacted(event.data.customerName) || isRedacted(event.data.deliveryAddress),
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

/** Documents erased per query on a SubjectForgotten. */
const ERASE_PAGE = 500;

const orderIdOf = (event: { readonly data: unknown }): string => (event.data as { orderId: string }).orderId;


/**
 * The `orders` read model: one document per order (for `order`, `orders` and the subscription's first
 * answer) and one per transition (for the subscription's every change). Written with its checkpoint in
 * one transaction, so a crash never applies an event twice. On `SubjectForgotten` (forgetCustomer) it
 * blanks the customer's name and address in every document that holds them.
 */
export const ordersProjection = defineProjection({
  name: 'orders',
  // 2: the customer's name and address (a rebuild gives older documents the new fields).
  version: 2,
  eventTypes: [...ORDER_EVENT_TYPES, SUBJECT_FORGOTTEN],
  // Upcast by the catalog: the handler reads today's shape of every stored version.
  events: orderEvents,
  collections: { orders, order_updates: orderUpdates },
  documentKeys: { orders: (event) => (event.type === SUBJECT_FORGOTTEN ? undefined : orderIdOf(event)) },
  async handle(events, tx) {
    const views = tx.documents('orders');
    const updates = tx.documents('order_updates');
    for (const event of events) {
      if (event.type === SUBJECT_FORGOTTEN) {
        const { subjectId } = personalDataEvents.decode({ type: event.type, data: event.data, version: 1 }).data;
        // Every page, not only the first: a customer may have more orders than one query returns.
        for (let offset = 0; ; offset += ERASE_PAGE) {
          const page = await views.find({ where: { customerId: subjectId }, limit: ERASE_PAGE, offset });
          for (const view of page) {
            views.put(view.id, eraseCustomer(view));
            for (let from = 0; ; from += ERASE_PAGE) {
              const transitions = await updates.find({ where: { orderId: view.id }, limit: ERASE_PAGE, offset: from });
              for (const update of transitions) {
                updates.put(updateKey(view.id, update.revision), { ...update, order: eraseCustomer(update.order) });
              }
              if (transitions.length < ERASE_PAGE) break;
            }
          }
          if (page.length < ERASE_PAGE) break;
        }
        continue;
      }
      const orderId = orderIdOf(event);
      const view = applyToOrderView(await views.get(orderId), event, event);
      // Impossible while OrderPlaced opens every order stream; if it happens, stop loudly (never skip silently).
      if (!view) throw new Error(`${event.type} at ${event.streamName}@${event.revision}: the order has no OrderPlaced`);
      views.put(orderId, view);
      updates.put(updateKey(orderId, view.revision), { orderId, revision: view.revision, order: view });
    }
  },
});
