import 'reflect-metadata';
import { parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { buildSchema, Ctx, Field, FieldResolver, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { ApiContext, ApiUser } from '../../src/api/api-context';
import { sameForEverySubscriber, subscribeShared } from '../../src/api/shared-execution';

/** Counts the root resolver's runs; its value names the subscriber's user. */
const runs = { root: 0, greeting: 0 };
/** What the next subscriber's source yields: one value object, handed to every subscriber alike. */
let sourceValues: object[] = [];

@ObjectType('SharedNote')
class Note {
  @Field() text!: string;
  @Field() seenBy!: string;
}

@Resolver(() => Note)
class NoteResolver {
  @Query(() => String)
  ping(): string {
    return 'pong';
  }

  @Subscription(() => Note, {
    subscribe: () => {
      const values = sourceValues;
      return (async function* () {
        for (const value of values) yield await Promise.resolve(value);
      })();
    },
  })
  noteChanged(@Root() payload: { text: string }, @Ctx() context: ApiContext): Note {
    runs.root++;
    return { text: payload.text, seenBy: context.user?.id ?? 'anonymous' };
  }

  /** A field resolver: its value depends on the subscriber, so nothing selecting it is shared across users. */
  @FieldResolver(() => String)
  greeting(@Root() note: Note, @Ctx() context: ApiContext): string {
    runs.greeting++;
    return `hello ${context.user?.id ?? 'anonymous'}: ${note.text}`;
  }
}

function user(id: string): ApiUser {
  return { id, roles: [], claims: {} };
}

describe('subscribeShared: one execution per change for subscribers with the same view', () => {
  let schema: GraphQLSchema;

  beforeAll(async () => {
    const refuse = (): never => {
      throw new TypeError('no topics here');
    };
    schema = await buildSchema({ resolvers: [NoteResolver], validate: false, pubSub: { publish: refuse, subscribe: refuse } });
  });

  beforeEach(() => {
    runs.root = 0;
    runs.greeting = 0;
  });

  /** Each subscriber's results for one value object that all of their sources yield. */
  async function deliver(query: string, users: (ApiUser | undefined)[], value: object): Promise<ExecutionResult[]> {
    const document = parse(query);
    sourceValues = [value];
    const results: ExecutionResult[] = [];
    for (const subscriber of users) {
      const contextValue = { user: subscriber } as ApiContext;
      const stream = await subscribeShared({ schema, document, contextValue });
      if (!(Symbol.asyncIterator in stream)) throw new Error(JSON.stringify(stream));
      for await (const result of stream) results.push(result);
    }
    return results;
  }

  it('a value marked the same for everyone, with only plain fields selected, is executed once for all users', async () => {
    const value = sameForEverySubscriber({ text: 'shared' });
    const results = await deliver('subscription { noteChanged { text } }', [user('a'), user('b'), undefined], value);
    expect(runs.root).toBe(1);
    expect(results.map((result) => result.data)).toEqual([{ noteChanged: { text: 'shared' } }, { noteChanged: { text: 'shared' } }, { noteChanged: { text: 'shared' } }]);
    expect(results[1]).toBe(results[0]);
  });

  it('an unmarked value is executed once per user: each user sees what their own context gives', async () => {
    const alice = user('alice');
    const results = await deliver('subscription { noteChanged { text seenBy } }', [alice, user('bob'), alice], { text: 'private' });
    expect(runs.root).toBe(2);
    expect(results.map((result) => result.data)).toEqual([
      { noteChanged: { text: 'private', seenBy: 'alice' } },
      { noteChanged: { text: 'private', seenBy: 'bob' } },
      { noteChanged: { text: 'private', seenBy: 'alice' } },
    ]);
    expect(results[2]).toBe(results[0]);
  });

  it('a marked value is still executed per user when the selection reaches a field resolver', async () => {
    const value = sameForEverySubscriber({ text: 'hi' });
    const results = await deliver('subscription { noteChanged { greeting } }', [user('a'), user('b')], value);
    expect(runs.greeting).toBe(2);
    expect(results.map((result) => result.data)).toEqual([{ noteChanged: { greeting: 'hello a: hi' } }, { noteChanged: { greeting: 'hello b: hi' } }]);
  });

  it('different variables, operations or value objects are executed apart', async () => {
    const first = sameForEverySubscriber({ text: 'one' });
    const second = sameForEverySubscriber({ text: 'two' });
    await deliver('subscription { noteChanged { text } }', [user('a')], first);
    await deliver('subscription { noteChanged { text } }', [user('a')], second);
    await deliver('subscription Named { noteChanged { text } }', [user('a')], first);
    expect(runs.root).toBe(3);
  });
});
