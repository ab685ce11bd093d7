// The examples of README.md's "Domain and commands" section, verbatim apart from imports (the docs import from 'eventfold'):
// if this file stops compiling or passing, the docs are wrong. The aggregate itself is in test/support/readme-order.ts.
import { handleCommand, loadAt, StateCache, type CommandEnvironment, type CommandRequest } from '../../src/commands';
import { order, type OrderCommand, type OrderEvent } from '../support/readme-order';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { deciderSpecification } from '../../src/testing';


describe('README: domain and commands', () => {
  const store = new InMemoryEventStore();
  afterAll(() => store.close());

  it('runs a command, idempotently', async () => {
    const environment: CommandEnvironment = { store, cache: new StateCache(), clock: () => new Date() };

    const request: CommandRequest<OrderCommand> = {
      streamName: order.streamName('42'), // 'order-42'
      command: { type: 'PlaceOrder', data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 2 }], placedAt: '2026-03-01T10:00:00Z' } },
      commandId: '5d0c1f9e-7a51-4b8e-9c3e-0b7f6c1e2a10', // e.g. the client's mutation id
      userId: 'u-1',
    };

    const receipt = await handleCommand(environment, order, request);
    // { commandId, streamName: 'order-42', revision: 0n, position, correlationId, events: [{ type: 'OrderPlaced', … }] }

    const again = await handleCommand(environment, order, request); // a retry after a timeout
    // again deep-equals receipt, and nothing was appended twice

    const { state, revision } = await loadAt(store, order, 'order-42', { revision: 0n });
    expect(again).toEqual(receipt);
    expect(receipt).toMatchObject({ streamName: 'order-42', revision: 0n, events: [{ type: 'OrderPlaced' }] });
    expect({ state, revision }).toEqual({ state: { status: 'placed', customerId: 'c-7' }, revision: 0n });
  });

  it('specifies the decider', () => {
    const given = deciderSpecification(order);
    const placed: OrderEvent = { type: 'OrderPlaced', data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 2 }], placedAt: '2026-03-01T10:00:00Z' } };

    given([placed])
      .when({ type: 'ShipOrder', data: { shippedAt: '2026-03-02T08:00:00Z' } })
      .then([{ type: 'OrderShipped', data: { shippedAt: '2026-03-02T08:00:00Z' } }]);

    given([]).when({ type: 'ShipOrder', data: { shippedAt: '2026-03-02T08:00:00Z' } }).thenThrows('NOT_SHIPPABLE');
    given([]).when({ type: 'PlaceOrder', data: { customerId: 'c-7', lines: [], placedAt: 'soon' } }).thenThrows('VALIDATION_FAILED');
  });
});
