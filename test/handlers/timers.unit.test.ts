import { randomUUID } from 'node:crypto';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import type { EventStore } from '../../src/event-store/event-store';
import { defineReactor, InMemoryTimerStore, ReactorRunner, type Reactor } from '../../src/handlers';
import { ManualClock } from '../../src/testing/manual-clock';
import { expiryReactor, ticket } from './support/timer-fixtures';

const runners: ReactorRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});

async function start(store: EventStore, reactors: Reactor[], clock: ManualClock, extra: Partial<Parameters<typeof ReactorRunner.start>[0]> = {}) {
  const runner = await ReactorRunner.start({ store, reactors, aggregates: [ticket], clock, checkpointIntervalMs: 5, partitions: { count: 4 }, ...extra });
  runners.push(runner);
  return runner;
}

async function open(store: EventStore, id: string) {
  const { position } = await store.appendToStream(`ticket-${id}`, [{ id: randomUUID(), type: 'TicketOpened', data: {}, metadata: {} }]);
  return position;
}

async function typesOf(store: EventStore, streamName: string): Promise<string[]> {
  const types: string[] = [];
  for await (const event of store.readStream(streamName)) types.push(event.type);
  return types;
}

describe('timers (in memory, manual clock)', () => {
  it('sends a scheduled command once when its time comes, not before', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const runner = await start(store, [expiryReactor(60_000)], clock);
    const position = await open(store, 't1');
    await runner.waitForPosition('expiry', position);
    const { items } = await runner.listTimers();
    expect(items.map((timer) => timer.key)).toEqual(['expire-ticket-t1']);
    clock.advance(59_000);
    await runner.timersSettled();
    expect(await typesOf(store, 'ticket-t1')).toEqual(['TicketOpened']);
    clock.advance(2_000);
    await runner.timersSettled();
    expect(await typesOf(store, 'ticket-t1')).toEqual(['TicketOpened', 'TicketExpired']);
    clock.advance(600_000);
    await runner.timersSettled();
    expect(await typesOf(store, 'ticket-t1')).toEqual(['TicketOpened', 'TicketExpired']);
    expect((await runner.listTimers({ status: 'fired' })).items).toHaveLength(1);
    expect((await runner.listTimers()).items).toHaveLength(0);
    const invocations = await runner.invocations({ reactor: 'expiry' });
    expect(invocations.filter((invocation) => invocation.eventId === 'timer:expire-ticket-t1').map((invocation) => invocation.outcome)).toEqual(['succeeded']);
  });

  it('a cancelled timer never fires; cancelling leaves a tombstone so a late set does not revive it', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const runner = await start(store, [expiryReactor(60_000)], clock);
    await open(store, 't2');
    const { position } = await store.appendToStream('ticket-t2', [{ id: randomUUID(), type: 'TicketClosed', data: {}, metadata: {} }]);
    await runner.waitForPosition('expiry', position);
    clock.advance(120_000);
    await runner.timersSettled();
    expect(await typesOf(store, 'ticket-t2')).toEqual(['TicketOpened', 'TicketClosed']);
    expect((await runner.listTimers({ status: 'cancelled' })).items.map((timer) => timer.key)).toEqual(['expire-ticket-t2']);
  });

  it('a timer that keeps failing is parked with its reason, logged per attempt, and can be redriven or cancelled', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const runner = await start(store, [expiryReactor(1_000, { command: 'Refuse' })], clock);
    const position = await open(store, 't3');
    await runner.waitForPosition('expiry', position);
    clock.advance(2_000);
    await runner.timersSettled();
    const parked = (await runner.listTimers({ status: 'parked' })).items;
    expect(parked).toHaveLength(1);
    expect(parked[0]!.error?.code).toBe('RULE_VIOLATED');
    expect(parked[0]!.error?.message).toMatch(/always refused/);
    // A business rule will not change by retrying: parked after the first attempt.
    expect(parked[0]!.attempts).toBe(1);
    expect(await runner.redriveParkedTimer('expiry', 'expire-ticket-t3')).toBe(true);
    await runner.timersSettled();
    expect((await runner.listTimers({ status: 'parked' })).items).toHaveLength(1);
    expect((await runner.invocations({ reactor: 'expiry' })).filter((invocation) => invocation.eventId === 'timer:expire-ticket-t3')).toHaveLength(2);
    expect(await runner.cancelTimer('expiry', 'expire-ticket-t3')).toBe(true);
    expect(await runner.cancelTimer('expiry', 'expire-ticket-t3')).toBe(false);
    expect((await runner.listTimers({ status: 'cancelled' })).items).toHaveLength(1);
  });

  it('a timer that fell due while no runner ran fires once when one starts', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const first = await start(store, [expiryReactor(60_000)], clock);
    const position = await open(store, 't4');
    await first.waitForPosition('expiry', position);
    await first.stop();
    clock.advance(3_600_000);
    const second = await start(store, [expiryReactor(60_000)], clock);
    await second.timersSettled();
    expect(await typesOf(store, 'ticket-t4')).toEqual(['TicketOpened', 'TicketExpired']);
    await second.stop();
    const third = await start(store, [expiryReactor(60_000)], clock);
    await third.timersSettled();
    expect(await typesOf(store, 'ticket-t4')).toEqual(['TicketOpened', 'TicketExpired']);
  });

  it('parks the event with a clear reason when a handler schedules for an aggregate the runner was not given', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const runner = await start(store, [expiryReactor(1_000)], clock, { aggregates: [] });
    const position = await open(store, 't5');
    await runner.waitForPosition('expiry', position);
    const { items } = await runner.listParked({ reactor: 'expiry' });
    expect(items).toHaveLength(1);
    expect(items[0]!.error.code).toBe('INVALID_REACTOR');
    expect(items[0]!.reason).toMatch(/options\.aggregates/);
    expect((await runner.listTimers()).items).toHaveLength(0);
  });

  it('writes nothing when the handler fails after scheduling, and rejects bad times and keys', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const attempts: string[] = [];
    const failing = defineReactor({
      name: 'failing',
      filter: { streamPrefixes: ['ticket-'] },
      retry: { maxAttempts: 1 },
      handle(event, context) {
        context.schedule(ticket, { streamName: event.streamName, command: { type: 'ExpireTicket', data: { reason: 'x' } } }, { afterMs: 10, key: 'k' });
        for (const when of [{}, { at: 'not a time' }, { afterMs: -1 }, { afterMs: 1, at: new Date() }, { afterMs: 1, key: '' }]) {
          try {
            context.schedule(ticket, { streamName: event.streamName, command: { type: 'ExpireTicket', data: { reason: 'x' } } }, when);
          } catch (error) {
            attempts.push((error as { code: string }).code);
          }
        }
        throw new Error('after scheduling');
      },
    });
    const runner = await start(store, [failing], clock);
    const position = await open(store, 't6');
    await runner.waitForPosition('failing', position);
    expect(attempts).toEqual(Array(5).fill('INVALID_REACTOR'));
    expect((await runner.listTimers()).items).toHaveLength(0);
    expect((await runner.listParked({ reactor: 'failing' })).items).toHaveLength(1);
  });

  it('keeps one wake-up armed for the earliest due time, recomputed when timers change', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const runner = await start(store, [expiryReactor(60_000)], clock, { timers: new InMemoryTimerStore() });
    for (let index = 0; index < 20; index++) await open(store, `w${index}`);
    const last = await open(store, 'w-last');
    await runner.waitForPosition('expiry', last);
    await runner.timersSettled();
    expect(clock.waiting).toBe(1);
    clock.advance(120_000);
    await runner.timersSettled();
    expect((await runner.listTimers({ status: 'fired', limit: 100 })).items).toHaveLength(21);
    expect(clock.waiting).toBe(0);
  });
  it('timers due together are sent together and marked sent in one write, not one each', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const settlements: number[] = [];
    const timers = new (class extends InMemoryTimerStore {
      override settleTimers(...args: Parameters<InMemoryTimerStore['settleTimers']>): Promise<void> {
        settlements.push(args[0].length);
        return super.settleTimers(...args);
      }
    })();
    const runner = await start(store, [expiryReactor(60_000)], clock, { timers });
    let last = await open(store, 'g0');
    for (let index = 1; index < 20; index++) last = await open(store, `g${index}`);
    await runner.waitForPosition('expiry', last);
    clock.advance(61_000);
    await runner.timersSettled();
    expect((await runner.listTimers({ status: 'fired' })).items).toHaveLength(20);
    expect(settlements).toEqual([20]);
    for (let index = 0; index < 20; index++) expect(await typesOf(store, `ticket-g${index}`)).toEqual(['TicketOpened', 'TicketExpired']);
  });
  it('a timer whose own command leads its reactor to cancel it is listed as fired, not cancelled', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const expireThenForget = defineReactor({
      name: 'expire-then-forget',
      filter: { eventTypes: ['TicketOpened', 'TicketExpired'] },
      handle: (event, context) => {
        const key = `expire-${event.streamName}`;
        if (event.type === 'TicketOpened') {
          context.schedule(ticket, { streamName: event.streamName, command: { type: 'ExpireTicket', data: { reason: 'late' } } }, { afterMs: 1_000, key });
        } else {
          context.cancelSchedule(key);
        }
      },
    });
    const runner = await start(store, [expireThenForget], clock);
    await runner.waitForPosition('expire-then-forget', await open(store, 'c1'));
    clock.advance(2_000);
    await runner.timersSettled();
    const expired = await store.headPosition();
    await runner.waitForPosition('expire-then-forget', expired!);
    expect(await typesOf(store, 'ticket-c1')).toEqual(['TicketOpened', 'TicketExpired']);
    expect((await runner.listTimers({ status: 'fired' })).items.map((timer) => timer.key)).toEqual(['expire-ticket-c1']);
    expect((await runner.listTimers({ status: 'cancelled' })).items).toEqual([]);
  });
});
