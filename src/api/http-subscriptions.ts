import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';
import type { ApiContext } from './api-context';

/** What a client is told when it sends a subscription over plain HTTP. */
export const SUBSCRIPTION_OVER_HTTP_MESSAGE = 'subscriptions need a WebSocket (graphql-ws) or an event stream (graphql-sse, Accept: text/event-stream)';

/**
 * Refuses a subscription sent over plain HTTP (POST or GET) once Apollo knows which operation runs,
 * before anything executes: graphql-js would otherwise run the subscription field's resolver without
 * the value its `subscribe` produces (a `TypeError` in the resolver, answered as an internal error).
 * A client error: 400, `BAD_REQUEST` (which the formatter reports as `BAD_USER_INPUT`). Only the
 * chosen operation counts, so a document that also holds a subscription may still run its query.
 *
 * @example
 * new ApolloServer({ schema, plugins: [refuseSubscriptionsOverHttp()] });
 */
export function refuseSubscriptionsOverHttp(): ApolloServerPlugin<ApiContext> {
  return {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation: ({ operation }) => {
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
            return Promise.reject(new GraphQLError(SUBSCRIPTION_OVER_HTTP_MESSAGE, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } }));
          }
          return Promise.resolve();
        },
      }),
  };
}
