import { z } from 'zod';
import {
  BusinessRuleError,
  DeciderFailedError,
  defineAggregate,
  defineCommands,
  defineEvents,
  fold,
  InvalidDecisionError,
  MalformedStreamNameError,
  parseStreamName,
  type Decider,
} from '../../src/domain';
import { deciderSpecification } from '../../src/testing';
import { caught } from './caught';
import { cart, cartDecider } from './shopping-cart';

const commands = defineCommands({ Go: { schema: z.object({ n: z.number() }), stream: 'any' } });
const events = defineEvents({ Went: z.object({ n: z.number() }) });
type Command = { type: 'Go'; data: { n: number } };
type Event = { type: 'Went'; data: { n: number } };

/** A decider whose decide is whatever the test needs, to see how the aggregate guards it. */
function withDecide(decide: (command: Command) => unknown) {
  const decider: Decider<Command, Event, { status: 'any'; total: number }> = {
    initialState: () => ({ status: 'any', total: 0 }),
    decide: (command) => decide(command) as readonly Event[],
    evolve: (state, event) => {
      if (event.data.n < 0) throw new TypeError('negative');
      return { status: 'any', total: state.total + event.data.n };
    },
  };
  return defineAggregate({ category: 'probe', decider, commands, events });
}

describe('aggregate', () => {
  it('names and parses its streams as <category>-<id>', () => {
    expect(cart.streamName('7f3c-11')).toBe('cart-7f3c-11');
    expect(cart.parseStreamName('cart-7f3c-11')).toEqual({ category: 'cart', id: '7f3c-11' });
  });

  it.each([
    ['order-1', /belongs to category "order", not "cart"/],
    ['cart', /is not of the form <category>-<id>/],
    ['cart-', /is not of the form/],
    ['-1', /is not of the form/],
    ['9cart-1', /has category "9cart"/],
    ['cart-1\n', /control characters/],
    [`cart-${'x'.repeat(260)}`, /longer than 255/],
    [42, /is a number, not a string/],
  ])('rejects the stream name %p', (name, message) => {
    expect(() => cart.parseStreamName(name)).toThrow(MalformedStreamNameError);
    expect(() => cart.parseStreamName(name)).toThrow(message);
  });

  it('rejects a category that cannot start a stream name', () => {
    expect(() => defineAggregate({ category: 'shopping-cart', decider: cartDecider, commands: cart.commands, events: cart.events })).toThrow(
      MalformedStreamNameError,
    );
    expect(() => cart.streamName('')).toThrow(MalformedStreamNameError);
    expect(parseStreamName('any_thing-1')).toEqual({ category: 'any_thing', id: '1' });
  });

  it('rejects a nonsense snapshot policy', () => {
    expect(() =>
      defineAggregate({ category: 'cart', decider: cartDecider, commands: cart.commands, events: cart.events, snapshots: { every: 0, version: 1 } }),
    ).toThrow(/snapshots.every/);
  });

  it('passes business errors from decide through untouched', () => {
    const rule = new BusinessRuleError('NO', 'no');
    const aggregate = withDecide(() => {
      throw rule;
    });
    expect(() => aggregate.decide({ type: 'Go', data: { n: 1 } }, aggregate.initialState())).toThrow(rule);
  });

  it('turns a decider bug into DECIDER_FAILED with the bug as cause', () => {
    const bug = new TypeError('x is undefined');
    deciderSpecification(
      withDecide(() => {
        throw bug;
      }),
    )([])
      .when({ type: 'Go', data: { n: 1 } })
      .thenThrows(DeciderFailedError, (error) => {
        expect(error.cause).toBe(bug);
        expect(error.phase).toBe('decide');
      });
    deciderSpecification(
      withDecide(() => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: a decider throwing a non-Error
        throw 'just a string';
      }),
    )([])
      .when({ type: 'Go', data: { n: 1 } })
      .thenThrows('DECIDER_FAILED');
  });

  it('turns a throwing evolve into DECIDER_FAILED', () => {
    const aggregate = withDecide(() => []);
    expect(caught(() => fold(aggregate, [{ type: 'Went', data: { n: -1 } }]))).toMatchObject({
      code: 'DECIDER_FAILED',
      phase: 'evolve',
      messageType: 'Went',
    });
    expect(fold(aggregate, [{ type: 'Went', data: { n: 2 } }, { type: 'Went', data: { n: 3 } }])).toEqual({ status: 'any', total: 5 });
  });

  it.each([
    ['null', null, /returned null, not an array of events/, []],
    ['one event instead of an array', { type: 'Went', data: { n: 1 } }, /returned object, not an array/, []],
    ['a string in the array', ['Went'], /invalid event #0/, ['[0]']],
    ['an unknown event type', [{ type: 'Gone', data: {} }], /\[0\]\.type: unknown event type "Gone"/, ['[0].type']],
    ['invalid event data', [{ type: 'Went', data: { n: 1 } }, { type: 'Went', data: { n: 'two' } }], /\[1\]\.data\.n: /, ['[1].data.n']],
  ])('rejects a decision that is %s with INVALID_DECISION', (_name, decision, message, paths) => {
    const aggregate = withDecide(() => decision);
    const thrown = caught(() => aggregate.decide({ type: 'Go', data: { n: 1 } }, aggregate.initialState()));
    expect(thrown).toBeInstanceOf(InvalidDecisionError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as InvalidDecisionError).issues.map((issue) => issue.path)).toEqual(paths);
  });
});
