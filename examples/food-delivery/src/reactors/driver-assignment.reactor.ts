import { defineReactor } from '../eventfold';
import { order } from '../domain/order';
import { orderEvents } from '../domain/order-messages';
import { driverFor } from '../restaurants/drivers';

/**
 * Assigns a driver to an approved order. The driver is a stable function of the order id, so a
 * duplicate or late delivery asks for the same driver, and an assigned order decides nothing anyway.
 */
export const driverAssignmentReactor = defineReactor({
  name: 'driver-assignment',
  filter: { eventTypes: ['OrderApproved'], streamPrefixes: ['order-'] },
  // Upcast by the catalog: the handler reads today's shape of every stored version.
  events: orderEvents,
  async handle(event, context) {
    if (event.type !== 'OrderApproved') return;
    const { orderId } = event.data;
    await context.send(order, { streamName: order.streamName(orderId), command: { type: 'AssignDriver', data: { driverId: driverFor(orderId) } } });
  },
});
