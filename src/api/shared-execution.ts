import {
  createSourceEventStream,
  type GraphQLError,
  execute,
  isAbstractType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { isDeepStrictEqual } from 'node:util';
import { getMetadataStorage } from 'type-graphql';
import type { ApiContext } from './api-context';
import { isLiveQuery } from './live-query';

/**
 * Values a live query hands to every subscriber of the same document alike: the root field's value
 * does not depend on who subscribed (no `canSee`, no `toView`).
 */
const independentValues = new WeakSet<object>();

/**
 * Marks a subscription value as the same for every subscriber, so that subscribers whose selection
 * only touches plain fields share one execution of it, whoever they are. Without the mark, only
 * subscribers of the same user (the same verified token) share one.
 */
export function sameForEverySubscriber<T extends object>(value: T): T {
  independentValues.add(value);
  return value;
}

/** Scope of subscribers without a user. */
const ANONYMOUS = {};
/** Scope of subscribers whose result cannot depend on who they are. */
const EVERYONE = {};

type Executions = WeakMap<DocumentNode, WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>>;
const executions = new WeakMap<object, Executions>();

/**
 * graphql's `subscribe`, except that subscribers that receive the same value object (a live query's
 * shared read) for the same document, operation and variables share one execution of it: a change
 * followed by a thousand subscribers is executed once per user, or once in all when the value does
 * not depend on the user (see {@link sameForEverySubscriber}) and no selected field below the root has
 * a field resolver or middleware. The result object is shared too: graphql-ws only serialises it.
 * `formatErrors` turns a result's errors into what clients see (once per shared result).
 */
export async function subscribeShared(
  args: ExecutionArgs,
  formatErrors: (errors: readonly GraphQLError[]) => GraphQLError[] = (errors) => [...errors],
): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
  const formatted = (result: ExecutionResult): ExecutionResult => (result.errors?.length ? { ...result, errors: formatErrors(result.errors) } : result);
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return formatted(source);
  const context = args.contextValue as ApiContext | undefined;
  const userScope: object = context?.user ?? ANONYMOUS;
  const key = `${args.operationName ?? ''}\u0000${args.variableValues ? JSON.stringify(args.variableValues) : ''}`;
  const plain = plainBelowRoot(args.schema, args.document);
  const run = (payload: unknown): ExecutionResult | Promise<ExecutionResult> => {
    if (typeof payload !== 'object' || payload === null) return then(execute({ ...args, rootValue: payload }), formatted);
    const scope = plain && independentValues.has(payload) ? EVERYONE : userScope;
    let byDocument = executions.get(payload);
    if (!byDocument) executions.set(payload, (byDocument = new WeakMap()));
    let byScope = byDocument.get(args.document);
    if (!byScope) byDocument.set(args.document, (byScope = new WeakMap()));
    let byKey = byScope.get(scope);
    if (!byKey) byScope.set(scope, (byKey = new Map<string, ExecutionResult | Promise<ExecutionResult>>()));
    let result = byKey.get(key);
    if (result === undefined) {
      // Formatted (and logged) once per shared execution, not once per subscriber.
      result = then(execute({ ...args, rootValue: payload }), formatted);
      byKey.set(key, result);
    }
    return result;
  };
  return mapAsyncIterator(source, run, isLiveQuery(source) ? unchangedResults() : undefined);
}

/**
 * A live query's subscriber wants what it may see, once per change of it: a result equal to the last
 * one sent is dropped. The source's values differ (a `canSee` document changed), but the result does
 * not (still `null` for who may not see it). A result with errors is always sent, and what follows it
 * counts as news.
 */
function unchangedResults(): (result: ExecutionResult) => boolean {
  let last: ExecutionResult | undefined;
  return (result) => {
    if (result.errors?.length) {
      last = undefined;
      return false;
    }
    const unchanged = last !== undefined && sameResult(last, result);
    last = result;
    return unchanged;
  };
}

const comparisons = new WeakMap<ExecutionResult, { readonly next: ExecutionResult; readonly equal: boolean }>();

/** Deep equality of two results, compared once per pair: subscribers sharing executions share results. */
function sameResult(previous: ExecutionResult, next: ExecutionResult): boolean {
  if (previous === next) return true;
  const known = comparisons.get(previous);
  if (known?.next === next) return known.equal;
  const equal = isDeepStrictEqual(previous.data, next.data) && isDeepStrictEqual(previous.extensions, next.extensions);
  comparisons.set(previous, { next, equal });
  return equal;
}

/** graphql's `execute` with the result's errors formatted: queries and mutations over WebSocket. */
export function executeFormatted(
  args: ExecutionArgs,
  formatErrors: (errors: readonly GraphQLError[]) => GraphQLError[],
): ExecutionResult | Promise<ExecutionResult> {
  return then(execute(args), (result) => (result.errors?.length ? { ...result, errors: formatErrors(result.errors) } : result));
}

function then<T, U>(value: T | Promise<T>, map: (value: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(map) : map(value);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Like graphql's internal `mapAsyncIterator`: maps each value, passes `return` and `throw` on; a mapped
 * value that `skip` refuses is not yielded (the next one is awaited instead). Written with plain
 * promise chains: it runs once per subscriber and change.
 */
function mapAsyncIterator<T, U>(
  iterable: AsyncIterable<T>,
  map: (value: T) => U | Promise<U>,
  skip?: (mapped: U) => boolean,
): AsyncGenerator<U, void, void> {
  const iterator = iterable[Symbol.asyncIterator]();
  const close = async (): Promise<void> => {
    await iterator.return?.();
  };
  const failed = (error: unknown): Promise<never> =>
    close().then(
      () => Promise.reject(error as Error),
      () => Promise.reject(error as Error),
    );
  const step = (result: IteratorResult<T>): IteratorResult<U, void> | Promise<IteratorResult<U, void>> => {
    if (result.done) return { done: true, value: undefined };
    let value: U | Promise<U>;
    try {
      value = map(result.value);
    } catch (error) {
      return failed(error);
    }
    return value instanceof Promise ? value.then(emit, failed) : emit(value);
  };
  const emit = (value: U): IteratorResult<U, void> | Promise<IteratorResult<U, void>> =>
    skip?.(value) ? iterator.next().then(step) : { done: false, value };
  const mapped: AsyncGenerator<U, void, void> = {
    next: () => iterator.next().then(step),
    async return() {
      await close();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      if (iterator.throw) return step(await iterator.throw(error));
      await close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
  return mapped;
}

const plainDocuments = new WeakMap<DocumentNode, boolean>();
const customFieldsBySchema = new WeakMap<GraphQLSchema, ReadonlySet<string> | undefined>();

/**
 * Whether every field selected below the operation's root fields resolves to a plain property of its
 * parent (no type-graphql field resolver, no field middleware, no abstract type whose implementations
 * might differ), so that its value cannot depend on the context.
 */
function plainBelowRoot(schema: GraphQLSchema, document: DocumentNode): boolean {
  let plain = plainDocuments.get(document);
  if (plain !== undefined) return plain;
  const custom = customFields(schema);
  plain = custom !== undefined;
  if (custom) {
    const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter((type) => type != null));
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const parent = typeInfo.getParentType();
          if (!parent || roots.has(parent as never)) return;
          if (isAbstractType(parent) || custom.has(`${parent.name}.${node.name.value}`)) plain = false;
        },
      }),
    );
  }
  plainDocuments.set(document, plain);
  return plain;
}

/**
 * `Type.field` of every field with a type-graphql field resolver or middleware; undefined when one of
 * them cannot be named (then nothing counts as plain).
 */
function customFields(schema: GraphQLSchema): ReadonlySet<string> | undefined {
  if (customFieldsBySchema.has(schema)) return customFieldsBySchema.get(schema);
  const storage = getMetadataStorage();
  const names = new Map<unknown, string>();
  for (const type of [...storage.objectTypes, ...storage.interfaceTypes]) names.set(type.target, type.name);
  const fields = new Set<string>();
  let known = true;
  const add = (target: unknown, field: string): void => {
    const name = names.get(target);
    if (name === undefined) known = false;
    else fields.add(`${name}.${field}`);
  };
  for (const resolver of storage.fieldResolvers) {
    const target = resolver.getObjectType?.();
    if (target === undefined) known = false;
    else add(target, resolver.schemaName);
  }
  for (const field of storage.fields) {
    if (field.middlewares && field.middlewares.length > 0) add(field.target, field.schemaName);
  }
  const result = known ? fields : undefined;
  customFieldsBySchema.set(schema, result);
  return result;
}
