import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { ApiContext } from './api-context';
import { ApiError } from './errors';

const APPLICATION_JSON = 'application/json';
const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

/** The codes Apollo gives errors about the GraphQL request itself (its document or operation name). */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'OPERATION_RESOLUTION_FAILURE', 'BAD_USER_INPUT']);

/**
 * The HTTP status of a GraphQL response, as the GraphQL-over-HTTP spec and RFC 6750 say, on every HTTP
 * path (the fast path and Express both run Apollo):
 *
 * - **Request errors** — the document does not parse or validate, a variable does not coerce, a limit
 *   (depth, aliases, complexity) refuses it, or another check refuses the operation before it runs: no
 *   `data`, and 400 with `application/graphql-response+json`, 200 with `application/json` (the legacy
 *   type, where the spec wants 200 for any well-formed HTTP request). Never Apollo's 500 for an error
 *   thrown in `didResolveOperation`.
 * - **Authentication** — when every error is `UNAUTHENTICATED` and nothing came back (`data` null, or
 *   every root field null), the whole request failed authentication: 401 with `WWW-Authenticate: Bearer`.
 *   (A bad token never gets this far: the context refuses it with 401 before anything runs.)
 *
 * Everything else keeps Apollo's status: 200 for results (also partial ones), 400 for a malformed HTTP
 * request, 405 for a mutation over GET.
 *
 * @example
 * new ApolloServer({ schema, plugins: [httpStatusPlugin()] });
 */
export function httpStatusPlugin(): ApolloServerPlugin<ApiContext> {
  const listener = { willSendResponse: (context: GraphQLRequestContextWillSendResponse<ApiContext>) => Promise.resolve(setStatus(context)) };
  return { requestDidStart: () => Promise.resolve(listener) };
}

function setStatus({ request, response, errors }: GraphQLRequestContextWillSendResponse<ApiContext>): void {
  if (response.body.kind !== 'single') return;
  const result = response.body.singleResult;
  if (!result.errors?.length) return;
  if (failedAuthentication(result.data, result.errors)) {
    response.http.status = 401;
    response.http.headers.set('www-authenticate', 'Bearer');
    return;
  }
  if (result.data !== undefined || !errors?.length || !errors.every(isRequestError)) return;
  const mediaType = responseMediaType(request.http?.headers.get('accept'));
  // Neither JSON type acceptable: Apollo answers 406.
  if (mediaType === undefined) return;
  response.http.status = mediaType === GRAPHQL_RESPONSE_JSON ? 400 : 200;
  // The status goes with the type: set both, so Apollo cannot pick another one.
  response.http.headers.set('content-type', `${mediaType}; charset=utf-8`);
}

/**
 * True when a response holds nothing but `UNAUTHENTICATED` errors: no data at all, or only null root
 * fields. A response with some data is a partial result, and stays 200.
 *
 * @example
 * failedAuthentication(null, [{ message: 'authentication required', extensions: { code: 'UNAUTHENTICATED' } }]); // true
 */
export function failedAuthentication(data: Record<string, unknown> | null | undefined, errors: readonly GraphQLFormattedError[]): boolean {
  if (errors.length === 0 || !errors.every((error) => error.extensions?.code === 'UNAUTHENTICATED')) return false;
  return data === null || data === undefined || Object.values(data).every((value) => value === null);
}

/** An error about the request (its document, variables or operation), raised before execution. */
function isRequestError(error: GraphQLError): boolean {
  if (error instanceof ApiError) return true;
  const code = error.extensions.code;
  return typeof code === 'string' && REQUEST_ERROR_CODES.has(code);
}

/**
 * The JSON media type a client's `Accept` header prefers: the highest quality wins, then the more
 * specific range, then the earlier one in the header, then `application/json` (no header at all:
 * `application/json`, as the spec says for legacy clients). `undefined` when neither is acceptable.
 *
 * @example
 * responseMediaType('application/graphql-response+json, application/json;q=0.9'); // 'application/graphql-response+json'
 * responseMediaType('*\/*'); // 'application/json'
 */
export function responseMediaType(accept: string | undefined): typeof APPLICATION_JSON | typeof GRAPHQL_RESPONSE_JSON | undefined {
  if (accept === undefined || accept.trim() === '') return APPLICATION_JSON;
  const ranges = accept.split(',').map((part, order) => {
    const [range = '', ...parameters] = part.split(';');
    const qualityParameter = parameters.map((parameter) => parameter.trim().toLowerCase()).find((parameter) => parameter.startsWith('q='));
    const quality = qualityParameter === undefined ? 1 : Number(qualityParameter.slice(2));
    return { range: range.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, order };
  });
  let best: { type: typeof APPLICATION_JSON | typeof GRAPHQL_RESPONSE_JSON; quality: number; specificity: number; order: number } | undefined;
  for (const type of [APPLICATION_JSON, GRAPHQL_RESPONSE_JSON] as const) {
    let match: { quality: number; specificity: number; order: number } | undefined;
    for (const { range, quality, order } of ranges) {
      const specificity = range === type ? 2 : range === 'application/*' ? 1 : range === '*/*' ? 0 : -1;
      if (specificity < 0) continue;
      // The most specific range that names the type decides its quality (RFC 9110, 12.5.1).
      if (!match || specificity > match.specificity || (specificity === match.specificity && order < match.order)) match = { quality, specificity, order };
    }
    if (!match || match.quality <= 0) continue;
    if (!best || match.quality > best.quality || (match.quality === best.quality && (match.specificity > best.specificity || (match.specificity === best.specificity && match.order < best.order)))) {
      best = { type, ...match };
    }
  }
  return best?.type;
}
