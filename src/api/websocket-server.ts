import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiContext, ApiServices } from './api-context';
import type { Authenticator } from './auth';
import { ApiError, LimitExceededError, UnauthenticatedError } from './errors';
import { bodyLimitBytes } from './http-error-bodies';
import { checkComplexity, type ApiLimits } from './limits';
import type { ApiLogger } from './logger';
import { documentChecker } from './operation-documents';
import { notInSafelist, persistedQueryId, type Safelist } from './persisted-operations';
import { serveGraphQLWs } from './graphql-ws-transport';
import { executeFormatted, subscribeShared } from './shared-execution';

/**
 * The WebSocket close code on shutdown (1001, "going away"): a client can tell a restart from an error
 * and reconnect.
 *
 * @example
 * createClient({ url, on: { closed: (event) => { if ((event as CloseEvent).code === GOING_AWAY_CLOSE_CODE) scheduleReconnect(); } } });
 */
export const GOING_AWAY_CLOSE_CODE = 1001;

/** setTimeout's longest delay (about 24.8 days): a later expiry is waited for in steps. */
const LONGEST_TIMER_MS = 2_147_483_647;

/** The close reason at a token's expiry (also what a reconnect with the same token is told). */
const EXPIRED_REASON = 'UNAUTHENTICATED: the token has expired';

/** What the WebSocket transport needs from the API around it. */
export interface WebSocketOptions {
  readonly schema: GraphQLSchema;
  readonly path: string;
  readonly limits: Required<ApiLimits>;
  readonly introspection: boolean;
  readonly keepAliveMs: number;
  readonly logger: ApiLogger;
  readonly services: ApiServices;
  readonly authenticate: Authenticator;
  readonly format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** On its own server the API answers every upgrade; mounted in a host's, it leaves other paths alone. */
  readonly ownsServer: () => boolean;
  readonly closing: () => boolean;
  /** Only these operations may run (checked before parsing). */
  readonly safelist?: Safelist;
}

/** The API's graphql-ws server on an HTTP server's `upgrade` events. */
export interface GraphQLWebSockets {
  /** Takes no more upgrades and closes every socket with {@link GOING_AWAY_CLOSE_CODE} and a reason. */
  goAway(): void;
  /** Cuts the sockets that are still open and closes the WebSocket server. */
  close(): Promise<void>;
}

/**
 * Serves GraphQL over WebSocket (graphql-ws) at `path` on `server`: authenticates on `connection_init`,
 * closes the connection with 4403 when its token expires, applies the same validation, depth, alias
 * and complexity limits as HTTP, caps subscriptions per connection and formats every error with the
 * API's one formatter.
 */
export function attachGraphQLWebSockets(server: Server, options: WebSocketOptions): GraphQLWebSockets {
  const { limits, path, logger, schema, introspection, services } = options;
  const webSockets = new WebSocketServer({ noServer: true, maxPayload: bodyLimitBytes(limits.bodyLimit) });
  const sockets = new Set<WebSocket>();
  const upgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path) {
      // A host app may serve other WebSocket paths on the same server; ours only answers `path`.
      if (options.ownsServer()) socket.destroy();
      return;
    }
    if (options.closing()) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    webSockets.handleUpgrade(request, socket, head, (webSocket) => webSockets.emit('connection', webSocket, request));
  };
  server.on('upgrade', upgradeListener);
  webSockets.on('connection', (socket: WebSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Parsed and validated once per query text, as Apollo does over HTTP (clients resend the same few).
  const checkDocument = documentChecker(schema, limits, introspection);
  const asErrors = (errors: readonly GraphQLError[]): GraphQLError[] =>
    errors.map((error) => {
      const formatted = options.format(error.toJSON(), error);
      return new GraphQLError(formatted.message, { extensions: formatted.extensions ?? {} });
    });
  serveGraphQLWs(
    {
      schema,
      // Subscribers of the same value share one execution (and result object) per change; errors
      // in results are formatted there, once per execution (no per-message onNext hook).
      subscribe: (args) => subscribeShared(args, asErrors),
      execute: (args) => executeFormatted(args, asErrors),
      connectionInitWaitTimeout: 5_000,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        try {
          const user = await options.authenticate(typeof authorization === 'string' ? authorization : undefined);
          ctx.extra.user = user;
          if (user?.expiresAt !== undefined) closeAtExpiry(ctx.extra.socket, user.expiresAt, logger, user.id);
          return true;
        } catch (error) {
          const reason = error instanceof UnauthenticatedError ? `UNAUTHENTICATED: ${error.message}` : 'UNAUTHENTICATED';
          ctx.extra.socket.close(CloseCode.Forbidden, reason.slice(0, 120));
          return false;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        if (options.closing()) return asErrors([new ApiError('UNAVAILABLE', 'the server is shutting down')]);
        const expiresAt = ctx.extra.user?.expiresAt;
        if (expiresAt !== undefined && Date.now() >= expiresAt) {
          // The expiry timer has not run yet (a busy event loop): nothing runs on an expired token.
          expire(ctx.extra.socket, logger, ctx.extra.user?.id);
          return asErrors([new UnauthenticatedError('the token has expired')]);
        }
        // graphql-ws has already reserved this operation's id; count the others.
        const active = Object.keys(ctx.subscriptions).filter((other) => other !== id).length;
        if (active >= limits.subscriptionsPerConnection) {
          return asErrors([
            new LimitExceededError('subscriptions', `more than ${limits.subscriptionsPerConnection} subscriptions on one connection`, {
              max: limits.subscriptionsPerConnection,
            }),
          ]);
        }
        let query = payload.query;
        if (options.safelist) {
          // A listed document, or (with an empty query) a listed id; refused before any parsing.
          const listed = query === '' ? options.safelist.byId(persistedQueryId(payload.extensions) ?? '') : options.safelist.has(query) ? query : undefined;
          if (listed === undefined) return asErrors([notInSafelist()]);
          query = listed;
        }
        const checked = checkDocument(query);
        if ('errors' in checked) return asErrors(checked.errors);
        const document = checked.document;
        try {
          checkComplexity(schema, document, payload.variables ?? undefined, payload.operationName ?? undefined, limits.maxComplexity);
        } catch (error) {
          return asErrors([error as GraphQLError]);
        }
        const socket = ctx.extra.socket;
        const contextValue: ApiContext = {
          user: ctx.extra.user,
          services,
          idempotencyKey: undefined,
          transport: 'ws',
          connection: {
            bufferedBytes: () => socket.bufferedAmount,
            close: (code, reason) => {
              logger.warn({ user: ctx.extra.user?.id }, `closing a WebSocket connection (${code}): ${reason}`);
              socket.close(code, reason);
            },
          },
        };
        const args: ExecutionArgs = {
          schema,
          document,
          contextValue,
          variableValues: payload.variables ?? null,
          operationName: payload.operationName ?? null,
        };
        return args;
      },
      onError: (_ctx, _id, _payload, errors) => asErrors(errors),
    },
    webSockets,
    options.keepAliveMs,
    logger,
  );
  logger.info(`GraphQL subscriptions over WebSocket at ${path}`);
  return {
    goAway: () => {
      server.off('upgrade', upgradeListener);
      for (const socket of sockets) socket.close(GOING_AWAY_CLOSE_CODE, 'server shutting down');
    },
    close: async () => {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => webSockets.close(() => resolve()));
    },
  };
}

/**
 * A connection lives no longer than its token: at `expiresAt` (the token's `exp` plus the clock
 * tolerance) the socket is closed with 4403 (graphql-ws's Forbidden), which ends its subscriptions;
 * the client reconnects with a fresh token. The timer goes with the socket.
 */
function closeAtExpiry(socket: WebSocket, expiresAt: number, logger: ApiLogger, userId: string): void {
  if (socket.readyState !== socket.OPEN) return;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const remaining = expiresAt - Date.now();
    if (remaining <= 0) {
      expire(socket, logger, userId);
      return;
    }
    timer = setTimeout(arm, Math.min(remaining, LONGEST_TIMER_MS));
    // An open socket keeps the process alive anyway; the timer must not hold up a shutdown.
    timer.unref();
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

function expire(socket: WebSocket, logger: ApiLogger, userId: string | undefined): void {
  if (socket.readyState !== socket.OPEN) return;
  logger.info({ user: userId }, 'closing a WebSocket connection: its token has expired');
  socket.close(CloseCode.Forbidden, EXPIRED_REASON);
}
