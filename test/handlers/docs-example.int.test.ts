// The examples of README.md's "Reactors" section, verbatim apart from imports and the test's own
// fakes (the docs import from 'eventfold'): if this file stops compiling or passing, the docs are wrong.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleCommand, loadAt, StateCache, type CommandEnvironment, type CommandRequest } from '../../src/commands';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import {
  createHttpFunction,
  createLambdaHandler,
  defineReactor,
  defineWebhookReactor,
  NonRetryableError,
  ReactorRunner,
  ReactorVerificationError,
  type ReactorHandler,
} from '../../src/handlers';
import { verifyReactor } from '../../src/testing';
import { order, type OrderCommand } from '../support/readme-order';

/** Sends each mail once per idempotency key, like a real mail API. */
class FakeMailer {
  private readonly sent = new Map<string, string>();
  send(mail: { to: string; idempotencyKey: string }): Promise<void> {
    if (!this.sent.has(mail.idempotencyKey)) this.sent.set(mail.idempotencyKey, mail.to);
    return Promise.resolve();
  }
  sentTo(): string[] {
    return [...this.sent.values()].sort();
  }
}

const store = new InMemoryEventStore();
const environment: CommandEnvironment = { store, cache: new StateCache(), clock: () => new Date() };
const request: CommandRequest<OrderCommand> = {
  streamName: order.streamName('42'),
  command: { type: 'PlaceOrder', data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 2 }], placedAt: '2026-03-01T10:00:00Z' } },
  commandId: '5d0c1f9e-7a51-4b8e-9c3e-0b7f6c1e2a10',
};
const mailer = new FakeMailer();
process.env.RECEIPT_WEBHOOK_SECRET ??= 'a-receipt-webhook-secret';

// Ships an order as soon as it is placed (with the `order` aggregate from above).
export const shipOnPlace = defineReactor({
  name: 'ship-on-place', // checkpoints and parked events are stored under it: keep it stable
  filter: { eventTypes: ['OrderPlaced'] }, // and/or streamPrefixes: ['order-']
  handle: async (event, context) => {
    if (!event.streamName.startsWith('order-')) throw new NonRetryableError('not an order'); // parked at once
    // The command id derives from this reactor, the event id and the command's stream and type, so a
    // redelivered event never ships twice. Build the command from the event only: a redelivery must
    // send the same command (another one under the same id is COMMAND_ID_REUSED).
    await context.send(order, {
      streamName: event.streamName,
      command: { type: 'ShipOrder', data: { shippedAt: event.recordedAt.toISOString() } },
    });
  },
});

describe('README: reactors', () => {
  afterAll(() => store.close());

  it('runs an in-process reactor, and a webhook reactor against its HTTP function', async () => {
    const runner = await ReactorRunner.start({ store, reactors: [shipOnPlace], commands: environment });
    const placed = await handleCommand(environment, order, request);
    await runner.waitForPosition('ship-on-place', placed.position!); // handled (or parked) by now

    const { state } = await loadAt(store, order, 'order-42', { revision: 1n });
    expect(state.status).toBe('shipped');

    const secret = process.env.RECEIPT_WEBHOOK_SECRET!; // at least 16 characters, known to both sides

    // The function: any Node HTTP server, or AWS Lambda with createLambdaHandler.
    const emailReceipt: ReactorHandler = async (event, context) => {
      await mailer.send({ to: event.streamName, idempotencyKey: context.idempotencyKey }); // deduplicates by key
    };
    const receiptFunction = createHttpFunction(emailReceipt, { secret }); // never rejects
    const server = createServer((request, response) => void receiptFunction(request, response)).listen(0, '127.0.0.1'); // the README uses 8080
    const lambdaHandler = createLambdaHandler(emailReceipt, { secret });
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;

    // The reactor: POSTs every OrderShipped event to the function.
    const receipts = defineWebhookReactor({
      name: 'email-receipt',
      filter: { eventTypes: ['OrderShipped'] },
      url: `http://127.0.0.1:${port}/receipts`,
      secret,
      headers: { 'x-tenant': 'acme' },
      timeoutMs: 5_000,
      concurrency: 16,
    });
    const webhooks = await ReactorRunner.start({ store, reactors: [receipts] });
    try {
      const head = (await store.headPosition())!;
      await webhooks.waitForPosition('email-receipt', head);
      expect(mailer.sentTo()).toEqual(['order-42']);
      expect((await webhooks.listParked()).items).toEqual([]);
      expect((await lambdaHandler({ body: '{}', headers: {} })).statusCode).toBe(401);
    } finally {
      await webhooks.stop();
      await receipts.close();
      await runner.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('verifies reactors with verifyReactor', async () => {
    const placedEvent = (id: string) => ({
      streamName: `order-${id}`,
      type: 'OrderPlaced',
      data: { customerId: 'c-7', lines: [{ sku: 'tea', quantity: 1 }], placedAt: '2026-03-01T10:00:00Z' },
    });

    // Commands issued through context.send are compared (each must be issued once, whatever the order).
    const shipped = await verifyReactor(shipOnPlace, { events: [placedEvent('1'), placedEvent('2')] });
    expect(shipped.outcome).toMatchObject({ issued: [{ streamName: 'order-1', type: 'OrderShipped' }, { streamName: 'order-2', type: 'OrderShipped' }] });

    // Effects elsewhere: build the reactor from a fresh world per run and say what to compare.
    const mailed = await verifyReactor((world: { mailer: FakeMailer }) => defineReactor({ name: 'receipt', filter: { eventTypes: ['OrderPlaced'] }, handle: (event, context) => world.mailer.send({ to: event.streamName, idempotencyKey: context.idempotencyKey }) }), {
      events: [placedEvent('1'), placedEvent('2')],
      setup: () => ({ mailer: new FakeMailer() }),
      observe: (world) => world.mailer.sentTo(), // e.g. ['order-1', 'order-2'], sorted
    });
    expect(mailed.outcome).toMatchObject({ observed: ['order-1', 'order-2'] });

    // The same reactor with a mailer that ignores the idempotency key fails.
    const careless = { sent: [] as string[], send(mail: { to: string }) { this.sent.push(mail.to); return Promise.resolve(); } };
    await expect(
      verifyReactor((world: { mailer: typeof careless }) => defineReactor({ name: 'receipt', filter: { eventTypes: ['OrderPlaced'] }, handle: (event, context) => world.mailer.send({ to: event.streamName, idempotencyKey: context.idempotencyKey } as { to: string }) }), {
        events: [placedEvent('1'), placedEvent('2')],
        setup: () => ({ mailer: { ...careless, sent: [] as string[] } }),
        observe: (world) => [...world.mailer.sent].sort(),
      }),
    ).rejects.toBeInstanceOf(ReactorVerificationError);
  });
});
