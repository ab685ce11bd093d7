import type { IncomingMessage } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type IRouter, type RequestHandler, type Router } from 'express';
import type { ApiContext } from './api-context';
import { bodyTooLargeBody, internalErrorBody, malformedBodyBody, shuttingDownBody, unsupportedMediaTypeBody } from './http-error-bodies';
import type { ApiLogger } from './logger';
import type { Readiness } from './readiness';
import { listedRequest, notInSafelistBody, type Safelist } from './persisted-operations';
import type { InFlightRequests } from './shutdown';
import type { GraphQLEventStreams } from './sse-server';

/** What the Express routes need from the API around them. */
export interface ExpressRouteOptions {
  readonly bodyLimit: string | number;
  readonly apollo: ApolloServer<ApiContext>;
  readonly context: (request: IncomingMessage) => Promise<ApiContext>;
  readonly requests: InFlightRequests;
  readonly logger: ApiLogger;
  /** Only these operations may run (checked before Apollo parses the document). */
  readonly safelist?: Safelist;
  /** GraphQL over SSE: requests of its protocol go to it instead of Apollo. */
  readonly eventStreams?: GraphQLEventStreams;
}

/** `/healthz` (the process answers) and `/readyz` (it can serve: see {@link Readiness}). */
export function addHealthRoutes(app: IRouter, requests: InFlightRequests, readiness: () => Promise<Readiness>): void {
  app.get('/healthz', tracked(requests, (_request, response) => {
    response.status(200).json({ status: 'ok' });
  }));
  app.get('/readyz', tracked(requests, async (_request, response) => {
    const result = await readiness();
    response.status(result.ready ? 200 : 503).json(result);
  }));
}

/**
 * GraphQL over HTTP through Express (every request under `mount`; under `listen`, whatever the fast
 * path leaves): body-parser with the body limit, then Apollo; body errors get the API's error bodies.
 *
 * This is the API's CSRF protection: a POST must be `application/json` (else 415, before the body is
 * read), which a cross-site page cannot send without a CORS preflight that the API never grants. The
 * "simple requests" a page can send — forms and `text/plain` — never reach GraphQL. A GET runs queries
 * only (Apollo answers 405 to any other operation), and a query has no side effects. Requests of the
 * SSE protocol (`Accept: text/event-stream`, a stream token, `PUT`/`DELETE`) go to graphql-sse after
 * the same checks; with a safelist, an unlisted document is refused before anything parses it.
 */
export function graphQLRouter(options: ExpressRouteOptions): Router {
  const router = express.Router();
  const middleware = expressMiddleware(options.apollo, { context: ({ req }) => options.context(req) });
  router.use(tracked(options.requests, (request, response, next) => {
    if (request.method === 'POST' && !isJson(request.headers['content-type'])) {
      response.status(415).json(unsupportedMediaTypeBody());
      return;
    }
    express.json({ limit: options.bodyLimit })(request, response, (error?: unknown) => {
      if (error) {
        next(error);
        return;
      }
      // The SSE transport checks the safelist itself and streams its refusal, as GraphQL over SSE should.
      if (options.eventStreams?.accepts(request)) {
        options.eventStreams.handle(request, response, request.body).catch(next);
        return;
      }
      const body: unknown = request.method === 'GET' ? request.query : request.body;
      if (options.safelist && !listedRequest(options.safelist, body)) {
        response.status(400).json(notInSafelistBody());
        return;
      }
      void middleware(request, response, next);
    });
  }));
  const bodyErrors: ErrorRequestHandler = (error: unknown, _request, response, next) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const type = (error as { type?: unknown }).type;
    const status = (error as { status?: unknown }).status;
    if (type === 'entity.too.large') {
      response.status(413).json(bodyTooLargeBody(options.bodyLimit));
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      response.status(status).json(malformedBodyBody());
      return;
    }
    options.logger.error({ error: error instanceof Error ? error.stack : String(error) }, 'unexpected HTTP error');
    response.status(500).json(internalErrorBody());
  };
  router.use(bodyErrors);
  return router;
}

/** `application/json`, with or without parameters (`charset`), in any letter case. */
function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/** Counts a handler as in flight, so that shutdown waits for it; refuses new work while closing. */
function tracked(requests: InFlightRequests, handler: RequestHandler): RequestHandler {
  return (request, response, next) => {
    if (requests.closing) {
      response.status(503).set('Connection', 'close').json(shuttingDownBody());
      return;
    }
    requests.track(response);
    Promise.resolve(handler(request, response, next)).catch(next);
  };
}
