import { z } from 'zod';
import { upcastRecorded } from '../commands/upcast-recorded';
import { defineAggregate, type Aggregate } from '../domain/aggregate';
import { defineCommands } from '../domain/command-catalog';
import type { Decider } from '../domain/decider';
import { defineEvents, type EventCatalog } from '../domain/event-catalog';
import type { Message } from '../domain/message';
import { InvalidReactorError, NonRetryableError } from './errors';
import { resolveReactor, type Reactor, type ReactorContext, type ReactorEvent, type ReactorOptions } from './reactor';

/**
 * An event as a process sees it: its type and data (upcast with `events`), where and when it was
 * recorded. A union per event type, so that checking `type` narrows `data`.
 */
export type ProcessEvent<Event extends Message = Message> = Event extends Message
  ? {
      readonly id: string;
      readonly type: Event['type'];
      readonly data: Event['data'];
      readonly streamName: string;
      /** The serialised global position: the process folds its events in this order, whatever order they came in. */
      readonly position: string;
      readonly recordedAt: Date;
    }
  : never;

/** A command a process sends now; `key` names it within the process (its id derives from it and the event). */
export interface ProcessCommand {
  readonly aggregate: Aggregate<any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any aggregate
  readonly streamName: string;
  readonly command: Message;
  readonly key: string;
}

/** A command a process sends at `at` (a time from its state, so every run computes the same). */
export interface ProcessTimer extends ProcessCommand {
  readonly at: Date | string | number;
}

/**
 * What a process wants after an event: commands to send, timers to set (or replace, by key) and timer
 * keys to cancel.
 *
 * @example
 * return state.status === 'paid' ? { schedule: [{ aggregate: order, streamName, command: expire, key: 'approval', at: state.deadline }] } : { cancel: ['approval'] };
 */
export interface ProcessDecision {
  readonly send?: readonly ProcessCommand[];
  readonly schedule?: readonly ProcessTimer[];
  readonly cancel?: readonly string[];
}

/**
 * A long-running workflow: its state is folded from the events it handles, correlated by a key (an
 * order id); after each event, `decide` says which commands to send and which timers to set or cancel.
 * See {@link defineProcess}.
 */
export interface ProcessDefinition<State, Event extends Message = Message> extends Omit<ReactorOptions, 'ordering' | 'whenStreamBlocked'> {
  /** Upcasts events to the catalog's current schema before the process sees them. */
  readonly events?: EventCatalog<Event>;
  /** The process instance an event belongs to (letters, digits, `_`, `-`, `.`, `:`; up to 100), or undefined to ignore it. */
  readonly correlate: (event: ProcessEvent<Event>) => string | undefined;
  readonly initialState: () => State;
  /** Pure; the state must be plain JSON (it is stored with each event the process sees). */
  readonly evolve: (state: State, event: ProcessEvent<Event>) => State;
  /** Pure: the same state and event give the same decision. */
  readonly decide: (state: State, event: ProcessEvent<Event>) => ProcessDecision;
}

const KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

const observedEvent = z.object({
  id: z.string(),
  type: z.string(),
  streamName: z.string(),
  position: z.string(),
  recordedAt: z.string(),
  data: z.unknown(),
});
type ObservedEvent = z.output<typeof observedEvent>;

/**
 * Defines a process manager: a reactor that keeps its state in a stream of its own per key
 * (`process_<name>-<key>`), recording each event it sees there with the state folded from every event
 * seen so far, in position order. An event seen again (a redelivery) finds its record and repeats the
 * same decision with the same command ids and timer versions, so it acts once; events that come in
 * another order fold to the same state. Commands it sends must decide nothing when their step already
 * happened (as reactor commands do). Timers need the aggregates in the runner's `aggregates`.
 *
 * @example
 * export const approvalTimeout = defineProcess<ApprovalState, OrderEvent>({
 *   name: 'approval-timeout',
 *   filter: { eventTypes: ['ApprovalDeadlineSet', 'OrderApproved', 'OrderCancelled'] },
 *   events: orderEvents,
 *   correlate: (event) => event.data.orderId,
 *   initialState: () => ({ status: 'waiting' }),
 *   evolve: (state, event) => (event.type === 'ApprovalDeadlineSet' && state.status === 'waiting' ? { status: 'running', deadline: event.data.deadline } : { status: 'done' }),
 *   decide: (state, event) =>
 *     state.status === 'running'
 *       ? { schedule: [{ aggregate: order, streamName: event.streamName, command: { type: 'ExpireApproval', data: {} }, key: 'approval', at: state.deadline }] }
 *       : { cancel: ['approval'] },
 * });
 * @throws InvalidReactorError for a bad definition.
 */
export function defineProcess<State, Event extends Message = Message>(definition: ProcessDefinition<State, Event>): Reactor {
  const { events: catalog, correlate, initialState, evolve, decide, ...options } = definition;
  const where = `process "${String(options.name)}"`;
  for (const [field, value] of [
    ['correlate', correlate],
    ['initialState', initialState],
    ['evolve', evolve],
    ['decide', decide],
  ] as const) {
    if (typeof value !== 'function') throw new InvalidReactorError(`${where}: ${field} must be a function`);
  }
  const journal = journalOf(String(options.name), definition);
  const handle = async (recorded: ReactorEvent, context: ReactorContext): Promise<void> => {
    const event = toProcessEvent<Event>(catalog ? (upcastRecorded(catalog, recorded) as unknown as ReactorEvent) : recorded);
    const key = correlate(event);
    if (key === undefined) return;
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new NonRetryableError(`${where}: correlate gave ${JSON.stringify(key)}; a key is 1-100 letters, digits, '_', '-', '.' or ':'`);
    }
    const observed: ObservedEvent = { ...event, recordedAt: event.recordedAt.toISOString(), data: event.data };
    const receipt = await context.send(journal, {
      streamName: journal.streamName(key),
      command: { type: 'ObserveEvent', data: { event: observed } },
      key: 'observe',
    });
    const [record] = receipt.events;
    // Nothing appended: the event was recorded by an earlier run of another definition; nothing to repeat.
    if (!record) return;
    const decision = decide(record.data.state as State, event);
    apply(where, key, decision, context);
    for (const command of decision.send ?? []) {
      await context.send(command.aggregate, { streamName: command.streamName, command: command.command, key: `process:${key}:${command.key}` });
    }
  };
  const reactor: Reactor = { ...options, kind: 'function', handle };
  resolveReactor(reactor);
  return reactor;
}

function apply(where: string, key: string, decision: ProcessDecision, context: ReactorContext): void {
  if (typeof decision !== 'object' || decision === null) throw new NonRetryableError(`${where}: decide must return a decision object`);
  for (const list of [decision.send, decision.schedule, decision.cancel]) {
    if (list !== undefined && !Array.isArray(list)) throw new NonRetryableError(`${where}: send, schedule and cancel must be lists`);
  }
  for (const cancelled of decision.cancel ?? []) context.cancelSchedule(`${key}:${cancelled}`);
  for (const timer of decision.schedule ?? []) {
    context.schedule(timer.aggregate, { streamName: timer.streamName, command: timer.command }, { at: timer.at, key: `${key}:${timer.key}` });
  }
}

function toProcessEvent<Event extends Message>(event: ReactorEvent): ProcessEvent<Event> {
  return ({
    id: event.id,
    type: event.type,
    data: event.data,
    streamName: event.streamName,
    position: event.position.toString(),
    recordedAt: event.recordedAt,
  }) as unknown as ProcessEvent<Event>;
}

type JournalEvent = { type: 'ProcessEventObserved'; data: { event: ObservedEvent; state: unknown } };
type JournalCommand = { type: 'ObserveEvent'; data: { event: ObservedEvent } };

/** The aggregate behind a process's own streams: the events seen, each with the state after it. */
function journalOf<State, Event extends Message>(name: string, definition: ProcessDefinition<State, Event>): Aggregate<JournalCommand, JournalEvent, readonly ObservedEvent[]> {
  const fold = (seen: readonly ObservedEvent[]): unknown =>
    // Through JSON, so that a repeated decision sees exactly the stored state.
    JSON.parse(
      JSON.stringify(
        seen.reduce(
          (state, observed) => definition.evolve(state, { ...observed, recordedAt: new Date(observed.recordedAt) } as unknown as ProcessEvent<Event>),
          definition.initialState(),
        ),
      ) ?? 'null',
    ) as unknown;
  const decider: Decider<JournalCommand, JournalEvent, readonly ObservedEvent[]> = {
    initialState: () => [],
    decide(command, seen) {
      if (seen.some((observed) => observed.id === command.data.event.id)) return [];
      const all = [...seen, command.data.event].sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
      return [{ type: 'ProcessEventObserved', data: { event: command.data.event, state: fold(all) } }];
    },
    evolve: (seen, event) => [...seen, event.data.event],
  };
  return defineAggregate({
    category: `process_${name.replace(/[^A-Za-z0-9_]/g, '_')}`,
    commands: defineCommands({ ObserveEvent: { schema: z.object({ event: observedEvent }), stream: 'any' } }),
    events: defineEvents({ ProcessEventObserved: z.object({ event: observedEvent, state: z.unknown() }) }),
    decider,
  });
}
