import { randomUUID } from 'node:crypto';
import { InMemoryEventStore, InMemoryReadModelStore, ProjectionEngine, type AppendResult, type EventData } from '../src/eventfold';
import { protectOrders } from '../src/personal-data/protect-orders';
import type { OrderEvent } from '../src/domain/order-messages';
import { ordersProjection } from '../src/read-models/orders.projection';

const orderId = 'o-1';
const events: OrderEvent[] = [
  { type: 'OrderPlaced', data: { orderId, customerId: 'c-1', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 2 }] } },
  { type: 'OrderValidated', data: { orderId, items: [{ menuItemId: 'gyoza', name: 'Gyoza (6)', unitPriceCents: 690, quantity: 2 }], totalCents: 1380 } },
  { type: 'PaymentSucceeded', data: { orderId, paymentId: 'pay-1', amountCents: 1380 } },
  { type: 'OrderApproved', data: { orderId, approvedBy: 'auto' } },
  { type: 'DriverAssigned', data: { orderId, driverId: 'driver-ada' } },
];

describe('orders projection', () => {
  it('keeps the order and one state per transition, even when all events land in one batch', async () => {
    const eventStore = new InMemoryEventStore();
    const readModels = new InMemoryReadModelStore();
    const { position } = await eventStore.appendToStream(
      `order-${orderId}`,
      events.map((event) => ({ id: randomUUID(), type: event.type, data: event.data, metadata: { time: '2026-03-01T10:00:00.000Z' } })),
    );
    const engine = new ProjectionEngine({ eventStore, readModels, projections: [ordersProjection] });
    await engine.start();
    try {
      await engine.waitForPosition('orders', position, { timeoutMs: 5_000 });
      const order = await readModels.documents(ordersProjection, 'orders').get(orderId);
      expect(order).toMatchObject({
        id: orderId,
        status: 'DRIVER_ASSIGNED',
        customerId: 'c-1',
        total: 13.8,
        items: [{ menuItemId: 'gyoza', quantity: 2, name: 'Gyoza (6)', unitPrice: 6.9 }],
        paymentId: 'pay-1',
        driverId: 'driver-ada',
        revision: 4,
        position: position.toString(),
      });
      const updates = await readModels.documents(ordersProjection, 'order_updates').find({ where: { orderId }, orderBy: 'revision' });
      expect(updates.map((update) => [update.revision, update.order.status])).toEqual([
        [0, 'PLACED'],
        [1, 'VALIDATED'],
        [2, 'PAID'],
        [3, 'APPROVED'],
        [4, 'DRIVER_ASSIGNED'],
      ]);
      expect(updates[0]!.order.total).toBe(0);
      expect(updates[1]!.order.total).toBe(13.8);
      expect(await readModels.documents(ordersProjection, 'orders').count({ customerId: 'c-1' })).toBe(1);
    } finally {
      await engine.stop();
    }
  });
});

describe('orders projection and forgotten customers', () => {
  it("shows the customer's name and address, and blanks them in every document once the customer is forgotten", async () => {
    const { store } = await protectOrders(new InMemoryEventStore(), '.');
    const readModels = new InMemoryReadModelStore();
    const placed = (id: string, customerId: string, customerName: string): EventData => ({
      id: randomUUID(),
      type: 'OrderPlaced',
      data: { orderId: id, customerId, restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }], customerName, deliveryAddress: `${customerName}'s door` },
    });
    await store.appendToStream('order-o-a', [placed('o-a', 'c-a', 'Ann Aardvark')]);
    await store.appendToStream('order-o-a', [{ id: randomUUID(), type: 'OrderRejected', data: { orderId: 'o-a', reason: 'closed' } }]);
    const { position } = await store.appendToStream('order-o-b', [placed('o-b', 'c-b', 'Bo Beaver')]);
    const engine = new ProjectionEngine({ eventStore: store, readModels, projections: [ordersProjection] });
    await engine.start();
    try {
      await engine.waitForPosition('orders', position, { timeoutMs: 5_000 });
      const orders = readModels.documents(ordersProjection, 'orders');
      expect(await orders.get('o-a')).toMatchObject({ customerName: 'Ann Aardvark', deliveryAddress: "Ann Aardvark's door", personalDataErased: false });

      const receipt = await store.forgetSubject('c-a');
      await engine.waitForPosition('orders', receipt.position, { timeoutMs: 5_000 });
      expect(await orders.get('o-a')).toMatchObject({ customerName: null, deliveryAddress: null, personalDataErased: true, status: 'REJECTED' });
      const updates = await readModels.documents(ordersProjection, 'order_updates').find({ where: { orderId: 'o-a' } });
      expect(updates.map((update) => [update.order.customerName, update.order.personalDataErased])).toEqual([
        [null, true],
        [null, true],
      ]);
      expect(await orders.get('o-b')).toMatchObject({ customerName: 'Bo Beaver', personalDataErased: false });
    } finally {
      await engine.stop();
    }
  });

  it('erases every order of a customer with more orders than one query returns (1,001 orders)', async () => {
    const { store } = await protectOrders(new InMemoryEventStore(), '.');
    const readModels = new InMemoryReadModelStore();
    const count = 1_001;
    let last: AppendResult | undefined;
    for (let index = 0; index < count; index++) {
      const id = `o-${index}`;
      const data = { orderId: id, customerId: 'c-many', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }], customerName: 'Manny Many', deliveryAddress: 'Many Street' };
      last = await store.appendToStream(`order-${id}`, [{ id: randomUUID(), type: 'OrderPlaced', data }]);
    }
    const engine = new ProjectionEngine({ eventStore: store, readModels, projections: [ordersProjection] });
    await engine.start();
    try {
      await engine.waitForPosition('orders', last!.position, { timeoutMs: 30_000 });
      const receipt = await store.forgetSubject('c-many');
      await engine.waitForPosition('orders', receipt.position, { timeoutMs: 30_000 });
      const orders = readModels.documents(ordersProjection, 'orders');
      const all = [
        ...(await orders.find({ where: { customerId: 'c-many' }, limit: 1_000 })),
        ...(await orders.find({ where: { customerId: 'c-many' }, limit: 1_000, offset: 1_000 })),
      ];
      expect(all).toHaveLength(count);
      expect(all.filter((view) => view.customerName !== null || view.deliveryAddress !== null).map((view) => view.id)).toEqual([]);
      const updates = readModels.documents(ordersProjection, 'order_updates');
      const kept = await updates.find({ where: { orderId: all.map((view) => view.id).slice(0, 500) } , limit: 1_000 });
      expect(kept.length).toBe(500);
      expect(kept.every((update) => update.order.customerName === null)).toBe(true);
    } finally {
      await engine.stop();
    }
  });
});
