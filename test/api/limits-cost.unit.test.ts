import fc from 'fast-check';
import { buildSchema, Kind, parse, specifiedRules, validate, type SelectionSetNode } from 'graphql';
import { checkComplexity, DEFAULT_API_LIMITS, depthLimitRule, fragmentMemo, limitRules } from '../../src/api/limits';
import { LimitExceededError } from '../../src/api/errors';

const schema = buildSchema(`
  type Item { id: ID! name: String tags(first: Int): [String!]! }
  type ItemPage { nodes: [Item!]! totalCount: Int! }
  type Query { a: Int items(first: Int, limit: Int): ItemPage! item(id: ID!): Item }
`);

/** `query { ...F<levels> }` where every fragment spreads the one below it twice: 2^levels fields once expanded. */
function fragmentBomb(levels: number): string {
  let text = `query { ...F${levels} }\nfragment F0 on Query { __typename }\n`;
  for (let level = 1; level <= levels; level++) text += `fragment F${level} on Query { ...F${level - 1} ...F${level - 1} }\n`;
  return text;
}

/** Selection sets in a document: the most folds a linear analysis may make. */
function selectionSets(text: string): number {
  return (text.match(/\{/g) ?? []).length;
}

describe('limits: every rule is linear in the document', () => {
  it('the 30-level fragment bomb (2^30 fields once expanded) is refused by complexity, with its exact cost', () => {
    const document = parse(fragmentBomb(30));
    expect(validate(schema, document, [...specifiedRules, ...limitRules(DEFAULT_API_LIMITS)])).toEqual([]);
    let caught: unknown;
    try {
      checkComplexity(schema, document, {}, undefined, DEFAULT_API_LIMITS.maxComplexity);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LimitExceededError);
    expect((caught as LimitExceededError).extensions).toMatchObject({ limit: 'complexity', actual: 2 ** 30 });
  });

  it('a deep fragment chain is measured once per fragment by the depth rule', () => {
    let text = 'query { ...D40 }\nfragment D0 on Item { id }\n';
    for (let level = 1; level <= 40; level++) text += `fragment D${level} on Query { item(id: "x") { ...D${level - 1} } a }\n`;
    const errors = validate(schema, parse(text), [depthLimitRule(5)]);
    expect(errors.map((error) => error.message)).toEqual(['query depth 41 exceeds the limit of 5']);
  });

  it('property: the shared fold visits each selection set at most once, whatever the fragments spread', () => {
    // Documents of up to 25 fragments, each spreading up to 4 lower fragments (any number of times) and
    // holding nested fields: expanded, they reach up to 4^25 selections.
    const fragmentArb = fc.array(fc.record({ spreads: fc.array(fc.nat(), { maxLength: 4 }), nested: fc.nat({ max: 3 }) }), { minLength: 1, maxLength: 25 });
    fc.assert(
      fc.property(fragmentArb, (fragments) => {
        const lines = fragments.map(({ spreads, nested }, index) => {
          const below = index === 0 ? [] : spreads.map((spread) => `...G${spread % index}`);
          const fields = nested ? 'item(id: "x") { ' + 'name '.repeat(nested) + '}' : '';
          return `fragment G${index} on Query { a ${below.join(' ')} ${fields} }`;
        });
        const text = `query { ...G${fragments.length - 1} }\n${lines.join('\n')}`;
        const document = parse(text);
        let folds = 0;
        const fold = fragmentMemo(document, (selectionSet: SelectionSetNode, follow) => {
          folds++;
          let sum = 0;
          for (const selection of selectionSet.selections) {
            if (selection.kind === Kind.FRAGMENT_SPREAD) sum += follow(selection.name.value);
            else if (selection.kind === Kind.FIELD && selection.selectionSet) sum += follow(selection.selectionSet);
            else sum += 1;
          }
          return sum;
        });
        const operation = document.definitions[0]!;
        if (operation.kind !== Kind.OPERATION_DEFINITION) throw new Error('operation first');
        fold(operation.selectionSet);
        expect(folds).toBeLessThanOrEqual(selectionSets(text));
        // And the real rules answer for the same document.
        validate(schema, document, limitRules(DEFAULT_API_LIMITS));
        try {
          checkComplexity(schema, document, {}, undefined, Number.MAX_SAFE_INTEGER);
        } catch (error) {
          expect(error).toBeInstanceOf(LimitExceededError);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('limits: complexity weighs lists by their page size', () => {
  const cost = (query: string, variables: Record<string, unknown> = {}) => checkComplexity(schema, parse(query), variables, undefined, Number.MAX_SAFE_INTEGER);

  it('first / limit multiply the cost of the selections under the field', () => {
    expect(cost('{ items { nodes { id } } }')).toBe(3);
    expect(cost('{ items(first: 50) { nodes { id } } }')).toBe(1 + 50 * 2);
    expect(cost('{ items(limit: 10) { totalCount nodes { id name } } }')).toBe(1 + 10 * (1 + 3));
    expect(cost('query Page($n: Int) { items(first: $n) { nodes { tags(first: 5) } } }', { n: 20 })).toBe(1 + 20 * 2);
    expect(cost('query Page($n: Int) { items(first: $n) { nodes { id } } }', { n: 20 })).toBe(41);
  });

  it('a page size given as a variable of the wrong type is the client\'s error', () => {
    let caught: unknown;
    try {
      cost('query Page($n: Int) { items(first: $n) { nodes { id } } }', { n: 'many' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('limits: a cost that cannot depend on the variables is computed once per document', () => {
  const check = (document: ReturnType<typeof parse>, variables: Record<string, unknown>, coercedLater: boolean) =>
    checkComplexity(schema, document, variables, undefined, Number.MAX_SAFE_INTEGER, coercedLater);
  const wrongType = (run: () => number): unknown => {
    try {
      run();
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('with variables coerced later, a variable outside page sizes is not coerced again once the cost is known', () => {
    const document = parse('query One($id: ID!) { item(id: $id) { name } items(first: 5) { nodes { id } } }');
    expect(check(document, { id: 'a' }, true)).toBe(2 + 1 + 5 * 2);
    // The cost is remembered for the document: the execution that follows reports the bad value.
    expect(check(document, { id: { not: 'an id' } }, true)).toBe(2 + 1 + 5 * 2);
    // Without the promise that execution coerces them, every call coerces, and refuses the bad value itself.
    const fresh = parse('query One($id: ID!) { item(id: $id) { name } items(first: 5) { nodes { id } } }');
    expect(check(fresh, { id: 'a' }, false)).toBe(13);
    expect(wrongType(() => check(fresh, { id: { not: 'an id' } }, false))).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('a page size taken from a variable is still read (and checked) on every call', () => {
    const document = parse('query Page($n: Int, $id: ID!) { item(id: $id) { id } items(first: $n) { nodes { id } } }');
    expect(check(document, { n: 10, id: 'a' }, true)).toBe(2 + 1 + 10 * 2);
    expect(check(document, { n: 40, id: 'a' }, true)).toBe(2 + 1 + 40 * 2);
    expect(wrongType(() => check(document, { n: 'many', id: 'a' }, true))).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const inFragment = parse('query Page($n: Int) { ...F } fragment F on Query { items(limit: $n) { totalCount } }');
    expect(check(inFragment, { n: 3 }, true)).toBe(1 + 3);
    expect(check(inFragment, { n: 30 }, true)).toBe(1 + 30);
  });
});
