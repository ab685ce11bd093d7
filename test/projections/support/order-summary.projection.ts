import { randomUUID } from 'node:crypto';
import { defineCollection, defineProjection } from '../../../src/projections';
import type { EventData } from '../../../src/event-store/event-store';

/** The read model most tests use: one document per order, with indexed status and total. */
export interface OrderSummary {
  orderId: string;
  status: 'placed' | 'paid' | 'cancelled';
  total: number;
  items: number;
  customerId: string;
}

export const orders = defineCollection<OrderSummary>({ indexes: { status: 'text', total: 'number', customerId: 'text' } });

export type OrderEventType = 'OrderPlaced' | 'ItemAdded' | 'OrderPaid' | 'OrderCancelled';

interface OrderEventData {
  orderId: string;
  customerId?: string;
  price?: number;
}

export const orderSummary = defineProjection({
  name: 'order-summary',
  version: 1,
  eventTypes: ['OrderPlaced', 'ItemAdded', 'OrderPaid', 'OrderCancelled'],
  collections: { orders },
  async handle(events, tx) {
    const docs = tx.documents('orders');
    for (const event of events) {
      const data = event.data as unknown as OrderEventData;
      switch (event.type) {
        case 'OrderPlaced':
          docs.put(data.orderId, { orderId: data.orderId, status: 'placed', total: 0, items: 0, customerId: data.customerId ?? 'anonymous' });
          break;
        case 'ItemAdded': {
          const order = await docs.get(data.orderId);
          if (!order) throw new Error(`item added to unknown order ${data.orderId}`);
          docs.put(data.orderId, { ...order, total: order.total + (data.price ?? 0), items: order.items + 1 });
          break;
        }
        case 'OrderPaid':
          await docs.patch(data.orderId, { status: 'paid' });
          break;
        case 'OrderCancelled':
          docs.delete(data.orderId);
          break;
        default: {
          const _never: never = event.type;
          throw new Error(`unhandled ${String(_never)}`);
        }
      }
    }
  },
});

/** Builds an event to append. */
export function orderEvent(type: string, data: OrderEventData | Record<string, unknown>): EventData {
  return { id: randomUUID(), type, data: data as unknown as EventData['data'] };
}
