import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type IRouter, type RequestHandler, type Router } from 'express';
import type { HttpApp } from './http-app';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Container } from 'inversify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CommandEnvironment } from '../commands/handle-command';
import type { EventStore } from '../event-store/event-store';
import type { AnyProjection } from '../projections/projection';
import { ProjectionEngine, type ProjectionEngineOptions } from '../projections/projection-engine';
import { ProjectionWatcher } from '../projections/projection-watcher';
import type { ReadModelStore } from '../projections/read-model-store';
import type { ApiContext, ApiServices, ApiUser, ProjectionTracker } from './api-context';
import type { AuditableAggregate } from './audit/audit-aggregate';
import { createAuthenticator, type AuthOptions, type Authenticator } from './auth';
import type { ClassType } from './class-type';
import type { CommandAuthorizer } from './command-mutation';
import { composeApi } from './container';
import { ApiError, formatApiError, LimitExceededError, UnauthenticatedError } from './errors';
import { checkComplexity, limitRules, resolveLimits, type ApiLimits } from './limits';
import { consoleLogger, type ApiLogger } from './logger';
import { executeFormatted, subscribeShared } from './shared-execution';
import type { ReactorAdmin } from './reactor-admin';

/**
 * Everything an API process is made of. Only `eventStore`, `readModels`, `resolvers` and `auth` are
 * required.
 *
 * @example
 * const api = await createApi({
 *   eventStore, readModels, projections: [orderSummary], aggregates: [order],
 *   resolvers: [placeOrder, orderQuery, orderChanged],
 *   auth: { mode: 'jwt', secret: process.env.JWT_SECRET! },
 * });
 * const { url } = await api.listen({ port: 4000 });
 */
export interface ApiOptions {
  readonly eventStore: EventStore;
  readonly readModels: ReadModelStore;
  /** The projections queries and subscriptions read (and `waitFor` names). */
  readonly projections?: readonly AnyProjection[];
  /**
   * Run the projections in this process (default) or only follow them (`false`: another process runs
   * them; read-your-writes and subscriptions use the store's notifications).
   */
  readonly runProjections?: boolean;
  /** Batch size and retry policy of the projection engine this API runs. */
  readonly projectionEngine?: Omit<ProjectionEngineOptions, 'eventStore' | 'readModels' | 'projections'>;
  /**
   * Where subscriptions hear about committed changes: `local` (this process's engine, immediate) or
   * `store` (every process's commits, through PostgreSQL LISTEN/NOTIFY or SQLite polling). Default:
   * `store` for PostgreSQL read models or when this process does not run the projections, else `local`.
   */
  readonly changeFeed?: 'local' | 'store';
  /** Aggregates the audit API can fold and decode. */
  readonly aggregates?: readonly AuditableAggregate[];
  /** type-graphql resolver classes: made by `commandMutation`, `documentQuery`, … or written by hand. */
  readonly resolvers: readonly ClassType[];
  /** Snapshots, state cache, clock, retries for commands. */
  readonly commands?: Omit<CommandEnvironment, 'store'>;
  readonly auth: AuthOptions;
  /** Runs before every command mutation; return false or throw `ForbiddenError` to refuse. */
  readonly authorizeCommand?: CommandAuthorizer;
  /** Roles allowed to use the audit API. Default `['admin', 'auditor']`. */
  readonly auditRoles?: readonly string[];
  /** The reactors runtime, for the admin API. */
  readonly reactors?: ReactorAdmin;
  readonly limits?: ApiLimits;
  /** Schema introspection; default on in development mode, off otherwise. */
  readonly introspection?: boolean;
  /** Stack traces and causes in errors. Default: `NODE_ENV === 'development'`. */
  readonly development?: boolean;
  /** Where GraphQL answers, over HTTP and WebSocket. Default `/graphql`. */
  readonly path?: string;
  /** Default timeout of a mutation's `waitFor`, in ms. Default 5,000. */
  readonly waitTimeoutMs?: number;
  readonly logger?: ApiLogger;
  /** An app's inversify container whose bindings resolvers may inject (the API's becomes its child). */
  readonly container?: Container;
  /** WebSocket keep-alive ping interval; default 12,000 ms. */
  readonly keepAliveMs?: number;
}

/** What `/readyz` reports. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: { readonly store: string; readonly projections: string; readonly server: string };
}

/** A running API on its own HTTP server. */
export interface ListeningApi {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
}

/**
 * A built API: its schema and composition root, ready to listen on its own server or to be mounted
 * into an existing Express app. Building starts nothing; `listen`/`mount` start the projections (or
 * the watcher), and `close` shuts down gracefully.
 */
export interface Api {
  readonly schema: GraphQLSchema;
  readonly container: Container;
  readonly services: ApiServices;
  /** The engine when this process runs the projections. */
  readonly engine: ProjectionEngine | undefined;
  /**
   * Starts the projections and serves GraphQL (HTTP and WebSocket on the same port), `/healthz` and
   * `/readyz` on its own HTTP server. Port 0 picks a free one.
   */
  listen(options?: { readonly port?: number; readonly host?: string }): Promise<ListeningApi>;
  /**
   * Starts the projections and mounts GraphQL (HTTP at `path`, WebSocket upgrades of `path`) and,
   * unless `health: false`, `/healthz` and `/readyz` into an existing Express app and its HTTP
   * server. The host keeps its server; `close` removes what the API added.
   */
  mount(app: HttpApp, server: Server, options?: { readonly health?: boolean }): Promise<void>;
  readiness(): Promise<Readiness>;
  /**
   * Graceful shutdown: stops taking requests (503, readiness fails), ends live subscriptions and closes
   * WebSockets with code 1001 and a reason, drains HTTP requests in flight (up to `timeoutMs`, default
   * 10 s, then cuts them), then stops the projections so their checkpoints are flushed.
   */
  close(options?: { readonly timeoutMs?: number }): Promise<void>;
}

/** Parsed and validated WebSocket documents kept per API. */
const DOCUMENT_CACHE_SIZE = 1_000;

/** WebSocket close code on shutdown. */
export const GOING_AWAY_CLOSE_CODE = 1001;

/**
 * Builds the API: services, the inversify composition root, the schema. Starts nothing.
 *
 * @example
 * const api = await createApi({ eventStore, readModels, projections, aggregates, resolvers, auth: { mode: 'off' } });
 * await api.listen({ port: 4000, host: '127.0.0.1' });
 * process.on('SIGTERM', () => void api.close());
 */
export async function createApi(options: ApiOptions): Promise<Api> {
  const logger = options.logger ?? consoleLogger;
  const development = options.development ?? process.env.NODE_ENV === 'development';
  const limits = resolveLimits(options.limits);
  const projections = options.projections ?? [];
  const path = options.path ?? '/graphql';
  if (!path.startsWith('/')) throw new TypeError(`path must start with "/", got ${JSON.stringify(path)}`);
  const authenticate = createAuthenticator(options.auth);
  const runProjections = options.runProjections ?? true;
  const engine =
    runProjections && projections.length > 0
      ? new ProjectionEngine({ ...options.projectionEngine, eventStore: options.eventStore, readModels: options.readModels, projections })
      : undefined;
  const changeFeed = options.changeFeed ?? (options.readModels.dialect === 'postgres' || !engine ? 'store' : 'local');
  const watcher =
    changeFeed === 'store' ? new ProjectionWatcher({ eventStore: options.eventStore, readModels: options.readModels, projections }) : undefined;
  const tracker: ProjectionTracker = watcher ?? {
    changes: engine!.changes,
    waitForPosition: (name, position, wait) => engine!.waitForPosition(name, position, wait),
  };
  const shutdown = new AbortController();
  // Every live subscription listens for shutdown.
  setMaxListeners(0, shutdown.signal);
  const services: ApiServices = {
    eventStore: options.eventStore,
    readModels: options.readModels,
    commands: { ...options.commands, store: options.eventStore },
    projections: tracker,
    projectionDefinitions: projections,
    engine,
    reactors: options.reactors,
    aggregates: options.aggregates ?? [],
    limits,
    authorizeCommand: options.authorizeCommand,
    auditRoles: options.auditRoles ?? ['admin', 'auditor'],
    waitTimeoutMs: options.waitTimeoutMs ?? 5_000,
    development,
    shutdown: shutdown.signal,
  };
  const { container, schema } = await composeApi(services, options.resolvers, options.container ? { parent: options.container } : {});
  const introspection = options.introspection ?? development;
  const format = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = formatApiError(formatted, error, { development });
    if (result.extensions?.code === 'INTERNAL_SERVER_ERROR') {
      logger.error('unexpected error in a GraphQL operation', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    return result;
  };
  return new RunningApi(options, { logger, development, limits, path, authenticate, engine, watcher, shutdown, services, container, schema, introspection, format });
}

interface Parts {
  readonly logger: ApiLogger;
  readonly development: boolean;
  readonly limits: Required<ApiLimits>;
  readonly path: string;
  readonly authenticate: Authenticator;
  readonly engine: ProjectionEngine | undefined;
  readonly watcher: ProjectionWatcher | undefined;
  readonly shutdown: AbortController;
  readonly services: ApiServices;
  readonly container: Container;
  readonly schema: GraphQLSchema;
  readonly introspection: boolean;
  readonly format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

// A type alias (not an interface): graphql-ws wants an index-signature-compatible record.
type WsExtra = { user?: ApiUser };

class RunningApi implements Api {
  readonly schema: GraphQLSchema;
  readonly container: Container;
  readonly services: ApiServices;
  readonly engine: ProjectionEngine | undefined;
  private readonly apollo: ApolloServer<ApiContext>;
  private readonly sockets = new Set<WebSocket>();
  private readonly inFlight = new Set<Promise<void>>();
  private webSockets: WebSocketServer | undefined;
  private server: Server | undefined;
  private ownsServer = false;
  private upgradeListener: ((request: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  private started = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: ApiOptions,
    private readonly parts: Parts,
  ) {
    this.schema = parts.schema;
    this.container = parts.container;
    this.services = parts.services;
    this.engine = parts.engine;
    const complexityPlugin: ApolloServerPlugin<ApiContext> = {
      requestDidStart: () =>
        Promise.resolve({
          didResolveOperation: ({ document, request }) => {
            checkComplexity(parts.schema, document, request.variables, request.operationName ?? undefined, parts.limits.maxComplexity);
            return Promise.resolve();
          },
        }),
    };
    this.apollo = new ApolloServer<ApiContext>({
      schema: parts.schema,
      introspection: parts.introspection,
      includeStacktraceInErrorResponses: false,
      // `close()` is the graceful shutdown; Apollo's own SIGINT/SIGTERM handlers would stop the server
      // and re-send the signal to the process in the middle of the app's own shutdown.
      stopOnTerminationSignals: false,
      validationRules: [...limitRules(parts.limits), ...(parts.introspection ? [] : [NoSchemaIntrospectionCustomRule])],
      formatError: parts.format,
      // Cache control is on by default and wraps every field resolver of the schema (the WebSocket
      // path's too) to collect cache hints nobody here sets: about 3% of a mutation's CPU.
      plugins: [complexityPlugin, ApolloServerPluginCacheControlDisabled()],
      logger: {
        debug: () => undefined,
        info: (message: string) => parts.logger.info(message),
        warn: (message: string) => parts.logger.warn(message),
        error: (message: string) => parts.logger.error(message),
      },
    });
  }

  async listen(options: { readonly port?: number; readonly host?: string } = {}): Promise<ListeningApi> {
    const app = express();
    app.disable('x-powered-by');
    // Plain JSON POSTs to `path` skip Express (see `answerGraphQLPost`); everything else goes through it.
    const server = createServer((request, response) => {
      if (!this.answerGraphQLPost(request, response)) app(request, response);
    });
    this.ownsServer = true;
    await this.mount(app, server, { health: true });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 4000, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      // A taken port: undo what mount started (projections, watcher, Apollo) before reporting it.
      this.ownsServer = false;
      await this.close({ timeoutMs: 0 });
      throw error;
    }
    const { port } = server.address() as AddressInfo;
    const host = options.host ?? '127.0.0.1';
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${this.parts.path}`;
    this.parts.logger.info(`GraphQL API listening on ${url} (WebSocket on the same port)`);
    return { url, port, server };
  }

  async mount(httpApp: HttpApp, server: Server, options: { readonly health?: boolean } = {}): Promise<void> {
    // The public type is structural (no @types/express for users); what is mounted into is Express.
    const app = httpApp as unknown as IRouter;
    if (this.started) throw new TypeError('this API is already mounted or listening');
    this.started = true;
    this.server = server;
    const { logger, path, limits } = this.parts;
    if (this.options.auth.mode === 'off') {
      const banner = '!'.repeat(78);
      logger.warn(
        `\n${banner}\n!!  AUTHENTICATION IS OFF: every request acts as the development user, with its roles.\n!!  Never run like this outside local development.\n${banner}`,
      );
    }
    await this.parts.watcher?.start();
    await this.parts.engine?.start();
    await this.apollo.start();
    if (options.health ?? true) {
      app.get('/healthz', this.track((_request, response) => {
        response.status(200).json({ status: 'ok' });
      }));
      app.get('/readyz', this.track(async (_request, response) => {
        const readiness = await this.readiness();
        response.status(readiness.ready ? 200 : 503).json(readiness);
      }));
    }
    app.use(path, this.httpRouter());
    this.attachWebSockets(server);
    logger.info(`GraphQL mounted at ${path}`, { limits: { ...limits }, introspection: this.parts.introspection, auth: this.options.auth.mode });
  }

  /** Counts a handler as in flight, so that shutdown waits for it; refuses new work while closing. */
  private track(handler: RequestHandler): RequestHandler {
    return (request, response, next) => {
      if (this.closing) {
        response.status(503).set('Connection', 'close').json(shuttingDownBody());
        return;
      }
      const done = new Promise<void>((resolve) => {
        response.once('close', resolve);
      });
      this.inFlight.add(done);
      void done.then(() => this.inFlight.delete(done));
      Promise.resolve(handler(request, response, next)).catch(next);
    };
  }

  private httpRouter(): Router {
    const router = express.Router();
    const middleware = expressMiddleware(this.apollo, { context: ({ req }) => this.httpContext(req) });
    router.use(this.track((request, response, next) => {
      express.json({ limit: this.parts.limits.bodyLimit })(request, response, (error?: unknown) => {
        if (error) {
          next(error);
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
        response.status(413).json({
          errors: [
            {
              message: `the request body exceeds the limit of ${String(this.parts.limits.bodyLimit)}`,
              extensions: { code: 'BAD_USER_INPUT', limit: 'bodySize', max: this.parts.limits.bodyLimit },
            },
          ],
        });
        return;
      }
      if (typeof status === 'number' && status >= 400 && status < 500) {
        response.status(status).json({ errors: [{ message: 'malformed request body', extensions: { code: 'BAD_USER_INPUT' } }] });
        return;
      }
      this.parts.logger.error('unexpected HTTP error', { error: error instanceof Error ? error.stack : String(error) });
      response.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    };
    router.use(bodyErrors);
    return router;
  }

  /**
   * The hot path of an API on its own server: a POST of plain JSON to `path` goes straight to Apollo,
   * without Express's router, body-parser and `res.send` (ETag hashing), which cost about as much CPU
   * as Apollo and graphql-js together. Same body limit, same error bodies, same shutdown accounting.
   * Anything else (other paths and methods, compressed or non-UTF-8 bodies, no body) returns false and
   * goes through Express as before.
   */
  private answerGraphQLPost(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'POST') return false;
    const url = request.url ?? '';
    const query = url.indexOf('?');
    if ((query === -1 ? url : url.slice(0, query)) !== this.parts.path) return false;
    const type = request.headers['content-type'];
    if (type === undefined || !/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(type)) return false;
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const length = request.headers['content-length'];
    if (length === undefined ? request.headers['transfer-encoding'] === undefined : length === '0') return false;
    const send = (status: number, body: string, headers?: Iterable<[string, string]>): void => {
      if (headers) for (const [key, value] of headers) response.setHeader(key, value);
      response.statusCode = status;
      if (!response.hasHeader('content-type')) response.setHeader('content-type', 'application/json; charset=utf-8');
      response.setHeader('content-length', Buffer.byteLength(body));
      response.end(body);
    };
    if (this.closing) {
      response.setHeader('connection', 'close');
      send(503, JSON.stringify(shuttingDownBody()));
      return true;
    }
    const done = new Promise<void>((resolve) => {
      response.once('close', resolve);
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
    const limit = bodyLimitBytes(this.parts.limits.bodyLimit);
    const tooLarge = (): void => {
      send(
        413,
        JSON.stringify({
          errors: [
            {
              message: `the request body exceeds the limit of ${String(this.parts.limits.bodyLimit)}`,
              extensions: { code: 'BAD_USER_INPUT', limit: 'bodySize', max: this.parts.limits.bodyLimit },
            },
          ],
        }),
      );
    };
    if (length !== undefined && Number(length) > limit) {
      // Like body-parser: refuse before reading, and let the connection go rather than drain the body.
      response.setHeader('connection', 'close');
      tooLarge();
      request.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        response.setHeader('connection', 'close');
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    request.once('error', () => {
      if (!response.headersSent) send(400, JSON.stringify({ errors: [{ message: 'malformed request body', extensions: { code: 'BAD_USER_INPUT' } }] }));
    });
    request.once('end', () => {
      if (refused) return;
      void this.executePost(request, response, Buffer.concat(chunks, size).toString('utf8'), send).catch((error: unknown) => {
        this.parts.logger.error('unexpected HTTP error', { error: error instanceof Error ? error.stack : String(error) });
        if (!response.headersSent) send(500, JSON.stringify({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
        else response.destroy();
      });
    });
    return true;
  }

  private async executePost(
    request: IncomingMessage,
    response: ServerResponse,
    text: string,
    send: (status: number, body: string, headers?: Iterable<[string, string]>) => void,
  ): Promise<void> {
    let body: unknown;
    // body-parser's strict mode: only an object or an array.
    const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
    try {
      if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
      body = JSON.parse(text);
    } catch {
      send(400, JSON.stringify({ errors: [{ message: 'malformed request body', extensions: { code: 'BAD_USER_INPUT' } }] }));
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const result = await this.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: query === -1 ? '' : url.slice(query), body },
      context: () => this.httpContext(request),
    });
    if (result.body.kind === 'complete') {
      send(result.status ?? 200, result.body.string, result.headers);
      return;
    }
    for (const [key, value] of result.headers) response.setHeader(key, value);
    response.statusCode = result.status ?? 200;
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  }

  private async httpContext(request: IncomingMessage): Promise<ApiContext> {
    let user: ApiUser | undefined;
    try {
      user = await this.parts.authenticate(request.headers.authorization);
    } catch (error) {
      if (error instanceof ApiError) {
        throw new GraphQLError(error.message, { extensions: { code: error.code, http: { status: 401 } } });
      }
      throw error;
    }
    const key = request.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(key) ? key[0] : key;
    return { user, services: this.services, idempotencyKey: idempotencyKey || undefined, transport: 'http', connection: undefined };
  }

  private attachWebSockets(server: Server): void {
    const { limits, path, logger, schema, introspection } = this.parts;
    const webSockets = new WebSocketServer({ noServer: true, maxPayload: bodyLimitBytes(limits.bodyLimit) });
    this.webSockets = webSockets;
    this.upgradeListener = (request, socket, head) => {
      const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (pathname !== path) {
        // A host app may serve other WebSocket paths on the same server; ours only answers `path`.
        if (this.ownsServer) socket.destroy();
        return;
      }
      if (this.closing) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      webSockets.handleUpgrade(request, socket, head, (webSocket) => webSockets.emit('connection', webSocket, request));
    };
    server.on('upgrade', this.upgradeListener);
    webSockets.on('connection', (socket: WebSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    const rules = [...specifiedRules, ...limitRules(limits), ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
    // Parsed and validated once per query text, as Apollo does over HTTP (clients resend the same few).
    const documents = new Map<string, { document: DocumentNode } | { errors: GraphQLError[] }>();
    const checkDocument = (query: string): { document: DocumentNode } | { errors: GraphQLError[] } => {
      let document: DocumentNode;
      try {
        document = parse(query);
      } catch (error) {
        return { errors: [error instanceof GraphQLError ? withCode(error, 'GRAPHQL_PARSE_FAILED') : new ApiError('BAD_USER_INPUT', 'unparsable query')] };
      }
      const errors = validate(schema, document, rules);
      return errors.length > 0 ? { errors: errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')) } : { document };
    };
    const asErrors = (errors: readonly GraphQLError[]): GraphQLError[] =>
      errors.map((error) => {
        const formatted = this.parts.format(error.toJSON(), error);
        return new GraphQLError(formatted.message, { extensions: formatted.extensions ?? {} });
      });
    useServer<Record<string, unknown>, WsExtra>(
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
            ctx.extra.user = await this.parts.authenticate(typeof authorization === 'string' ? authorization : undefined);
            return true;
          } catch (error) {
            const reason = error instanceof UnauthenticatedError ? `UNAUTHENTICATED: ${error.message}` : 'UNAUTHENTICATED';
            ctx.extra.socket.close(CloseCode.Forbidden, reason.slice(0, 120));
            return false;
          }
        },
        onSubscribe: (ctx, id, payload) => {
          if (this.closing) return asErrors([new ApiError('UNAVAILABLE', 'the server is shutting down')]);
          // graphql-ws has already reserved this operation's id; count the others.
          const active = Object.keys(ctx.subscriptions).filter((other) => other !== id).length;
          if (active >= limits.subscriptionsPerConnection) {
            return asErrors([
              new LimitExceededError('subscriptions', `more than ${limits.subscriptionsPerConnection} subscriptions on one connection`, {
                max: limits.subscriptionsPerConnection,
              }),
            ]);
          }
          const checked = documents.get(payload.query) ?? checkDocument(payload.query);
          if (!documents.has(payload.query)) {
            // Bounded: the oldest entry goes first (Map keeps insertion order).
            if (documents.size >= DOCUMENT_CACHE_SIZE) documents.delete(documents.keys().next().value!);
            documents.set(payload.query, checked);
          }
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
            services: this.services,
            idempotencyKey: undefined,
            transport: 'ws',
            connection: {
              bufferedBytes: () => socket.bufferedAmount,
              close: (code, reason) => {
                logger.warn(`closing a WebSocket connection (${code}): ${reason}`, { user: ctx.extra.user?.id });
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
      this.options.keepAliveMs ?? 12_000,
    );
    logger.info(`GraphQL subscriptions over WebSocket at ${path}`);
  }

  async readiness(): Promise<Readiness> {
    if (this.closing) return { ready: false, checks: { store: 'unknown', projections: 'unknown', server: 'shutting down' } };
    const store = await withTimeout(this.services.eventStore.headPosition(), 2_000).then(
      () => 'ok',
      (error: unknown) => `unreachable: ${error instanceof Error ? (error as { code?: string }).code ?? error.name : 'error'}`,
    );
    let projections = 'ok';
    try {
      const failed = await this.failedProjections();
      if (failed.length > 0) projections = `failed: ${failed.join(', ')}`;
    } catch {
      projections = 'unknown: the read-model store is unreachable';
    }
    return { ready: store === 'ok' && projections === 'ok', checks: { store, projections, server: 'ok' } };
  }

  private async failedProjections(): Promise<string[]> {
    if (this.engine) {
      const statuses = await withTimeout(this.engine.statuses(), 2_000);
      return statuses.filter((status) => status.state === 'failed').map((status) => status.name);
    }
    const failed: string[] = [];
    for (const projection of this.services.projectionDefinitions) {
      const record = await withTimeout(this.services.readModels.load(projection.name), 2_000);
      const active = record.active;
      const slot = active && record.slots.find((candidate) => candidate.version === active.version && candidate.generation === active.generation);
      if (slot?.failure) failed.push(projection.name);
    }
    return failed;
  }

  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.timeoutMs ?? 10_000);
    return this.closing;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    const { logger } = this.parts;
    logger.info('shutting down: no new requests, closing subscriptions, draining HTTP');
    const deadline = Date.now() + timeoutMs;
    // Live subscriptions end first, then their sockets close with a reason the client can show.
    this.parts.shutdown.abort();
    if (this.upgradeListener) this.server?.off('upgrade', this.upgradeListener);
    for (const socket of this.sockets) socket.close(GOING_AWAY_CLOSE_CODE, 'server shutting down');
    if (this.ownsServer && this.server) {
      const server = this.server;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.race([Promise.all([...this.inFlight]), sleep(Math.max(0, deadline - Date.now()))]);
      server.closeAllConnections();
      await closed;
    } else {
      await Promise.race([Promise.all([...this.inFlight]), sleep(Math.max(0, deadline - Date.now()))]);
    }
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => (this.webSockets ? this.webSockets.close(() => resolve()) : resolve()));
    await this.apollo.stop().catch(() => undefined);
    // Stopping the engine lets running batches commit with their checkpoints.
    await this.parts.engine?.stop();
    await this.parts.watcher?.stop();
    logger.info('shut down');
  }
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, code: error.extensions.code ?? code } });
}

function shuttingDownBody(): { errors: { message: string; extensions: { code: string } }[] } {
  return { errors: [{ message: 'the server is shutting down', extensions: { code: 'UNAVAILABLE' } }] };
}

function bodyLimitBytes(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!match) throw new TypeError(`limits.bodyLimit ${JSON.stringify(limit)} is not a size like '100kb'`);
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
  return Math.floor(Number(match[1]) * units[(match[2] ?? 'b').toLowerCase()]!);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
