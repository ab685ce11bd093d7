import { BusinessRuleError, defineReactor } from '../eventfold';
import { order } from '../domain/order';
import { orderEvents } from '../domain/order-messages';

/**
 * The restaurant's auto-pilot: approves every paid order. With `RESTAURANT_APPROVAL=manual` the app does
 * not run it and the restaurant approves through the `approveOrder` mutation instead. An order cancelled
 * between payment and approval stays cancelled: that is an outcome, not a failure to retry.
 */
export const approvalReactor = defineReactor({
  name: 'restaurant-approval',
  filter: { eventTypes: ['PaymentSucceeded'], streamPrefixes: ['order-'] },
  // Upcast by the catalog: the handler reads today's shape of every stored version.
  events: orderEvents,
  async handle(event, context) {
    if (event.type !== 'PaymentSucceeded') return;
    try {
      await context.send(order, { streamName: order.streamName(event.data.orderId), command: { type: 'ApproveOrder', data: { approvedBy: 'auto' } } });
    } catch (error) {
      if (error instanceof BusinessRuleError && error.rule === 'ORDER_CANCELLED') {
        context.logger.info({ orderId: event.data.orderId }, 'not approved: the order was cancelled');
        return;
      }
      throw error;
    }
  },
});
