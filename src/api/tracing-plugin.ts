import type { ApolloServerPlugin } from '@apollo/server';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { tracer } from '../internal/telemetry';
import { continuedContext, TRACEPARENT_KEY } from '../internal/trace-context';
import type { ApiContext } from './api-context';

/** The operation span of each request, by its context object (Apollo hands resolvers the same object). */
const operations = new WeakMap<object, Context>();

/**
 * One server span per GraphQL operation over HTTP (`mutation placeOrder`), with the semantic
 * conventions' `graphql.operation.*` attributes. It continues a `traceparent` header when the caller
 * sends one. Resolvers run their commands in it through {@link inOperation}.
 */
export function tracingPlugin(): ApolloServerPlugin<ApiContext> {
  return {
    requestDidStart: ({ request, contextValue }) => {
      const parent = continuedContext(request.http?.headers.get(TRACEPARENT_KEY));
      const span = tracer.startSpan('graphql', { kind: SpanKind.SERVER }, parent);
      operations.set(contextValue, trace.setSpan(parent, span));
      return Promise.resolve({
        didResolveOperation: ({ operation, operationName }) => {
          if (!operation) return Promise.resolve();
          span.updateName(operationName ? `${operation.operation} ${operationName}` : operation.operation);
          if (span.isRecording()) {
            span.setAttribute('graphql.operation.type', operation.operation);
            if (operationName) span.setAttribute('graphql.operation.name', operationName);
          }
          return Promise.resolve();
        },
        didEncounterErrors: ({ errors }) => {
          if (span.isRecording()) {
            const code = errors[0]?.extensions?.code;
            span.setAttribute('error.type', typeof code === 'string' ? code : 'GraphQLError');
            span.setStatus({ code: SpanStatusCode.ERROR, message: errors[0]?.message ?? 'error' });
          }
          return Promise.resolve();
        },
        willSendResponse: () => {
          span.end();
          return Promise.resolve();
        },
      });
    },
  };
}

/**
 * Runs `work` inside the request's operation span (the active context when the request has none, e.g.
 * over WebSocket), so that a command it handles is a child of the GraphQL operation.
 *
 * @example
 * const receipt = await inOperation(context, () => handleCommand(services.commands, order, request));
 */
export function inOperation<T>(apiContext: ApiContext, work: () => Promise<T>): Promise<T> {
  const operation = operations.get(apiContext);
  return operation ? otelContext.with(operation, work) : work();
}
