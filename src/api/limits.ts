import {
  GraphQLError,
  isObjectType,
  Kind,
  type ASTVisitor,
  type DocumentNode,
  type GraphQLSchema,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
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

function limitError(limit: string, message: string, details: Record<string, unknown>): GraphQLError {
  return new LimitExceededError(limit, message, details);
}

/**
 * Refuses operations nested deeper than `maxDepth` fields (fragments followed, cycles guarded).
 *
 * @example
 * validate(schema, document, [...specifiedRules, depthLimitRule(10)]);
 */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const depthOf = (selectionSet: SelectionSetNode, seen: ReadonlySet<string>): number => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, seen) : 1);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, seen));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (fragment && !seen.has(name)) deepest = Math.max(deepest, depthOf(fragment.selectionSet, new Set([...seen, name])));
        }
        if (deepest > maxDepth) return deepest;
      }
      return deepest;
    };
    return {
      OperationDefinition(node: OperationDefinitionNode) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(limitError('depth', `query depth ${depth} exceeds the limit of ${maxDepth}`, { max: maxDepth }));
        }
      },
    };
  };
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
 * The cost of an operation with its variables (graphql-query-complexity: a field's `complexity`
 * extension, else 1 per field). When no field of the schema declares a `complexity` extension the
 * cost does not depend on the variables, so it is computed once per parsed document (Apollo and the
 * WebSocket path reuse parsed documents).
 *
 * @throws LimitExceededError (`BAD_USER_INPUT`, `limit: 'complexity'`) over the limit.
 */
export function checkComplexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  maxComplexity: number,
): number {
  const cacheable = !hasComplexityExtensions(schema);
  const cache = cacheable ? complexityCache(schema) : undefined;
  const key = operationName ?? '';
  let complexity = cache?.get(document)?.get(key);
  if (complexity === undefined) {
    try {
      complexity = getComplexity({
        schema,
        query: document,
        variables: variables ?? {},
        ...(operationName ? { operationName } : {}),
        estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
      });
    } catch (error) {
      // The estimator coerces the variables before execution does; a value of the wrong type is the
      // client's input error (as graphql-js would report it), not a server fault.
      if (error instanceof GraphQLError) throw new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } });
      throw error;
    }
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
