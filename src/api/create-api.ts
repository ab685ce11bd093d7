import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { ApolloServer } from '@apollo/server';
import express, { type IRouter } from 'express';
import type { HttpApp } from './http-app';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { Container } from 'inversify';
import { ProjectionEngine } from '../projections/projection-engine';
import { ProjectionWatcher } from '../projections/projection-watcher';
import type { ApiContext, ApiServices, ProjectionTracker } from './api-context';
import { resolveApiOptions, type ApiOptions, type ResolvedApiOptions } from './api-options';
import { createApolloServer, httpContext } from './apollo-server';
import { createAuthenticator, type Authenticator } from './auth';
import { composeApi } from './container';
import { formatApiError } from './errors';
import { withoutSuggestions } from './limits';
import { addConsoleRoutes } from './console-routes';
import { addHealthRoutes, graphQLRouter } from './express-routes';
import { graphQLPostFastPath } from './http-fast-path';
import { checkReadiness, type Readiness } from './readiness';
import { checkTenantCollections } from './tenancy';
import { InFlightRequests, shutDown } from './shutdown';
import { attachGraphQLWebSockets, type GraphQLWebSockets } from './websocket-server';
import { startMetricsEndpoint, type MetricsEndpoint } from './metrics-endpoint';
import { assertInstalled } from '../internal/optional-package';
import { safelistCache } from './persisted-operations';
import type { GraphQLEventStreams } from './sse-server';

/**
 * A running API on its own HTTP server.
 *
 * @example
 * const { url, server } = await api.listen({ port: 0 }); // url: http://127.0.0.1:<port>/graphql
 */
export interface ListeningApi {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
}

/**
 * A built API: its schema and composition root, ready to listen on its own server or to be mounted
 * into an existing Express app. Building starts nothing; `listen`/`mount` start the projections (or
 * the watcher), and `close` shuts down gracefully.
 *
 * @example
 * const api = await createApi(options);
 * await api.mount(app, httpServer); // or: await api.listen({ port: 4000 })
 * process.once('SIGTERM', () => void api.close({ timeoutMs: 5_000 }));
 */
export interface Api {
  readonly schema: GraphQLSchema;
  readonly container: Container;
  readonly services: ApiServices;
  /** The engine when this process runs the projections. */
  readonly engine: ProjectionEngine | undefined;
  /**
   * Starts the projections and serves GraphQL (HTTP, WebSocket and SSE on the same path), `/healthz` and
   * `/readyz` on its own HTTP server. Port 0 picks a free one.
   */
  listen(options?: { readonly port?: number; readonly host?: string }): Promise<ListeningApi>;
  /**
   * Starts the projections and mounts GraphQL (HTTP and SSE at `path`, WebSocket upgrades of `path`) and,
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

/**
 * Builds the API: services, the inversify composition root, the schema. Starts nothing.
 *
 * @example
 * const api = await createApi({ eventStore, readModels, projections, aggregates, resolvers, auth: { mode: 'off' } });
 * await api.listen({ port: 4000, host: '127.0.0.1' });
 * process.on('SIGTERM', () => void api.close());
 */
export async function createApi(options: ApiOptions): Promise<Api> {
  const resolved = resolveApiOptions(options);
  const { logger, development, projections } = resolved;
  checkTenantCollections(resolved.tenancy, projections);
  // One authenticator for HTTP and WebSocket: it remembers verified tokens.
  const authenticate = createAuthenticator(options.auth);
  const engine =
    resolved.runProjections && projections.length > 0
      ? new ProjectionEngine({ ...options.projectionEngine, eventStore: options.eventStore, readModels: options.readModels, projections })
      : undefined;
  const changeFeed = options.changeFeed ?? (options.readModels.dialect === 'postgres' || !engine ? 'store' : 'local');
  const watcher =
    changeFeed === 'store' ? new ProjectionWatcher({ eventStore: options.eventStore, readModels: options.readModels, projections }) : undefined;
  const tracker: ProjectionTracker = watcher ?? {
    changes: engine!.changes,
    waitForPosition: (name, position, wait) => engine!.waitForPosition(name, position, wait),
  };
  const liveQueries = new AbortController();
  // Every live subscription listens for shutdown.
  setMaxListeners(0, liveQueries.signal);
  const services: ApiServices = {
    eventStore: options.eventStore,
    readModels: options.readModels,
    commands: { ...options.commands, store: options.eventStore },
    projections: tracker,
    projectionDefinitions: projections,
    engine,
    reactors: options.reactors,
    aggregates: options.aggregates ?? [],
    limits: resolved.limits,
    authorizeCommand: options.authorizeCommand,
    auditRoles: resolved.auditRoles,
    ...(options.archives ? { archives: options.archives } : {}),
    waitTimeoutMs: resolved.waitTimeoutMs,
    development,
    shutdown: liveQueries.signal,
    tenancy: resolved.tenancy,
  };
  const composed = await composeApi(services, options.resolvers, options.container ? { parent: options.container } : {});
  const { container } = composed;
  let schema = composed.schema;
  if (options.federation) {
    // @apollo/subgraph is an optional package: loaded only for a subgraph.
    assertInstalled('@apollo/subgraph', 'createApi({ federation })');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand (an optional peer)
    const { federatedSchema } = require('./federation') as typeof import('./federation');
    schema = federatedSchema(schema, options.federation === true ? {} : options.federation);
  }
  const format = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = formatApiError(formatted, error, { development });
    if (result.extensions?.code === 'INTERNAL_SERVER_ERROR') {
      logger.error({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 'unexpected error in a GraphQL operation');
    }
    // One place for HTTP and WebSocket, and for every kind of error (validation, variables, enums).
    return resolved.introspection ? result : { ...result, message: withoutSuggestions(result.message) };
  };
  const persistedQueries = resolved.safelist ? { cache: safelistCache(resolved.safelist) } : resolved.automaticPersistedQueries ? undefined : false;
  const apollo = createApolloServer({ schema, introspection: resolved.introspection, limits: resolved.limits, format, logger, persistedQueries });
  const metrics = options.metrics ? startMetricsEndpoint(options.metrics, authenticate) : undefined;
  return new RunningApi({ options, resolved, authenticate, engine, watcher, liveQueries, services, container, schema, format, apollo, metrics });
}

interface Parts {
  readonly options: ApiOptions;
  readonly resolved: ResolvedApiOptions;
  readonly authenticate: Authenticator;
  readonly engine: ProjectionEngine | undefined;
  readonly watcher: ProjectionWatcher | undefined;
  readonly liveQueries: AbortController;
  readonly services: ApiServices;
  readonly container: Container;
  readonly schema: GraphQLSchema;
  readonly format: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly apollo: ApolloServer<ApiContext>;
  readonly metrics: MetricsEndpoint | undefined;
}

/** The API's lifecycle: built, then listening or mounted once, then closed once. */
class RunningApi implements Api {
  readonly schema: GraphQLSchema;
  readonly container: Container;
  readonly services: ApiServices;
  readonly engine: ProjectionEngine | undefined;
  private readonly requests = new InFlightRequests();
  private readonly context: ReturnType<typeof httpContext>;
  private webSockets: GraphQLWebSockets | undefined;
  private eventStreams: GraphQLEventStreams | undefined;
  private server: Server | undefined;
  private ownsServer = false;
  private started = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly parts: Parts) {
    this.schema = parts.schema;
    this.container = parts.container;
    this.services = parts.services;
    this.engine = parts.engine;
    this.context = httpContext(parts.authenticate, parts.services);
  }

  async listen(options: { readonly port?: number; readonly host?: string } = {}): Promise<ListeningApi> {
    const { path, limits, logger } = this.parts.resolved;
    const app = express();
    app.disable('x-powered-by');
    // Plain JSON POSTs to `path` skip Express (see `graphQLPostFastPath`); everything else goes through it.
    const fastPath = graphQLPostFastPath({
      path,
      bodyLimit: limits.bodyLimit,
      apollo: this.parts.apollo,
      context: this.context,
      requests: this.requests,
      logger,
      ...(this.parts.resolved.safelist ? { safelist: this.parts.resolved.safelist } : {}),
      // Decided per request once mount has built the SSE transport.
      isEventStream: (request) => this.eventStreams?.accepts(request) ?? false,
    });
    const server = createServer((request, response) => {
      if (!fastPath(request, response)) app(request, response);
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
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
    logger.info(`GraphQL API listening on ${url} (WebSocket${this.eventStreams ? ' and SSE' : ''} on the same path)`);
    return { url, port, server };
  }

  async mount(httpApp: HttpApp, server: Server, options: { readonly health?: boolean } = {}): Promise<void> {
    // The public type is structural (no @types/express for users); what is mounted into is Express.
    const app = httpApp as unknown as IRouter;
    if (this.started) throw new TypeError('this API is already mounted or listening');
    this.started = true;
    this.server = server;
    const { options: apiOptions, resolved, apollo } = this.parts;
    const { logger, path, limits } = resolved;
    if (apiOptions.auth.mode === 'off') {
      const banner = '!'.repeat(78);
      const warning = `\n${banner}\n!!  AUTHENTICATION IS OFF: every request acts as the development user, with its roles.\n!!  Never run like this outside local development.\n${banner}`;
      logger.warn(warning);
      // The default logger is silent, but running without auth must never go unnoticed.
      if (!apiOptions.logger) process.emitWarning(warning, 'EventfoldWarning');
    }
    await this.parts.watcher?.start();
    await this.parts.engine?.start();
    await apollo.start();
    if (options.health ?? true) addHealthRoutes(app, this.requests, () => this.readiness());
    const { metrics } = this.parts;
    if (metrics) app.get(metrics.path, (request, response) => metrics.handle(request, response));
    if (apiOptions.console) addConsoleRoutes(app, path);
    this.eventStreams = this.createEventStreams();
    app.use(
      path,
      graphQLRouter({
        bodyLimit: limits.bodyLimit,
        apollo,
        context: this.context,
        requests: this.requests,
        logger,
        ...(resolved.safelist ? { safelist: resolved.safelist } : {}),
        ...(this.eventStreams ? { eventStreams: this.eventStreams } : {}),
      }),
    );
    this.webSockets = attachGraphQLWebSockets(server, {
      schema: this.schema,
      path,
      limits,
      introspection: resolved.introspection,
      keepAliveMs: resolved.keepAliveMs,
      logger,
      services: this.services,
      authenticate: this.parts.authenticate,
      format: this.parts.format,
      ownsServer: () => this.ownsServer,
      closing: () => this.requests.closing,
      ...(resolved.safelist ? { safelist: resolved.safelist } : {}),
    });
    logger.info({ limits: { ...limits }, introspection: resolved.introspection, auth: apiOptions.auth.mode }, `GraphQL mounted at ${path}`);
  }

  /** graphql-sse is an optional package: SSE is served when it is installed (required by `sse: true`). */
  private createEventStreams(): GraphQLEventStreams | undefined {
    const { options: apiOptions, resolved } = this.parts;
    if (apiOptions.sse === false) return undefined;
    if (apiOptions.sse === undefined && !isInstalled('graphql-sse')) {
      resolved.logger.info('GraphQL over SSE is off: the optional package graphql-sse is not installed');
      return undefined;
    }
    assertInstalled('graphql-sse', 'createApi({ sse })');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand (an optional peer)
    const { createGraphQLEventStreams } = require('./sse-server') as typeof import('./sse-server');
    return createGraphQLEventStreams({
      schema: this.schema,
      limits: resolved.limits,
      introspection: resolved.introspection,
      logger: resolved.logger,
      services: this.services,
      authenticate: this.parts.authenticate,
      format: this.parts.format,
      closing: () => this.requests.closing,
      ...(resolved.safelist ? { safelist: resolved.safelist } : {}),
    });
  }

  readiness(): Promise<Readiness> {
    return checkReadiness(this.services, this.engine, this.requests.closing);
  }

  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= shutDown(
      {
        logger: this.parts.resolved.logger,
        requests: this.requests,
        liveQueries: this.parts.liveQueries,
        webSockets: this.webSockets,
        eventStreams: this.eventStreams,
        server: this.server,
        ownsServer: this.ownsServer,
        apollo: this.parts.apollo,
        engine: this.parts.engine,
        watcher: this.parts.watcher,
      },
      options.timeoutMs ?? 10_000,
    ).finally(() => this.parts.metrics?.close());
    return this.closing;
  }
}

function isInstalled(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
