import type { EventStore } from '../event-store/event-store';
import type { Reactor } from '../handlers/reactor';
import { verifyReactor, type ReactorScenario, type ReactorVerification } from './verify-reactor';

/**
 * What {@link verifyProcess} runs: a reactor scenario, with the timers' aggregates and time jumps.
 *
 * @example
 * const scenario: ProcessScenario = { events: [paid, approved], aggregates: [order], advanceMs: 600_000 };
 */
export type ProcessScenario<World = undefined> = Omit<ReactorScenario<World>, 'ignoreStreamPrefixes'>;

/**
 * Checks that a process manager (`defineProcess`) is idempotent and order-tolerant, as
 * `verifyReactor` does for reactors: the scenario's events are delivered in order, then with
 * redeliveries, shuffles and jumps in time that fire its timers at random points; the commands it
 * sent (its timers' included), the timers left pending, and each instance's final state must come out
 * the same every time.
 *
 * @example
 * await verifyProcess(approvalTimeout, { events: [paid, deadlineSet, approved], aggregates: [order] });
 * @throws ReactorVerificationError with `seed` when some run differs.
 */
export async function verifyProcess<World = undefined>(process: Reactor | ((world: World) => Reactor), scenario: ProcessScenario<World>): Promise<ReactorVerification> {
  const name = typeof process === 'function' ? undefined : process.name;
  const prefix = (reactorName: string): string => `process_${reactorName.replace(/[^A-Za-z0-9_]/g, '_')}-`;
  let journalPrefix = name === undefined ? 'process_' : prefix(name);
  const observe = scenario.observe;
  return verifyReactor(
    (world: World) => {
      const reactor = typeof process === 'function' ? process(world) : process;
      journalPrefix = prefix(reactor.name);
      return reactor;
    },
    {
      ...scenario,
      ignoreStreamPrefixes: ['process_'],
      observe: async (world, outcome) => ({
        states: await finalStates(outcome.store, journalPrefix),
        ...(observe ? { observed: await observe(world, outcome) } : {}),
      }),
    },
  );
}

/** Each process instance's state after the last event it recorded (the fold of every event it saw). */
async function finalStates(store: EventStore, prefix: string): Promise<Record<string, unknown>> {
  const states: Record<string, unknown> = {};
  for await (const event of store.readAll()) {
    if (!event.streamName.startsWith(prefix) || event.type !== 'ProcessEventObserved') continue;
    states[event.streamName.slice(prefix.length)] = (event.data as { state?: unknown }).state ?? null;
  }
  return states;
}
