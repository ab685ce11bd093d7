import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { handleCommand } from '../../src/commands';
import type { EventStore } from '../../src/event-store/event-store';
import { defineAggregate, defineCommands, defineEvents, type Decider } from '../../src/domain';
import { defineReactor, NonRetryableError, ReactorVerificationError } from '../../src/handlers';
import { verifyReactor, type ScenarioEvent } from '../../src/testing';

type ShipCommand = { type: 'Ship'; data: { orderId: string } };
type ShipEvent = { type: 'Shipped'; data: { orderId: string } };
const decider: Decider<ShipCommand, ShipEvent, null> = {
  initialState: () => null,
  decide: (command) => [{ type: 'Shipped', data: command.data }],
  evolve: (state) => state,
};
const shipping = defineAggregate({
  category: 'shipping',
  decider,
  commands: defineCommands({ Ship: { schema: z.object({ orderId: z.string() }), stream: 'any' } }),
  events: defineEvents({ Shipped: z.object({ orderId: z.string() }) }),
});

const events: ScenarioEvent[] = [
  { streamName: 'order-1', type: 'OrderPlaced', data: { total: 10 } },
  { streamName: 'order-2', type: 'OrderPlaced', data: { total: 20 } },
  { streamName: 'order-1', type: 'OrderPaid', data: { amount: 10 } },
  { streamName: 'order-2', type: 'OrderPaid', data: { amount: 5 } },
  { streamName: 'order-2', type: 'OrderPaid', data: { amount: 15 } },
  { streamName: 'order-3', type: 'OrderPlaced', data: { total: 1 } },
];

/** A paid-total read model: correct when keyed by event id, wrong when it just adds. */
function totals(idempotent: boolean) {
  return (world: { paid: Map<string, number>; seen: Set<string> }) =>
    defineReactor({
      name: 'paid-totals',
      filter: { eventTypes: ['OrderPaid'] },
      handle: (event, context) => {
        if (idempotent && world.seen.has(context.idempotencyKey)) return;
        world.seen.add(context.idempotencyKey);
        const { amount } = event.data as { amount: number };
        world.paid.set(event.streamName, (world.paid.get(event.streamName) ?? 0) + amount);
      },
    });
}

describe('verifyReactor', () => {
  it('passes an idempotent, order-tolerant reactor and reports its seed and outcome', async () => {
    const result = await verifyReactor(totals(true), {
      events,
      setup: () => ({ paid: new Map<string, number>(), seen: new Set<string>() }),
      observe: (world) => Object.fromEntries(world.paid),
      runs: 50,
      seed: 42,
    });
    expect(result).toMatchObject({ seed: 42, runs: 50, outcome: { observed: { 'order-1': 10, 'order-2': 20 }, issued: [], failed: [] } });
  });

  it('fails a reactor that double-counts a redelivered event, naming the seed, the deliveries and a diff', async () => {
    const failure = await verifyReactor(totals(false), {
      events,
      setup: () => ({ paid: new Map<string, number>(), seen: new Set<string>() }),
      observe: (world) => Object.fromEntries(world.paid),
      seed: 7,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ReactorVerificationError);
    const error = failure as ReactorVerificationError;
    expect(error.seed).toBe(7);
    expect(error.message).toMatch(/seed 7/);
    expect(error.message).toMatch(/deliveries: order-/);
    expect(error.message).toMatch(/^[-+] /m);
  });

  it('fails an unordered reactor that depends on order across events of one stream', async () => {
    // Keeps the last amount seen: fine in stream order, wrong when order-2's payments arrive swapped.
    const lastAmount = (world: { last: Map<string, number> }) =>
      defineReactor({
        name: 'last-amount',
        filter: { eventTypes: ['OrderPaid'] },
        ordering: 'unordered',
        handle: (event) => void world.last.set(event.streamName, (event.data as { amount: number }).amount),
      });
    await expect(
      verifyReactor(lastAmount, { events, setup: () => ({ last: new Map<string, number>() }), observe: (world) => Object.fromEntries(world.last), seed: 3 }),
    ).rejects.toBeInstanceOf(ReactorVerificationError);
    // The same logic is fine per stream: events of a stream stay in order, replays included.
    await expect(
      verifyReactor(
        (world: { last: Map<string, number> }) => ({ ...lastAmount(world), ordering: 'per-stream' as const }),
        { events, setup: () => ({ last: new Map<string, number>() }), observe: (world) => Object.fromEntries(world.last), seed: 3 },
      ),
    ).resolves.toMatchObject({ outcome: { observed: { 'order-1': 10, 'order-2': 15 } } });
  });

  it('delivers per-stream events as the runtime does: never a revision before the ones ahead of it, replays allowed', async () => {
    const many: ScenarioEvent[] = Array.from({ length: 30 }, (_, index) => ({ streamName: `order-${index % 3}`, type: 'OrderPaid', data: { amount: index } }));
    let deliveries = 0;
    let replays = 0;
    const gapless = (world: { seen: Map<string, number> }) =>
      defineReactor({
        name: 'gapless',
        filter: { eventTypes: ['OrderPaid'] },
        handle: (event) => {
          deliveries++;
          const highest = world.seen.get(event.streamName) ?? -1;
          if (Number(event.revision) > highest + 1) throw new NonRetryableError(`${event.streamName}@${event.revision} came before @${highest + 1}`);
          if (Number(event.revision) <= highest) replays++;
          world.seen.set(event.streamName, Math.max(highest, Number(event.revision)));
        },
      });
    await verifyReactor(gapless, { events: many, setup: () => ({ seen: new Map<string, number>() }), observe: (world) => Object.fromEntries(world.seen), seed: 21 });
    // Shuffled runs did redeliver (more deliveries than events in 101 runs), and replays happened.
    expect(deliveries).toBeGreaterThan(30 * 101);
    expect(replays).toBeGreaterThan(0);
    // The same reactor declared unordered gets gaps, and the verification says so.
    await expect(
      verifyReactor((world: { seen: Map<string, number> }) => ({ ...gapless(world), ordering: 'unordered' as const }), {
        events: many,
        setup: () => ({ seen: new Map<string, number>() }),
        seed: 21,
      }),
    ).rejects.toThrow(/came before/);
  });

  it('compares the commands issued: derived ids keep them single, random ids are caught', async () => {
    const viaSend = defineReactor({
      name: 'ship-on-pay',
      filter: { eventTypes: ['OrderPaid'] },
      ordering: 'unordered',
      handle: async (event, context) => {
        await context.send(shipping, { streamName: `shipping-${event.streamName}`, command: { type: 'Ship', data: { orderId: event.streamName } } });
      },
    });
    const passed = await verifyReactor(viaSend, { events, seed: 11 });
    expect(passed.outcome).toMatchObject({ issued: [{ streamName: 'shipping-order-1' }, { streamName: 'shipping-order-2' }, { streamName: 'shipping-order-2' }] });

    const careless = (world: { store: EventStore }) =>
      defineReactor({
        name: 'ship-careless',
        filter: { eventTypes: ['OrderPaid'] },
        ordering: 'unordered',
        // Bypasses context.send with a fresh command id each time: a redelivery ships twice.
        handle: async (event) => {
          await handleCommand({ store: world.store }, shipping, {
            streamName: `shipping-${event.streamName}`,
            command: { type: 'Ship', data: { orderId: event.streamName } },
            commandId: randomUUID(),
          });
        },
      });
    await expect(verifyReactor(careless, { events, setup: ({ store }) => ({ store }), seed: 11, runs: 30 })).rejects.toThrow(/differen/);
  });

  it('compares events that failed every attempt, and rejects an empty scenario', async () => {
    // Refuses order-3 until order-1 was seen: in order that never happens, shuffled it does.
    const picky = (world: { placed: Set<string> }) =>
      defineReactor({
        name: 'picky',
        filter: { eventTypes: ['OrderPlaced'] },
        ordering: 'unordered',
        handle: (event) => {
          if (event.streamName === 'order-3' && !world.placed.has('order-1')) throw new NonRetryableError('order-1 is not placed yet');
          world.placed.add(event.streamName);
        },
      });
    const failure = await verifyReactor(picky, { events, setup: () => ({ placed: new Set<string>() }), seed: 5 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ReactorVerificationError);
    expect((failure as Error).message).toMatch(/order-1 is not placed yet/);
    const flaky = picky({ placed: new Set() });
    await expect(verifyReactor(flaky, { events: [] })).rejects.toThrow(/at least one/);
  });
});

