import { defineReactor } from '../eventfold';
import { order } from '../domain/order';
import { orderEvents } from '../domain/order-messages';
import { priceOrder } from '../restaurants/catalog';

/**
 * Checks a placed order against its restaurant's menu: `OrderValidated` with the priced items, or
 * `OrderRejected` with the reason. Idempotent (the command id derives from the event; a validated or
 * rejected order decides nothing) and order-tolerant (it reads nothing but the event and the menu).
 */
export const validationReactor = defineReactor({
  name: 'order-validation',
  filter: { eventTypes: ['OrderPlaced'], streamPrefixes: ['order-'] },
  // Upcast by the catalog: the handler reads today's shape of every stored version.
  events: orderEvents,
  async handle(event, context) {
    if (event.type !== 'OrderPlaced') return;
    const { orderId, restaurantId, items } = event.data;
    const priced = priceOrder(restaurantId, items);
    await context.send(order, {
      streamName: order.streamName(orderId),
      command: priced.ok
        ? { type: 'ValidateOrder', data: { items: priced.items, totalCents: priced.totalCents } }
        : { type: 'RejectOrder', data: { reason: priced.reason } },
    });
  },
});
