// type-graphql validates object arguments (`@Args()`, inputs) with class-validator. An API whose classes
// declare no class-validator constraint leaves it unloaded (its first query would otherwise import some
// 200 modules to check nothing); one constraint anywhere turns validation on as before. Real HTTP.
// This file must not import anything that declares a constraint before the first test.
import { Args, ArgsType, Field, Int, Query, Resolver } from 'type-graphql';
import { connectEventStore, InMemoryReadModelStore } from '../../src';
import { createApi, type Api } from '../../src/api';
import type { ClassType } from '../../src/api/class-type';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

@ArgsType()
class PageArgs {
  @Field(() => Int, { nullable: true }) first?: number;
}

@Resolver()
class PageResolver {
  @Query(() => Int) page(@Args() args: PageArgs): number {
    return args.first ?? 0;
  }
}

async function serve(resolvers: ClassType[]): Promise<{ api: Api; query: (text: string) => Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }> }> {
  const api = await createApi({
    eventStore: await connectEventStore('memory:'),
    readModels: new InMemoryReadModelStore(),
    projections: [],
    aggregates: [],
    resolvers,
    auth: { mode: 'off' },
    logger: silent,
  });
  const { url } = await api.listen({ port: 0, host: '127.0.0.1' });
  const query = async (text: string) =>
    (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: text }) })).json()) as {
      data?: unknown;
      errors?: { extensions?: { code?: string } }[];
    };
  return { api, query };
}

const storage = (): unknown => (globalThis as { classValidatorMetadataStorage?: unknown }).classValidatorMetadataStorage;

describe('argument validation with class-validator', () => {
  it('with no constraint declared anywhere, arguments pass through and class-validator is never used', async () => {
    expect(storage()).toBeUndefined();
    const { api, query } = await serve([PageResolver]);
    try {
      expect(await query('{ page(first: 3) }')).toEqual({ data: { page: 3 } });
      // Validating would have created class-validator's global metadata storage.
      expect(storage()).toBeUndefined();
    } finally {
      await api.close();
    }
  });

  it('once a class declares a constraint, object arguments are validated: a violation is BAD_USER_INPUT', async () => {
    const { Min } = await import('class-validator');
    @ArgsType()
    class BoundedArgs {
      @Field(() => Int) @Min(1) first!: number;
    }
    @Resolver()
    class BoundedResolver {
      @Query(() => Int) bounded(@Args() args: BoundedArgs): number {
        return args.first;
      }
    }
    expect(storage()).toBeDefined();
    const { api, query } = await serve([BoundedResolver]);
    try {
      expect(await query('{ bounded(first: 2) }')).toEqual({ data: { bounded: 2 } });
      const refused = await query('{ bounded(first: 0) }');
      expect(refused.data).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await api.close();
    }
  });
});
