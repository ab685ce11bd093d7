import {
  BREAK,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  Kind,
  OperationTypeNode,
  type ASTVisitor,
  type DocumentNode,
  type GraphQLSchema,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  visit,
} from 'graphql';
import { LimitExceededError } from './errors';

/**
 * What one request may cost. Over-limit requests are refused during validation, before anything runs.
 *
 * @example
 * createApi({ ..., limits: { maxDepth: 8, maxComplexity: 500, maxAliases: 20, bodyLimit: '100kb' } });
 */
export interface ApiLimits {
  /** Largest JSON body over HTTP (an express `limit`, e.g. `'100kb'`); also the largest WebSocket message. Default `'100kb'`. */
  readonly bodyLimit?: string | number;
  /** Deepest field nesting. Default 10. */
  readonly maxDepth?: number;
  /** Highest cost (each field 1, unless it declares `complexity`). Default 1,000. */
  readonly maxComplexity?: number;
  /** Most aliased fields in one document. Default 30. */
  readonly maxAliases?: number;
  /** Most active subscriptions on one WebSocket connection. Default 50. */
  readonly subscriptionsPerConnection?: number;
  /** Updates one subscription holds for a slow client before the connection is closed. Default 1,000. */
  readonly subscriptionBuffer?: number;
  /** Unsent bytes on one socket before a slow client is disconnected. Default 4 MiB. */
  readonly socketBufferBytes?: number;
}

/**
 * The limits used where `createApi({ limits })` leaves one out.
 *
 * @example
 * createApi({ ..., limits: { maxDepth: DEFAULT_API_LIMITS.maxDepth + 2 } });
 */
export const DEFAULT_API_LIMITS: Required<ApiLimits> = {
  bodyLimit: '100kb',
  maxDepth: 10,
  maxComplexity: 1_000,
  maxAliases: 30,
  subscriptionsPerConnection: 50,
  subscriptionBuffer: 1_000,
  socketBufferBytes: 4 * 1024 * 1024,
};

/** The limits with defaults filled in; throws on nonsense values. */
export function resolveLimits(limits: ApiLimits = {}): Required<ApiLimits> {
  const resolved = { ...DEFAULT_API_LIMITS, ...limits };
  for (const key of ['maxDepth', 'maxComplexity', 'maxAliases', 'subscriptionsPerConnection', 'subscriptionBuffer', 'socketBufferBytes'] as const) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`limits.${key} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}

const SUGGESTION = ' Did you mean ';

/**
 * An error message without graphql-js's trailing "Did you mean …?" suggestion, which names fields,
 * arguments, types or enum values of the schema: with introspection off, a caller must not learn them
 * by misspelling. graphql 16 has no switch for it, and its suggestion always ends the message (after
 * any echoed input), so the last one is cut. Linear in the message.
 *
 * @example
 * withoutSuggestions('Cannot query field "tickt" on type "Query". Did you mean "ticket"?'); // 'Cannot query field "tickt" on type "Query".'
 */
export function withoutSuggestions(message: string): string {
  if (!message.endsWith('?')) return message;
  const at = message.lastIndexOf(SUGGESTION);
  return at === -1 ? message : message.slice(0, at);
}

function limitError(limit: string, message: string, details: Record<string, unknown>): GraphQLError {
  return new LimitExceededError(limit, message, details);
}

/**
 * Refuses operations nested deeper than `maxDepth` fields (fragments followed, cycles guarded). Each
 * fragment's depth is computed once and remembered, so the rule is linear in the document's size even
 * when fragments spread each other many times over (a "fragment bomb").
 *
 * @example
 * validate(schema, document, [...specifiedRules, depthLimitRule(10)]);
 */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const depthOf = fragmentMemo(context.getDocument(), (selectionSet, follow) => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          deepest = Math.max(deepest, selection.selectionSet ? 1 + follow(selection.selectionSet) : 1);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, follow(selection.selectionSet));
        } else {
          deepest = Math.max(deepest, follow(selection.name.value));
        }
      }
      return deepest;
    });
    return {
      OperationDefinition(node: OperationDefinitionNode) {
        const depth = depthOf(node.selectionSet);
        if (depth > maxDepth) {
          context.reportError(limitError('depth', `query depth ${depth} exceeds the limit of ${maxDepth}`, { max: maxDepth }));
        }
      },
    };
  };
}

/**
 * A fold over selection sets in which every named fragment is folded once: `follow` returns a nested
 * set's value, or a fragment's remembered one (0 for an unknown fragment or one that spreads itself,
 * which graphql-js's own rules refuse). Work is linear in the document's size. Exported for its tests only.
 */
export function fragmentMemo(
  document: DocumentNode,
  fold: (selectionSet: SelectionSetNode, follow: (next: SelectionSetNode | string) => number) => number,
): (selectionSet: SelectionSetNode) => number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const memo = new Map<string, number>();
  const active = new Set<string>();
  const follow = (next: SelectionSetNode | string): number => {
    if (typeof next !== 'string') return fold(next, follow);
    const known = memo.get(next);
    if (known !== undefined) return known;
    const fragment = fragments.get(next);
    if (!fragment || active.has(next)) return 0;
    active.add(next);
    const value = fold(fragment.selectionSet, follow);
    active.delete(next);
    memo.set(next, value);
    return value;
  };
  return (selectionSet) => fold(selectionSet, follow);
}

/**
 * Refuses documents with more than `maxAliases` aliased fields (alias batching amplifies cost).
 */
export function aliasLimitRule(maxAliases: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    let reported = false;
    return {
      Field(node) {
        if (!node.alias) return;
        aliases++;
        if (aliases > maxAliases && !reported) {
          reported = true;
          context.reportError(limitError('aliases', `more than ${maxAliases} aliases in one request`, { max: maxAliases }));
        }
      },
    };
  };
}

/**
 * The validation rules that enforce the static limits: depth and aliases.
 */
export function limitRules(limits: Required<ApiLimits>): ValidationRule[] {
  return [depthLimitRule(limits.maxDepth), aliasLimitRule(limits.maxAliases)];
}

/**
 * The cost of an operation with its variables: each field costs its `complexity` extension (a number,
 * or type-graphql's estimator function given `childComplexity` and `args`), else 1 plus its selections'
 * cost times its page size (`first`, `last` or `limit`, when given). Each fragment's cost is computed
 * once, so the check is linear in the document's size. When no field declares a `complexity` extension
 * and the operation takes no variables, the cost is remembered per parsed document (Apollo and the
 * WebSocket path reuse parsed documents). With `variablesCoercedLater` (the caller's execution coerces
 * the variables before anything runs and reports a bad one as `BAD_USER_INPUT`, as Apollo does), it is
 * also remembered when no page-size argument takes a variable: the cost cannot depend on them, and
 * coercing a mutation's input here only to throw it away cost about 2% of the mutation's CPU.
 *
 * @example
 * checkComplexity(schema, parse('{ tickets(first: 50) { nodes { ticketId } } }'), {}, undefined, 1_000); // 101
 * @throws LimitExceededError (`BAD_USER_INPUT`, `limit: 'complexity'`) over the limit.
 */
export function checkComplexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  maxComplexity: number,
  variablesCoercedLater = false,
): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0; // graphql-js reports the missing or ambiguous operation itself.
  const cacheable =
    !hasComplexityExtensions(schema) && (!operation.variableDefinitions?.length || (variablesCoercedLater && !pageSizeTakesVariable(document)));
  const cache = cacheable ? complexityCache(schema) : undefined;
  const key = operationName ?? '';
  let complexity = cache?.get(document)?.get(key);
  if (complexity === undefined) {
    complexity = operationCost(schema, document, operation, variables ?? {});
    if (cache) {
      let byOperation = cache.get(document);
      if (!byOperation) cache.set(document, (byOperation = new Map<string, number>()));
      byOperation.set(key, complexity);
    }
  }
  if (complexity > maxComplexity) {
    throw new LimitExceededError('complexity', `query complexity ${complexity} exceeds the limit of ${maxComplexity}`, {
      max: maxComplexity,
      actual: complexity,
    });
  }
  return complexity;
}

/** Arguments that say how many items a field returns. */
const PAGE_SIZE_ARGUMENTS = ['first', 'last', 'limit'];

/** Type-graphql's `complexity` option: a number, or a function of the field's arguments and children. */
type ComplexityExtension = number | ((options: { childComplexity: number; args: Record<string, unknown> }) => number);

function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, rawVariables: Record<string, unknown>): number {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables);
  // A value of the wrong type is the client's input error (as graphql-js would report it), not a server fault.
  if (coerced.errors) throw new GraphQLError(coerced.errors[0]!.message, { extensions: { code: 'BAD_USER_INPUT' } });
  const variables = coerced.coerced;
  const fragmentTypes = new Map<string, GraphQLNamedType | undefined>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragmentTypes.set(definition.name.value, schema.getType(definition.typeCondition.name.value) ?? undefined);
  }
  // The parent type travels beside the fold: a fragment's type is its own condition, so its cost is
  // the same wherever it is spread, and can be remembered.
  let parents: (GraphQLNamedType | undefined)[] = [rootType(schema, operation)];
  const costOf = fragmentMemo(document, (selectionSet, follow) => {
    const parent = parents[parents.length - 1];
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const saved = parents;
        parents = [...parents, fragmentTypes.get(selection.name.value)];
        total += follow(selection.name.value);
        parents = saved;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        parents.push(selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) ?? undefined) : parent);
        total += follow(selection.selectionSet);
        parents.pop();
      } else {
        const field = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
        parents.push(field ? getNamedType(field.type) : undefined);
        const childComplexity = selection.selectionSet ? follow(selection.selectionSet) : 0;
        parents.pop();
        const args = field ? argumentsOf(field, selection, variables) : {};
        const extension = field?.extensions.complexity as ComplexityExtension | undefined;
        if (typeof extension === 'function') total += extension({ childComplexity, args });
        else if (typeof extension === 'number') total += extension + childComplexity;
        else total += 1 + pageSize(args) * childComplexity;
      }
    }
    return total;
  });
  return costOf(operation.selectionSet);
}

function argumentsOf(field: GraphQLField<unknown, unknown>, node: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  try {
    return getArgumentValues(field, node, variables);
  } catch (error) {
    if (error instanceof GraphQLError) throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } });
    throw error;
  }
}

function pageSize(args: Record<string, unknown>): number {
  for (const name of PAGE_SIZE_ARGUMENTS) {
    const value = args[name];
    if (typeof value === 'number' && Number.isFinite(value) && value > 1) return value;
  }
  return 1;
}

function rootType(schema: GraphQLSchema, operation: OperationDefinitionNode): GraphQLNamedType | undefined {
  switch (operation.operation) {
    case OperationTypeNode.QUERY:
      return schema.getQueryType() ?? undefined;
    case OperationTypeNode.MUTATION:
      return schema.getMutationType() ?? undefined;
    case OperationTypeNode.SUBSCRIPTION:
      return schema.getSubscriptionType() ?? undefined;
    default: {
      const _never: never = operation.operation;
      return _never;
    }
  }
}

const pageSizeVariables = new WeakMap<DocumentNode, boolean>();

/** Whether any `first`, `last` or `limit` argument in the document (operations and fragments) is a variable. */
function pageSizeTakesVariable(document: DocumentNode): boolean {
  let found = pageSizeVariables.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      Argument(node) {
        if (PAGE_SIZE_ARGUMENTS.includes(node.name.value) && node.value.kind === Kind.VARIABLE) {
          found = true;
          return BREAK;
        }
        return undefined;
      },
    });
    pageSizeVariables.set(document, found);
  }
  return found;
}

const caches = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, number>>>();
const extensionsBySchema = new WeakMap<GraphQLSchema, boolean>();

function complexityCache(schema: GraphQLSchema): WeakMap<DocumentNode, Map<string, number>> {
  let cache = caches.get(schema);
  if (!cache) caches.set(schema, (cache = new WeakMap()));
  return cache;
}

/** Whether any field declares `extensions.complexity` (type-graphql's `complexity` option). */
function hasComplexityExtensions(schema: GraphQLSchema): boolean {
  let found = extensionsBySchema.get(schema);
  if (found === undefined) {
    found = Object.values(schema.getTypeMap()).some(
      (type) => isObjectType(type) && Object.values(type.getFields()).some((field) => field.extensions.complexity !== undefined),
    );
    extensionsBySchema.set(schema, found);
  }
  return found;
}
