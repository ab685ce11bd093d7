import type { IncomingMessage } from 'node:http';
import { ApolloServer, HeaderMap, type ApolloServerOptions, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { ApiContext, ApiServices, ApiUser } from './api-context';
import type { Authenticator } from './auth';
import { ApiError } from './errors';
import { httpStatusPlugin } from './http-status';
import { checkComplexity, limitRules, type ApiLimits } from './limits';
import { refuseSubscriptionsOverHttp } from './http-subscriptions';
import type { ApiLogger } from './logger';
import { tracingPlugin } from './tracing-plugin';

/** What Apollo (the HTTP transport's GraphQL engine) is configured from. */
export interface ApolloOptions {
  readonly schema: GraphQLSchema;
  readonly introspection: boolean;
  readonly limits: Required<ApiLimits>;
  readonly format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly logger: ApiLogger;
  /** Apollo's `persistedQueries`: APQ with its own cache, a safelist's cache, or off. */
  readonly persistedQueries?: ApolloServerOptions<ApiContext>['persistedQueries'];
}

/** Apollo Server with the API's limits, error formatter and logger; the shutdown is the API's own. */
export function createApolloServer(options: ApolloOptions): ApolloServer<ApiContext> {
  const { schema, limits, logger } = options;
  const complexityPlugin: ApolloServerPlugin<ApiContext> = {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation: ({ document, request }) => {
          // Apollo's execution coerces the variables next and answers a bad one with BAD_USER_INPUT (400).
          checkComplexity(schema, document, request.variables, request.operationName ?? undefined, limits.maxComplexity, true);
          return Promise.resolve();
        },
      }),
  };
  return new ApolloServer<ApiContext>({
    schema,
    introspection: options.introspection,
    // "Did you mean …?" names schema fields: hidden with introspection (the API's formatter strips the
    // suggestions that Apollo's plugin does not reach, and the WebSocket path's, too).
    hideSchemaDetailsFromClientErrors: !options.introspection,
    includeStacktraceInErrorResponses: false,
    // `close()` is the graceful shutdown; Apollo's own SIGINT/SIGTERM handlers would stop the server
    // and re-send the signal to the process in the middle of the app's own shutdown.
    stopOnTerminationSignals: false,
    // CSRF is refused by the HTTP layer instead (see `graphQLRouter`): a POST must be application/json,
    // which no cross-site form can send without a CORS preflight, and GET runs queries only (Apollo
    // answers 405 to a mutation over GET), so stock clients that send queries as GET (urql) work
    // without Apollo's preflight headers.
    csrfPrevention: false,
    validationRules: [...limitRules(limits), ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule])],
    formatError: options.format,
    ...(options.persistedQueries !== undefined ? { persistedQueries: options.persistedQueries } : {}),
    // Cache control is on by default and wraps every field resolver of the schema (the WebSocket
    // path's too) to collect cache hints nobody here sets: about 3% of a mutation's CPU.
    plugins: [tracingPlugin(), refuseSubscriptionsOverHttp(), complexityPlugin, httpStatusPlugin(), ApolloServerPluginCacheControlDisabled()],
    logger: {
      debug: () => undefined,
      info: (message: string) => logger.info(message),
      warn: (message: string) => logger.warn(message),
      error: (message: string) => logger.error(message),
    },
  });
}

/**
 * The context of one GraphQL request over HTTP: the user from the `Authorization` header and the
 * `Idempotency-Key` header as the command id. A bad, expired or malformed token fails the whole request
 * before anything runs: 401, `UNAUTHENTICATED`, and `WWW-Authenticate: Bearer error="invalid_token"`
 * (RFC 6750).
 */
export function httpContext(authenticate: Authenticator, services: ApiServices): (request: IncomingMessage) => Promise<ApiContext> {
  return async (request) => {
    let user: ApiUser | undefined;
    try {
      user = await authenticate(request.headers.authorization);
    } catch (error) {
      if (error instanceof ApiError) {
        const challenge = `Bearer error="invalid_token", error_description="${error.message.replace(/[^\x20-\x7e]|["\\]/g, "'")}"`;
        throw new GraphQLError(error.message, { extensions: { code: error.code, http: { status: 401, headers: new HeaderMap([['www-authenticate', challenge]]) } } });
      }
      throw error;
    }
    const key = request.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(key) ? key[0] : key;
    return { user, services, idempotencyKey: idempotencyKey || undefined, transport: 'http', connection: undefined };
  };
}
