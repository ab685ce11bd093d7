// The examples of README.md's "Time: timers and process managers" section, verbatim apart from imports
// and the test's own setup (the docs import from 'eventfold'): if this file stops passing, the docs are wrong.
import { randomUUID } from 'node:crypto';
import { defineProcess, defineReactor, ReactorRunner } from 'eventfold';
import { verifyProcess } from 'eventfold/testing';
import type { CommandEnvironment } from '../../src/commands';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { ManualClock } from '../../src/testing/manual-clock';
import { order, orderEvents, type OrderEvent } from '../support/readme-order';

const placedEvent = (id: string) => ({
  streamName: `order-${id}`,
  type: 'OrderPlaced',
  data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 1 }], placedAt: '2026-03-01T10:00:00Z' },
});

// README: the timer example
export const shipWithinADay = defineReactor({
  name: 'ship-within-a-day',
  filter: { eventTypes: ['OrderPlaced', 'OrderShipped'] },
  handle: (event, context) => {
    const key = `ship-${event.streamName}`;
    if (event.type === 'OrderPlaced') {
      const shippedAt = new Date(event.recordedAt.getTime() + 86_400_000).toISOString();
      context.schedule(order, { streamName: event.streamName, command: { type: 'ShipOrder', data: { shippedAt } } }, { afterMs: 86_400_000, key });
    } else {
      context.cancelSchedule(key);
    }
  },
});

// README: the process manager example
type Shipping = { status: 'waiting' } | { status: 'placed'; shipBy: string } | { status: 'shipped' };

export const shippingDeadline = defineProcess<Shipping, OrderEvent>({
  name: 'shipping-deadline',
  filter: { eventTypes: ['OrderPlaced', 'OrderShipped'] },
  events: orderEvents,
  correlate: (event) => event.streamName,
  initialState: () => ({ status: 'waiting' }),
  evolve: (state, event) =>
    event.type === 'OrderPlaced' && state.status === 'waiting'
      ? { status: 'placed', shipBy: new Date(Date.parse(event.data.placedAt) + 86_400_000).toISOString() }
      : event.type === 'OrderShipped'
        ? { status: 'shipped' }
        : state,
  decide: (state, event) =>
    state.status === 'placed'
      ? { schedule: [{ aggregate: order, streamName: event.streamName, command: { type: 'ShipOrder', data: { shippedAt: state.shipBy } }, key: 'ship', at: state.shipBy }] }
      : { cancel: ['ship'] },
});

async function types(store: InMemoryEventStore, streamName: string): Promise<string[]> {
  const found: string[] = [];
  for await (const event of store.readStream(streamName)) found.push(event.type);
  return found;
}

describe('README: Time', () => {
  it('the timer ships an order a day after it was placed, and not one that shipped before', async () => {
    const store = new InMemoryEventStore();
    const environment: CommandEnvironment = { store };
    const clock = new ManualClock(new Date());
    const timers = await ReactorRunner.start({ store, reactors: [shipWithinADay], aggregates: [order], commands: environment, clock });
    try {
      for (const id of ['1', '2']) {
        const placed = placedEvent(id);
        await store.appendToStream(placed.streamName, [{ id: randomUUID(), type: placed.type, data: placed.data }]);
      }
      const { position } = await store.appendToStream('order-2', [{ id: randomUUID(), type: 'OrderShipped', data: { shippedAt: '2026-03-01T11:00:00Z' } }]);
      await timers.waitForPosition('ship-within-a-day', position);
      clock.advance(2 * 86_400_000);
      await timers.timersSettled();
      expect(await types(store, 'order-1')).toEqual(['OrderPlaced', 'OrderShipped']);
      expect(await types(store, 'order-2')).toEqual(['OrderPlaced', 'OrderShipped']);
    } finally {
      await timers.stop();
    }
  });

  it('verifyProcess passes the process manager', async () => {
    const result = await verifyProcess(shippingDeadline, { events: [placedEvent('1'), placedEvent('2')], aggregates: [order] });
    expect(result.outcome).toMatchObject({
      issued: [
        { streamName: 'order-1', type: 'OrderShipped', data: { shippedAt: '2026-03-02T10:00:00.000Z' } },
        { streamName: 'order-2', type: 'OrderShipped', data: { shippedAt: '2026-03-02T10:00:00.000Z' } },
      ],
    });
  });
});
