import type { CommandCatalog } from './command-catalog';
import type { Decider } from './decider';
import {
  DeciderFailedError,
  DomainError,
  InvalidDecisionError,
  MalformedStreamNameError,
  ValidationError,
  type ValidationIssue,
} from './errors';
import type { EventCatalog } from './event-catalog';
import type { Message } from './message';
import { isValidCategory, parseStreamName, toStreamName, type StreamNameParts } from './stream-name';

/**
 * When to snapshot an aggregate's state, and how to store it. A snapshot is only a cache: folding from
 * it plus the events after it gives exactly the state of a full fold.
 *
 * @example
 * defineAggregate({ category: 'cart', decider, commands, events, snapshots: { every: 100, version: 3 } });
 */
export interface SnapshotPolicy<State> {
  /** Save a snapshot once at least this many events were appended since the last one. */
  readonly every: number;
  /**
   * Bump whenever `evolve` or the shape of `State` changes: snapshots saved under another version are
   * ignored (and replaced), so an old fold never leaks into new code.
   */
  readonly version: number;
  /** State to a JSON value. Default: the state as is, which must then be plain JSON. */
  readonly encode?: (state: State) => unknown;
  /** The inverse of `encode`. */
  readonly decode?: (json: unknown) => State;
}

/**
 * What {@link defineAggregate} needs: a decider, its schemas and the category of its streams.
 *
 * @example
 * const definition: AggregateDefinition<CartCommand, CartEvent, CartState> = { category: 'cart', decider, commands, events };
 */
export interface AggregateDefinition<Command extends Message, Event extends Message, State> {
  /** Streams are named `<category>-<id>`; a letter, then letters, digits or `_`. */
  readonly category: string;
  readonly decider: Decider<Command, Event, State>;
  readonly commands: CommandCatalog<Command>;
  readonly events: EventCatalog<Event>;
  readonly snapshots?: SnapshotPolicy<State>;
}

/**
 * A decider bundled with its runtime schemas and stream naming. It is itself a {@link Decider} whose
 * `decide` and `evolve` are guarded: a decider bug becomes `DECIDER_FAILED`, an output that is not an
 * array of valid events becomes `INVALID_DECISION`, and business errors pass through untouched.
 *
 * @example
 * const receipt = await handleCommand(environment, cart, { streamName: cart.streamName('c-1'), command });
 */
export interface Aggregate<Command extends Message, Event extends Message, State> extends Decider<Command, Event, State> {
  readonly category: string;
  readonly decider: Decider<Command, Event, State>;
  readonly commands: CommandCatalog<Command>;
  readonly events: EventCatalog<Event>;
  readonly snapshots: SnapshotPolicy<State> | undefined;
  /** `<category>-<id>`. @throws MalformedStreamNameError */
  streamName(id: string): string;
  /** @throws MalformedStreamNameError unless the name is `<category>-<id>` of this aggregate. */
  parseStreamName(streamName: unknown): StreamNameParts;
  /** @throws UnknownCommandError, ValidationError */
  parseCommand(command: unknown): Command;
}

/**
 * Bundles a decider with its schemas. Checks the definition once, up front.
 *
 * @example
 * export const cart = defineAggregate({ category: 'cart', decider: cartDecider, commands: cartCommands, events: cartEvents });
 * cart.streamName('c-1'); // 'cart-c-1'
 */
export function defineAggregate<Command extends Message, Event extends Message, State>(
  definition: AggregateDefinition<Command, Event, State>,
): Aggregate<Command, Event, State> {
  const { category, decider, commands, events, snapshots } = definition;
  if (!isValidCategory(category)) {
    throw new MalformedStreamNameError(`${category}-…`, `has an invalid category ${JSON.stringify(category)}`);
  }
  if (snapshots && (!Number.isInteger(snapshots.every) || snapshots.every < 1 || !Number.isInteger(snapshots.version))) {
    throw new TypeError(`aggregate ${category}: snapshots.every must be a positive integer and snapshots.version an integer`);
  }

  return {
    category,
    decider,
    commands,
    events,
    snapshots,
    initialState: () => decider.initialState(),
    ...(decider.isTerminal ? { isTerminal: (state: State) => decider.isTerminal!(state) } : {}),
    streamName: (id) => toStreamName(category, id),
    parseStreamName: (streamName) => parseStreamName(streamName, category),
    parseCommand: (command) => commands.parse(command),

    decide(command, state) {
      let decision: unknown;
      try {
        decision = decider.decide(command, state);
      } catch (error) {
        if (error instanceof DomainError) throw error;
        throw new DeciderFailedError('decide', command.type, error);
      }
      if (!Array.isArray(decision)) {
        throw new InvalidDecisionError(command.type, `returned ${decision === null ? 'null' : typeof decision}, not an array of events`);
      }
      return decision.map((event: unknown, index) => {
        try {
          return events.validate(event, `event #${index}`);
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          throw new InvalidDecisionError(command.type, `returned an invalid event #${index}`, prefixIssues(error.issues, `[${index}]`));
        }
      });
    },

    evolve(state, event) {
      try {
        return decider.evolve(state, event);
      } catch (error) {
        // A throwing evolve means history the code cannot fold: never a business decision.
        throw new DeciderFailedError('evolve', event.type, error);
      }
    },
  };
}

function prefixIssues(issues: readonly ValidationIssue[], prefix: string): ValidationIssue[] {
  return issues.map((issue) => ({ path: issue.path ? `${prefix}.${issue.path}` : prefix, message: issue.message }));
}
