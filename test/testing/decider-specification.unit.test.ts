import { BusinessRuleError, DomainError, ValidationError, type Decider } from '../../src/domain';
import { deciderSpecification, SpecificationError } from '../../src/testing';
import { lineDiff } from '../../src/testing/line-diff';
import { caught } from '../domain/caught';
import { cart, cartDecider, type CartEvent } from '../domain/shopping-cart';

const openedAt = '2026-03-01T10:00:00.000Z';
const opened: CartEvent = { type: 'CartOpened', data: { customerId: 'u-1', openedAt } };
const addTea = { type: 'AddItem', data: { sku: 'tea', quantity: 2, unitPriceCents: 250 } } as const;
const teaAdded: CartEvent = { type: 'ItemAdded', data: { sku: 'tea', quantity: 2, unitPriceCents: 250 } };

/** The SpecificationError a failing spec throws. */
function failure(run: () => void): SpecificationError {
  const error = caught(run);
  expect(error).toBeInstanceOf(SpecificationError);
  return error as SpecificationError;
}

describe('deciderSpecification', () => {
  const given = deciderSpecification(cart);

  it('passes when decide returns exactly the expected events', () => {
    expect(() => given([opened]).when(addTea).then([teaAdded])).not.toThrow();
  });

  it('fails with a line diff when the events differ', () => {
    const error = failure(() =>
      given([opened])
        .when(addTea)
        .then([{ type: 'ItemAdded', data: { sku: 'tea', quantity: 3, unitPriceCents: 250 } }]),
    );
    expect(error.message).toContain('the events differ (- expected, + actual)');
    expect(error.message).toContain('-       "quantity": 3,');
    expect(error.message).toContain('+       "quantity": 2,');
    expect(error.message).toContain('  "unitPriceCents": 250'.trim());
    // The scenario is in the message, so the failing spec reads on its own.
    expect(error.message).toMatch(/^given \[\n/);
    expect(error.message).toContain('when {');
  });

  it('fails when decide returns more or fewer events than expected', () => {
    expect(failure(() => given([opened]).when(addTea).then([])).message).toContain('+   {');
    expect(failure(() => given([opened]).when(addTea).then([teaAdded, teaAdded])).message).toContain('-   {');
  });

  it('fails then() when decide threw, naming the error', () => {
    const error = failure(() => given([]).when(addTea).then([teaAdded]));
    expect(error.message).toMatch(/but decide threw BusinessRuleError \[RULE_VIOLATED\]: the cart has not been opened/);
  });

  it('passes thenThrows() for the error class, a base class, a code or a rule name', () => {
    expect(() => given([]).when(addTea).thenThrows(BusinessRuleError)).not.toThrow();
    expect(() => given([]).when(addTea).thenThrows(DomainError)).not.toThrow();
    expect(() => given([]).when(addTea).thenThrows('RULE_VIOLATED')).not.toThrow();
    expect(() => given([]).when(addTea).thenThrows('CART_NOT_OPEN')).not.toThrow();
  });

  it('fails thenThrows() when nothing was thrown', () => {
    const error = failure(() => given([opened]).when(addTea).thenThrows(BusinessRuleError));
    expect(error.message).toContain('expected BusinessRuleError to be thrown, but decide returned [');
    expect(error.message).toContain('"ItemAdded"');
  });

  it('fails thenThrows() when something else was thrown', () => {
    expect(failure(() => given([]).when(addTea).thenThrows(ValidationError)).message).toContain(
      'expected ValidationError to be thrown, but got BusinessRuleError [RULE_VIOLATED]',
    );
    expect(failure(() => given([]).when(addTea).thenThrows('CART_EMPTY')).message).toContain(
      'expected an error with code "CART_EMPTY" to be thrown',
    );
  });

  it('runs the extra check on the thrown error, and fails when it fails', () => {
    const checked: string[] = [];
    given([]).when(addTea).thenThrows(BusinessRuleError, (error) => checked.push(error.rule));
    expect(checked).toEqual(['CART_NOT_OPEN']);
    expect(() =>
      given([])
        .when(addTea)
        .thenThrows(BusinessRuleError, (error) => expect(error.rule).toBe('TOO_MANY')),
    ).toThrow();
  });

  it('validates the command and the given events when given an aggregate', () => {
    given([opened])
      .when({ type: 'AddItem', data: { sku: 'tea' } } as never)
      .thenThrows(ValidationError, (error) => expect(error.issues.map((issue) => issue.path)).toEqual(['data.quantity', 'data.unitPriceCents']));
    const error = failure(() => given([{ type: 'CartOpened', data: { customerId: 7 } } as never]).when(addTea).then([teaAdded]));
    expect(error.message).toContain('given event is invalid');
  });

  it('runs a bare decider as is, without schemas', () => {
    const bare = deciderSpecification(cartDecider);
    bare([opened]).when(addTea).then([teaAdded]);
    // Without the aggregate's schema, a bad payload reaches decide unchecked.
    bare([opened])
      .when({ type: 'AddItem', data: { sku: 'tea', quantity: 1, unitPriceCents: -5 } })
      .then([{ type: 'ItemAdded', data: { sku: 'tea', quantity: 1, unitPriceCents: -5 } }]);
  });

  it('counts a decider that throws a non-error as a failure to explain', () => {
    const decider: Decider<{ type: 'Go' }, { type: 'Went' }, null> = {
      initialState: () => null,
      decide: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
        throw { reason: 'odd' };
      },
      evolve: (state) => state,
    };
    const error = failure(() => deciderSpecification(decider)().when({ type: 'Go' }).then([]));
    expect(error.message).toContain('a non-error value {\n  "reason": "odd"\n}');
  });

  it('refuses to be awaited like a promise', async () => {
    const spec = given([opened]).when(addTea);
    await expect(Promise.resolve(spec)).rejects.toThrow('a decider specification is not a promise');
  });
});

describe('lineDiff', () => {
  it('marks removed and added lines and keeps common ones', () => {
    expect(lineDiff({ a: 1, b: 2 }, { a: 1, b: 3 })).toBe('  {\n    "a": 1,\n-   "b": 2\n+   "b": 3\n  }');
  });

  it('ignores key order, which deep equality ignores too', () => {
    expect(lineDiff({ b: 2, a: 1 }, { a: 1, b: 3 })).toBe('  {\n    "a": 1,\n-   "b": 2\n+   "b": 3\n  }');
  });

  it('shows values JSON would hide', () => {
    expect(lineDiff({ n: 1n }, { n: undefined })).toBe('  {\n-   "n": "1n"\n+   "n": "<undefined>"\n  }');
  });
});
