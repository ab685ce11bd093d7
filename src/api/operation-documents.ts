import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { ApiError } from './errors';
import { limitRules, type ApiLimits } from './limits';

/** Parsed and validated documents kept per transport. */
const DOCUMENT_CACHE_SIZE = 1_000;

/** A query text's parsed document, or why it cannot run. */
export type CheckedDocument = { readonly document: DocumentNode } | { readonly errors: GraphQLError[] };

/**
 * Parses and validates query texts with the API's rules (graphql-js', depth and alias limits, and no
 * introspection unless it is on), once per text: clients resend the same few, as Apollo's document
 * store assumes over HTTP. The WebSocket and SSE transports share this; the cache is bounded (oldest first).
 *
 * @example
 * const check = documentChecker(schema, limits, false);
 * const checked = check('{ openTicketCount }'); // { document } or { errors }
 */
export function documentChecker(schema: GraphQLSchema, limits: Required<ApiLimits>, introspection: boolean): (query: string) => CheckedDocument {
  const rules = [...specifiedRules, ...limitRules(limits), ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const documents = new Map<string, CheckedDocument>();
  const check = (query: string): CheckedDocument => {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return { errors: [error instanceof GraphQLError ? withCode(error, 'GRAPHQL_PARSE_FAILED') : new ApiError('BAD_USER_INPUT', 'unparsable query')] };
    }
    const errors = validate(schema, document, rules);
    return errors.length > 0 ? { errors: errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')) } : { document };
  };
  return (query) => {
    const known = documents.get(query);
    if (known) return known;
    const checked = check(query);
    if (documents.size >= DOCUMENT_CACHE_SIZE) documents.delete(documents.keys().next().value!);
    documents.set(query, checked);
    return checked;
  };
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, code: error.extensions.code ?? code } });
}
