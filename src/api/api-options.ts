import type { Container } from 'inversify';
import type { CommandEnvironment } from '../commands/handle-command';
import type { EventStore } from '../event-store/event-store';
import type { ArchiveShelf } from '../event-store/archive-reads';
import type { AnyProjection } from '../projections/projection';
import type { ProjectionEngineOptions } from '../projections/projection-engine';
import type { ReadModelStore } from '../projections/read-model-store';
import type { AuditableAggregate } from './audit/audit-aggregate';
import type { AuthOptions } from './auth';
import type { ClassType } from './class-type';
import type { CommandAuthorizer } from './command-mutation';
import { resolveLimits, type ApiLimits } from './limits';
import { silentLogger } from '../internal/logger';
import type { ApiLogger } from './logger';
import type { FederationOptions } from './federation-options';
import { createSafelist, type PersistedOperationManifest, type Safelist } from './persisted-operations';
import type { ReactorAdmin } from './reactor-admin';
import type { MetricsOptions } from './metrics-endpoint';
import { resolveTenancy, type ResolvedTenancy, type TenancyOptions } from './tenancy';

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
  /** type-graphql resolver classes: made by `commandMutations`, `documentQuery`, … or written by hand. */
  readonly resolvers: readonly ClassType[];
  /** Snapshots, state cache, clock, retries for commands. */
  readonly commands?: Omit<CommandEnvironment, 'store'>;
  readonly auth: AuthOptions;
  /**
   * Tenants as walls: with `{ mode: 'required' }` every command, query, subscription, audit and admin
   * call acts for the tenant of the caller's verified token only. Default off. See `TenancyOptions`.
   */
  readonly tenancy?: TenancyOptions;
  /** Runs before every command mutation; return false or throw `ForbiddenError` to refuse. */
  readonly authorizeCommand?: CommandAuthorizer;
  /** Roles allowed to use the audit API. Default `['admin', 'auditor']`. */
  readonly auditRoles?: readonly string[];
  /**
   * Where archived streams are kept (e.g. `archiveFolder('./data/archive')`): the audit API reads them back
   * (`streamEvents`, `aggregateState`), checked against the store and revealed like live events.
   */
  readonly archives?: ArchiveShelf;
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
  /**
   * Serve the operator console at `/console`: streams, live tail, projections and reactors, built on the
   * admin and audit API (so it shows data to admins only, or to everyone when auth is off). Default off.
   */
  readonly console?: boolean;
  /** WebSocket keep-alive ping interval; default 12,000 ms. */
  readonly keepAliveMs?: number;
  /**
   * Serve the `eventfold_…` metrics at `/metrics` in Prometheus text format (`true`, or where and to
   * whom). Admins only unless `open`. Needs `@opentelemetry/sdk-metrics` and
   * `@opentelemetry/exporter-prometheus`. Default off.
   */
  readonly metrics?: boolean | MetricsOptions;
  /**
   * GraphQL over Server-Sent Events (graphql-sse) on `path`, beside HTTP and WebSocket. Default: on
   * when the optional `graphql-sse` package is installed; `true` requires it.
   */
  readonly sse?: boolean;
  /**
   * Only these operations may run, over HTTP, WebSocket and SSE: a persisted-documents manifest
   * (`{ id: document }`, GraphQL Code Generator's format). Anything else is refused with
   * `QUERY_NOT_IN_SAFELIST` before it is parsed. Listed operations may be sent by id (APQ's
   * `extensions.persistedQuery.sha256Hash`). Default: no safelist.
   */
  readonly safelist?: PersistedOperationManifest;
  /**
   * Automatic persisted queries over HTTP GET and POST (the protocol of Apollo Client's and urql's
   * persisted-query links). Default on; with a safelist, the cache holds only the manifest.
   */
  readonly automaticPersistedQueries?: boolean;
  /**
   * Serve the schema as an Apollo Federation 2 subgraph (`@apollo/subgraph`, an optional package):
   * `true`, or which object types are entities and how a reference is resolved from the read models.
   */
  readonly federation?: boolean | FederationOptions;
}

/** The options with every default applied and checked; what the rest of the API is built from. */
export interface ResolvedApiOptions {
  readonly logger: ApiLogger;
  readonly development: boolean;
  readonly introspection: boolean;
  readonly limits: Required<ApiLimits>;
  readonly path: string;
  readonly projections: readonly AnyProjection[];
  readonly runProjections: boolean;
  readonly auditRoles: readonly string[];
  readonly waitTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly tenancy: ResolvedTenancy;
  readonly safelist: Safelist | undefined;
  readonly automaticPersistedQueries: boolean;
}

/**
 * Applies the defaults documented on {@link ApiOptions}; throws a `TypeError` for a path or limit that
 * could never work, so a misconfigured app fails at start rather than on its first request.
 */
export function resolveApiOptions(options: ApiOptions): ResolvedApiOptions {
  const development = options.development ?? process.env.NODE_ENV === 'development';
  const limits = resolveLimits(options.limits);
  const path = options.path ?? '/graphql';
  if (!path.startsWith('/')) throw new TypeError(`path must start with "/", got ${JSON.stringify(path)}`);
  return {
    logger: options.logger ?? silentLogger,
    development,
    introspection: options.introspection ?? development,
    limits,
    path,
    projections: options.projections ?? [],
    runProjections: options.runProjections ?? true,
    auditRoles: options.auditRoles ?? ['admin', 'auditor'],
    waitTimeoutMs: options.waitTimeoutMs ?? 5_000,
    keepAliveMs: options.keepAliveMs ?? 12_000,
    tenancy: resolveTenancy(options.tenancy),
    safelist: options.safelist === undefined ? undefined : createSafelist(options.safelist),
    automaticPersistedQueries: options.automaticPersistedQueries ?? true,
  };
}
