import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { createHandler, TOKEN_HEADER_KEY, TOKEN_QUERY_KEY, type OperationResult, type Request as SseRequest } from 'graphql-sse';
import type { ApiContext, ApiServices, ApiUser } from './api-context';
import type { Authenticator } from './auth';
import { ApiError, LimitExceededError, UnauthenticatedError } from './errors';
import { checkComplexity, type ApiLimits } from './limits';
import type { ApiLogger } from './logger';
import { documentChecker } from './operation-documents';
import { notInSafelist, persistedQueryId, type Safelist } from './persisted-operations';
import { executeFormatted, subscribeShared } from './shared-execution';

/** setTimeout's longest delay (about 24.8 days): a later expiry is waited for in steps. */
const LONGEST_TIMER_MS = 2_147_483_647;

/** Single-connection reservations remembered at most (a reservation never connected is forgotten first). */
const RESERVATIONS = 10_000;

const JSON_TYPE = 'application/json; charset=utf-8';

/** What the SSE transport needs from the API around it (the same as the WebSocket transport's). */
export interface EventStreamOptions {
  readonly schema: GraphQLSchema;
  readonly limits: Required<ApiLimits>;
  readonly introspection: boolean;
  readonly logger: ApiLogger;
  readonly services: ApiServices;
  readonly authenticate: Authenticator;
  readonly format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly closing: () => boolean;
  readonly safelist?: Safelist;
}

/** The API's GraphQL over Server-Sent Events (graphql-sse), beside HTTP and WebSocket on the same path. */
export interface GraphQLEventStreams {
  /**
   * Whether a request to the GraphQL path speaks the SSE protocol: it accepts `text/event-stream`, is a
   * single-connection reservation (`PUT`) or stop (`DELETE`), or carries a stream token.
   */
  accepts(request: IncomingMessage): boolean;
  /** Answers such a request; `body` is its parsed JSON body (or undefined). */
  handle(request: IncomingMessage, response: ServerResponse, body: unknown): Promise<void>;
  /** Ends every open event stream (after shutdown has ended the live subscriptions). */
  goAway(): void;
}

/**
 * Whether an `Accept` header asks for an event stream first: `text/event-stream` has the highest `q` of
 * its media ranges (the earliest wins a tie). graphql-sse's client sends only `text/event-stream`; urql
 * and browsers list it among JSON types they prefer, and those requests are plain GraphQL over HTTP.
 * One pass over the header.
 *
 * @example
 * prefersEventStream('text/event-stream'); // true
 * prefersEventStream('application/graphql-response+json, application/json, text/event-stream'); // false
 */
export function prefersEventStream(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let best: string | undefined;
  let bestQ = -1;
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';');
    let q = 1;
    for (const parameter of parameters) {
      const [name, value] = parameter.split('=');
      if (name?.trim().toLowerCase() === 'q') q = Number(value?.trim() ?? '1');
    }
    if (Number.isFinite(q) && q > bestQ) {
      bestQ = q;
      best = type.trim().toLowerCase();
    }
  }
  return best === 'text/event-stream' && bestQ > 0;
}

// graphql-sse wants an index-signature-compatible record as the operation context.
type SseContext = ApiContext & Record<PropertyKey, unknown>;

interface StreamRequestContext {
  user: ApiUser | undefined;
  response: ServerResponse;
  token: string | undefined;
  /** Counted against the stream's operations (released on completion). */
  counted: boolean;
}

/**
 * Serves GraphQL over SSE with graphql-sse, in its distinct-connections mode (one `text/event-stream`
 * request per operation) and its single-connection mode (a `PUT` reserves a stream and returns its
 * token; operations are POSTed with the token and their results arrive on the one stream). Same
 * authentication (the `Authorization` header of every request), limits, document checks, shared
 * executions, change feed and error formatter as the WebSocket transport. A token's expiry ends its
 * operations with an `UNAUTHENTICATED` result (and a single-connection stream with its reserving
 * token), as a WebSocket is closed with 4403. A reserved stream belongs to the user who reserved it.
 */
export function createGraphQLEventStreams(options: EventStreamOptions): GraphQLEventStreams {
  const { schema, limits, logger, services, safelist } = options;
  const checkDocument = documentChecker(schema, limits, options.introspection);
  // Who reserved each single-connection stream, and its stream response once connected.
  const owners = new Map<string, string>();
  const streamResponses = new Map<string, ServerResponse>();
  const operationCounts = new Map<string, number>();
  const open = new Map<ServerResponse, AsyncGenerator<string, void, undefined>>();

  const asErrors = (errors: readonly GraphQLError[]): GraphQLError[] =>
    errors.map((error) => {
      const formatted = options.format(error.toJSON(), error);
      return new GraphQLError(formatted.message, { extensions: formatted.extensions ?? {} });
    });
  // graphql-sse recognises a result by its `data` key; request errors carry none in JSON.
  const failed = (errors: readonly GraphQLError[]): ExecutionResult => ({ data: undefined, errors: asErrors(errors) });

  const handler = createHandler<IncomingMessage, StreamRequestContext, SseContext>({
    schema,
    authenticate: async (request) => {
      let user: ApiUser | undefined;
      try {
        user = await options.authenticate(request.raw.headers.authorization);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return jsonResponse(401, 'Unauthorized', { errors: [options.format(error.toJSON(), error)] }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      request.context.user = user;
      const owner = user?.id ?? '';
      if (request.method === 'PUT') {
        // A token nobody can guess (graphql-sse's default uses Math.random).
        const token = randomUUID();
        if (owners.size >= RESERVATIONS) owners.delete(owners.keys().next().value!);
        owners.set(token, owner);
        return token;
      }
      const token = streamToken(request);
      if (token === undefined) return randomUUID();
      // Another user's stream is not found, as if it did not exist.
      if (owners.get(token) !== owner) return jsonResponse(404, 'Not Found', { errors: [{ message: 'Stream not found' }] });
      request.context.token = token;
      return token;
    },
    onConnect: (request) => {
      const token = request.context.token;
      if (token !== undefined) {
        // The single connection's stream: it lives no longer than the token that reserved it.
        streamResponses.set(token, request.context.response);
        request.context.response.once('close', () => {
          owners.delete(token);
          streamResponses.delete(token);
          operationCounts.delete(token);
        });
        const expiresAt = request.context.user?.expiresAt;
        if (expiresAt !== undefined) endAtExpiry(request.context.response, expiresAt, logger, request.context.user?.id);
      }
    },
    onSubscribe: (request, params) => {
      if (options.closing()) return failed([new ApiError('UNAVAILABLE', 'the server is shutting down')]);
      const { user, token } = request.context;
      if (user?.expiresAt !== undefined && Date.now() >= user.expiresAt) return failed([new UnauthenticatedError('the token has expired')]);
      let query = params.query;
      if (safelist) {
        const listed = safelist.has(query) ? query : undefined;
        if (listed === undefined) return failed([notInSafelist()]);
        query = listed;
      }
      if (token !== undefined) {
        const active = operationCounts.get(token) ?? 0;
        if (active >= limits.subscriptionsPerConnection) {
          return failed([
            new LimitExceededError('subscriptions', `more than ${limits.subscriptionsPerConnection} subscriptions on one connection`, {
              max: limits.subscriptionsPerConnection,
            }),
          ]);
        }
        operationCounts.set(token, active + 1);
        request.context.counted = true;
      }
      const checked = checkDocument(query);
      if ('errors' in checked) return failed(checked.errors);
      const variables = params.variables ?? undefined;
      try {
        checkComplexity(schema, checked.document, variables, params.operationName ?? undefined, limits.maxComplexity);
      } catch (error) {
        return failed([error as GraphQLError]);
      }
      const key = request.raw.headers['idempotency-key'];
      const idempotencyKey = Array.isArray(key) ? key[0] : key;
      const sink = (): ServerResponse | undefined => (token === undefined ? request.context.response : streamResponses.get(token));
      const contextValue: SseContext = {
        user,
        services,
        idempotencyKey: idempotencyKey || undefined,
        transport: 'sse',
        connection: {
          bufferedBytes: () => {
            const response = sink();
            return response ? response.writableLength + (response.socket?.writableLength ?? 0) : 0;
          },
          close: (code, reason) => {
            logger.warn({ user: user?.id }, `closing an event stream (${code}): ${reason}`);
            // Cut, not ended: ending would wait for the client to take what is buffered, which is the
            // memory a slow consumer must not hold (an SSE stream has no close code to send).
            sink()?.destroy();
          },
        },
      };
      const args: ExecutionArgs & { contextValue: SseContext } = {
        schema,
        document: checked.document,
        contextValue,
        variableValues: variables ?? null,
        operationName: params.operationName ?? null,
      };
      return args;
    },
    execute: (args) => executeFormatted(args, asErrors) as OperationResult,
    subscribe: async (args) => {
      const result = await subscribeShared(args, asErrors);
      const expiresAt = args.contextValue.user?.expiresAt;
      if (!isAsyncIterator(result) || expiresAt === undefined) return result as OperationResult;
      return untilExpiry(result, expiresAt, () => failed([new UnauthenticatedError('the token has expired')]));
    },
    onComplete: (_context, request) => {
      const token = request.context.token;
      if (!request.context.counted || token === undefined) return;
      request.context.counted = false;
      const active = (operationCounts.get(token) ?? 1) - 1;
      if (active > 0) operationCounts.set(token, active);
      else operationCounts.delete(token);
    },
  });

  return {
    accepts: (request) =>
      request.method === 'PUT' ||
      request.method === 'DELETE' ||
      request.headers[TOKEN_HEADER_KEY] !== undefined ||
      prefersEventStream(request.headers.accept),
    handle: async (request, response, body) => {
      const accept = request.headers.accept ?? '*/*';
      const sseRequest: SseRequest<IncomingMessage, StreamRequestContext> = {
        method: request.method ?? 'GET',
        url: request.method === 'GET' ? withListedQueryInUrl(safelist, request.url ?? '/') : (request.url ?? '/'),
        headers: {
          // graphql-sse compares the accept header whole; a browser's EventSource may add parameters.
          get: (name) => (name === 'accept' ? (accept.includes('text/event-stream') ? 'text/event-stream' : accept) : headerValue(request, name)),
        },
        body: withListedQuery(safelist, body),
        raw: request,
        context: { user: undefined, response, token: undefined, counted: false },
      };
      const [responseBody, init] = await handler(sseRequest);
      response.writeHead(init.status, init.statusText, init.headers);
      if (!responseBody || typeof responseBody === 'string') {
        response.end(responseBody ?? undefined);
        return;
      }
      open.set(response, responseBody);
      const stop = (): void => void responseBody.return(undefined);
      response.once('close', stop);
      try {
        // Written at once, never awaited: what the client has not taken shows in the socket's buffer,
        // which the live queries measure against `socketBufferBytes` (as on a WebSocket).
        for await (const chunk of responseBody) {
          if (!response.writable) break;
          response.write(chunk);
        }
      } finally {
        response.off('close', stop);
        open.delete(response);
        response.end();
      }
    },
    goAway: () => {
      for (const [response, stream] of open) {
        void stream.return(undefined);
        response.end();
      }
    },
  };
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function streamToken(request: SseRequest<IncomingMessage, StreamRequestContext>): string | undefined {
  const header = request.headers.get(TOKEN_HEADER_KEY);
  if (header) return header;
  return new URL(request.url, 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY) ?? undefined;
}

function jsonResponse(status: number, statusText: string, body: unknown, headers: Record<string, string> = {}): [string, { status: number; statusText: string; headers: Record<string, string> }] {
  return [JSON.stringify(body), { status, statusText, headers: { 'content-type': JSON_TYPE, ...headers } }];
}

/**
 * With a safelist, a request may name a listed operation by its id alone
 * (`extensions.persistedQuery.sha256Hash`): its document is filled in for graphql-sse, which needs one.
 */
function withListedQuery(safelist: Safelist | undefined, body: unknown): Record<string, unknown> | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const record = body as Record<string, unknown>;
  if (!safelist || (typeof record.query === 'string' && record.query !== '')) return record;
  const listed = safelist.byId(persistedQueryId(record.extensions) ?? '');
  return listed === undefined ? record : { ...record, query: listed };
}

/** The same for an event stream opened with GET (EventSource): the query string carries the request. */
function withListedQueryInUrl(safelist: Safelist | undefined, url: string): string {
  if (!safelist) return url;
  const parsed = new URL(url, 'http://localhost/');
  if (parsed.searchParams.get('query')) return url;
  let extensions: unknown;
  try {
    extensions = JSON.parse(parsed.searchParams.get('extensions') ?? 'null');
  } catch {
    return url; // graphql-sse answers the unparsable URL itself
  }
  const listed = safelist.byId(persistedQueryId(extensions) ?? '');
  if (listed === undefined) return url;
  parsed.searchParams.set('query', listed);
  return `${parsed.pathname}${parsed.search}`;
}

function isAsyncIterator(value: unknown): value is AsyncGenerator<ExecutionResult, void, void> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Ends a single-connection stream when the token that reserved it expires. */
function endAtExpiry(response: ServerResponse, expiresAt: number, logger: ApiLogger, userId: string | undefined): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const remaining = expiresAt - Date.now();
    if (remaining <= 0) {
      logger.info({ user: userId }, 'closing an event stream: its token has expired');
      response.end();
      return;
    }
    timer = setTimeout(arm, Math.min(remaining, LONGEST_TIMER_MS));
    timer.unref();
  };
  arm();
  response.once('close', () => clearTimeout(timer));
}

/**
 * An operation's results until its token expires; then one `UNAUTHENTICATED` result, and the end (the
 * source is returned, so its live query stops). `return` acts at once, even while a result is awaited.
 * No promise outlives its `next` call (a long-lived subscription must not pile up reactions).
 */
function untilExpiry(
  source: AsyncGenerator<ExecutionResult, void, void>,
  expiresAt: number,
  expired: () => ExecutionResult,
): AsyncGenerator<ExecutionResult, void, void> {
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  let hasExpired = false;
  // The pending `next` call's way out, at expiry (an UNAUTHENTICATED result) or on `return` (done).
  let interrupt: ((how: 'expired' | 'returned') => void) | undefined;
  const stop = async (): Promise<void> => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    await source.return();
  };
  const arm = (): void => {
    const remaining = expiresAt - Date.now();
    if (remaining > 0) {
      timer = setTimeout(arm, Math.min(remaining, LONGEST_TIMER_MS));
      timer.unref();
      return;
    }
    hasExpired = true;
    interrupt?.('expired');
  };
  arm();
  const iterator: AsyncGenerator<ExecutionResult, void, void> = {
    next() {
      if (done) return Promise.resolve({ done: true, value: undefined });
      if (hasExpired) return stop().then(() => ({ done: false, value: expired() }));
      return new Promise<IteratorResult<ExecutionResult, void>>((resolve, reject) => {
        interrupt = (how) => {
          interrupt = undefined;
          stop().then(() => resolve(how === 'expired' ? { done: false, value: expired() } : { done: true, value: undefined }), reject);
        };
        source.next().then(
          (next) => {
            if (!interrupt) return; // expired or returned meanwhile: answered already
            interrupt = undefined;
            if (next.done) stop().then(() => resolve(next), reject);
            else resolve(next);
          },
          (error: unknown) => {
            interrupt = undefined;
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
    async return() {
      if (interrupt) interrupt('returned');
      await stop();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      if (interrupt) interrupt('returned');
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async [Symbol.asyncDispose]() {
      await iterator.return();
    },
  };
  return iterator;
}
