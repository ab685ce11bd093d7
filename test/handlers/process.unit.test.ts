import { randomUUID } from 'node:crypto';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import type { EventStore } from '../../src/event-store/event-store';
import { defineProcess, InMemoryReactorStateStore, InvalidReactorError, ReactorRunner, ReactorVerificationError, type Reactor } from '../../src/handlers';
import { ManualClock } from '../../src/testing/manual-clock';
import { verifyProcess } from '../../src/testing/verify-process';
import { ticket, ticketEvents } from './support/timer-fixtures';

type ExpiryState = { readonly status: 'none' } | { readonly status: 'open'; readonly deadline: string } | { readonly status: 'closed' };

/** Expires a ticket a minute after it opened unless it was closed; its state is folded from the ticket's events. */
const ticketExpiry = defineProcess<ExpiryState>({
  name: 'ticket-expiry',
  filter: { streamPrefixes: ['ticket-'] },
  events: ticketEvents,
  retry: { initialDelayMs: 0, maxDelayMs: 0 },
  correlate: (event) => event.streamName.slice('ticket-'.length),
  initialState: () => ({ status: 'none' }),
  evolve(state, event) {
    if (event.type === 'TicketOpened' && state.status === 'none') return { status: 'open', deadline: new Date(event.recordedAt.getTime() + 60_000).toISOString() };
    if (event.type === 'TicketClosed' || event.type === 'TicketExpired') return { status: 'closed' };
    return state;
  },
  decide(state, event) {
    if (state.status === 'open') {
      return { schedule: [{ aggregate: ticket, streamName: event.streamName, command: { type: 'ExpireTicket', data: { reason: 'TIMEOUT' } }, key: 'expiry', at: state.deadline }] };
    }
    return { cancel: ['expiry'] };
  },
});

const runners: ReactorRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});

async function start(store: EventStore, reactors: Reactor[], clock: ManualClock, extra: Partial<Parameters<typeof ReactorRunner.start>[0]> = {}) {
  const runner = await ReactorRunner.start({ store, reactors, aggregates: [ticket], clock, checkpointIntervalMs: 5, ...extra });
  runners.push(runner);
  return runner;
}

async function typesOf(store: EventStore, streamName: string): Promise<string[]> {
  const types: string[] = [];
  for await (const event of store.readStream(streamName)) types.push(event.type);
  return types;
}

async function append(store: EventStore, streamName: string, type: string) {
  return (await store.appendToStream(streamName, [{ id: randomUUID(), type, data: {}, metadata: {} }])).position;
}

describe('defineProcess', () => {
  it('sets and cancels timers from its folded state, and acts once when its events come again', async () => {
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const first = await start(store, [ticketExpiry], clock);
    await append(store, 'ticket-a', 'TicketOpened');
    await append(store, 'ticket-b', 'TicketOpened');
    const last = await append(store, 'ticket-b', 'TicketClosed');
    await first.waitForPosition('ticket-expiry', last);
    expect((await first.listTimers()).items.map((timer) => timer.key)).toEqual(['a:expiry']);
    await first.stop();
    // Every event again, from the start (a lost checkpoint): nothing new is recorded, set or sent.
    const again = await start(store, [ticketExpiry], clock, { state: new InMemoryReactorStateStore() });
    await again.waitForPosition('ticket-expiry', last);
    expect(await typesOf(store, 'process_ticket_expiry-a')).toEqual(['ProcessEventObserved']);
    expect(await typesOf(store, 'process_ticket_expiry-b')).toEqual(['ProcessEventObserved', 'ProcessEventObserved']);
    clock.advance(120_000);
    await again.timersSettled();
    expect(await typesOf(store, 'ticket-a')).toEqual(['TicketOpened', 'TicketExpired']);
    expect(await typesOf(store, 'ticket-b')).toEqual(['TicketOpened', 'TicketClosed']);
    // The expiry is an event of the ticket: the process sees it and ends.
    await again.waitForPosition('ticket-expiry', (await store.appendToStream('ticket-c', [{ id: randomUUID(), type: 'TicketOpened', data: {}, metadata: {} }])).position);
    const [, stateAfterExpiry] = await statesOf(store, 'process_ticket_expiry-a');
    expect(stateAfterExpiry).toEqual({ status: 'closed' });
  });

  it('refuses a definition without its functions, and parks an event whose key is malformed', async () => {
    expect(() => defineProcess({ ...ticketExpiry, name: 'broken', correlate: undefined as never, initialState: () => ({}), evolve: (s) => s, decide: () => ({}) })).toThrow(InvalidReactorError);
    const store = new InMemoryEventStore();
    const clock = new ManualClock(new Date());
    const bad = defineProcess({ name: 'bad-key', filter: { streamPrefixes: ['ticket-'] }, correlate: () => 'has space', initialState: () => 0, evolve: (n) => n + 1, decide: () => ({}) });
    const runner = await start(store, [bad], clock);
    await runner.waitForPosition('bad-key', await append(store, 'ticket-x', 'TicketOpened'));
    const { items } = await runner.listParked({ reactor: 'bad-key' });
    expect(items[0]?.error.code).toBe('NON_RETRYABLE');
  });
});

async function statesOf(store: EventStore, streamName: string): Promise<unknown[]> {
  const states: unknown[] = [];
  for await (const event of store.readStream(streamName)) states.push((event.data as { state: unknown }).state);
  return states;
}

describe('verifyProcess', () => {
  const opened = (id: string, second: number) => ({ streamName: `ticket-${id}`, type: 'TicketOpened', data: {}, recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, second)) });
  const closed = (id: string, second: number) => ({ streamName: `ticket-${id}`, type: 'TicketClosed', data: {}, recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, second)) });

  it('passes a process whose outcome depends on neither duplicates, order nor when time jumps', async () => {
    const result = await verifyProcess(ticketExpiry, { events: [opened('a', 0), opened('b', 1), closed('b', 2), opened('c', 3)], aggregates: [ticket], runs: 40, seed: 7 });
    expect(result.outcome).toMatchObject({
      issued: [
        { streamName: 'ticket-a', type: 'TicketExpired' },
        { streamName: 'ticket-c', type: 'TicketExpired' },
      ],
    });
    // Time stops 30 s after the last event: ticket c's timer (due at +60 s) is still pending.
    const stopped = await verifyProcess(ticketExpiry, { events: [opened('a', 0), opened('c', 50)], aggregates: [ticket], advanceMs: 30_000, runs: 20, seed: 3 });
    expect(stopped.outcome).toMatchObject({ issued: [{ streamName: 'ticket-a', type: 'TicketExpired' }], pendingTimers: [{ key: 'c:expiry' }] });
  });

  it('fails a process whose decision depends on the order its events came in', async () => {
    const firstSeen = defineProcess<number>({
      name: 'first-seen',
      filter: { streamPrefixes: ['ticket-'] },
      correlate: () => 'all',
      initialState: () => 0,
      evolve: (count) => count + 1,
      // Wrong: "the first ticket" is whichever came first, not a fact of the state.
      decide: (count, event) => (count === 1 ? { send: [{ aggregate: ticket, streamName: event.streamName, command: { type: 'CloseTicket', data: {} }, key: 'close' }] } : {}),
    });
    await expect(verifyProcess(firstSeen, { events: [opened('a', 0), opened('b', 1)], aggregates: [ticket], runs: 50, seed: 11 })).rejects.toBeInstanceOf(ReactorVerificationError);
  });
});
