import { isDeepStrictEqual } from 'node:util';
import type { Aggregate } from '../domain/aggregate';
import type { Decider } from '../domain/decider';
import type { Message } from '../domain/message';
import { lineDiff, print } from './line-diff';

/**
 * A spec failed: the events differ, the wrong error was thrown, or nothing was thrown.
 *
 * @example
 * expect(() => given([]).when(command).then([])).toThrow(SpecificationError);
 */
export class SpecificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecificationError';
  }
}

/** An error class to expect; abstract classes such as `DomainError` match their subclasses. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- constructors of any signature
export type ErrorClass<E extends Error = Error> = abstract new (...args: any[]) => E;

/** What `thenThrows` matches: an error class, or a `code` (also a `BusinessRuleError`'s `rule`). */
export type ExpectedError<E extends Error = Error> = ErrorClass<E> | string;

/**
 * The last step of a spec.
 *
 * @example
 * given(history).when(command).then([expectedEvent]);
 */
export interface DeciderSpecificationOutcome<Event> {
  /**
   * Asserts that `decide` returned exactly these events (deep, strict equality).
   * @throws SpecificationError with a line diff, or naming the error `decide` threw instead.
   */
  then(expectedEvents: readonly Event[]): void;
  /**
   * Asserts that the command was rejected with this error class or code; `check` may assert more.
   * @throws SpecificationError when nothing was thrown, or something else was.
   */
  thenThrows<E extends Error>(expected: ExpectedError<E>, check?: (error: E) => void): void;
}

/**
 * The middle step of a spec.
 *
 * @example
 * const outcome = given(history).when(command);
 */
export interface DeciderSpecificationWhen<Command, Event> {
  when(command: Command): DeciderSpecificationOutcome<Event>;
}

/** Starts a spec from the events already in the stream. */
export type Given<Command, Event> = (events?: readonly Event[]) => DeciderSpecificationWhen<Command, Event>;

/**
 * Binds given/when/then specifications to a decider. Given an {@link Aggregate}, the spec also runs its
 * guard rails: the command is parsed against its schema (a bad payload is a `ValidationError` to expect)
 * and `decide`'s output is validated. Works with any test runner: a failing spec throws.
 *
 * @example
 * const given = deciderSpecification(cart);
 * given([{ type: 'CartOpened', data: opened }])
 *   .when({ type: 'AddItem', data: { sku: 'tea', quantity: 1, unitPriceCents: 250 } })
 *   .then([{ type: 'ItemAdded', data: { sku: 'tea', quantity: 1, unitPriceCents: 250 } }]);
 * given([]).when({ type: 'CheckOut', data: { checkedOutAt } }).thenThrows('CART_NOT_OPEN');
 */
export function deciderSpecification<Command, Event, State>(decider: Decider<Command, Event, State>): Given<Command, Event> {
  const aggregate = isAggregate(decider) ? decider : undefined;
  return (givenEvents = []) => ({
    when(command) {
      const scenario = () => `given ${print(givenEvents)}\nwhen ${print(command)}`;
      // Runs only when the outcome is asserted, so a spec never half-runs.
      const run = (): { threw: false; events: readonly Event[] } | { threw: true; error: unknown } => {
        try {
          let state = decider.initialState();
          for (const event of givenEvents) {
            state = decider.evolve(state, aggregate ? (aggregate.events.validate(event, 'given event') as Event) : event);
          }
          const parsed = aggregate ? (aggregate.parseCommand(command) as Command) : command;
          return { threw: false, events: decider.decide(parsed, state) };
        } catch (error) {
          return { threw: true, error };
        }
      };

      return {
        then(expectedEvents) {
          if (typeof expectedEvents === 'function') {
            // `await spec.when(...)` treats the spec as a promise and calls then(resolve, reject).
            throw new SpecificationError('a decider specification is not a promise: call .then(expectedEvents) without await');
          }
          const outcome = run();
          if (outcome.threw) {
            throw new SpecificationError(
              `${scenario()}\nexpected events ${print(expectedEvents)}\nbut decide threw ${describeError(outcome.error)}`,
            );
          }
          if (!isDeepStrictEqual(outcome.events, expectedEvents)) {
            throw new SpecificationError(
              `${scenario()}\nthe events differ (- expected, + actual):\n${lineDiff(expectedEvents, outcome.events)}`,
            );
          }
        },

        thenThrows<E extends Error>(expected: ExpectedError<E>, check?: (error: E) => void) {
          const outcome = run();
          const wanted = typeof expected === 'string' ? `an error with code ${JSON.stringify(expected)}` : expected.name;
          if (!outcome.threw) {
            throw new SpecificationError(`${scenario()}\nexpected ${wanted} to be thrown, but decide returned ${print(outcome.events)}`);
          }
          if (!matches(outcome.error, expected)) {
            throw new SpecificationError(`${scenario()}\nexpected ${wanted} to be thrown, but got ${describeError(outcome.error)}`);
          }
          check?.(outcome.error as E);
        },
      };
    },
  });
}

function isAggregate<Command, Event, State>(
  decider: Decider<Command, Event, State>,
): decider is Decider<Command, Event, State> & Aggregate<Message, Message, State> {
  return typeof (decider as Partial<Aggregate<Message, Message, State>>).parseCommand === 'function';
}

function matches(error: unknown, expected: ExpectedError): boolean {
  if (typeof expected !== 'string') return error instanceof expected;
  if (error === null || typeof error !== 'object') return false;
  const { code, rule } = error as { code?: unknown; rule?: unknown };
  return code === expected || rule === expected;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a non-error value ${print(error)}`;
  const { code } = error as { code?: unknown };
  return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
}
