import type { CommandEnvironment } from '../commands/handle-command';
import type { EventStore } from '../event-store/event-store';
import type { ArchiveShelf } from '../event-store/archive-reads';
import type { Position } from '../event-store/position';
import type { ChangeFeed } from '../projections/change-feed';
import type { AnyProjection } from '../projections/projection';
import type { ProjectionEngine } from '../projections/projection-engine';
import type { ReadModelStore } from '../projections/read-model-store';
import type { CommandAuthorizer } from './command-mutation';
import type { AuditableAggregate } from './audit/audit-aggregate';
import type { ApiLimits } from './limits';
import type { ReactorAdmin } from './reactor-admin';
import type { ResolvedTenancy } from './tenancy';

/**
 * Who is calling: taken from a verified JWT (or the development user when auth is off). Its id and
 * roles flow into command metadata (`userId`, `roles`).
 *
 * @example
 * if (!context.user?.roles.includes('courier')) throw new ForbiddenError('couriers only');
 */
export interface ApiUser {
  readonly id: string;
  readonly roles: readonly string[];
  readonly tenantId?: string;
  /** When the token stops being valid (ms since the epoch, clock tolerance included); absent if it never expires. */
  readonly expiresAt?: number;
  /** Every claim of the token, for app-specific checks. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Where an app's resolvers read from and wait on: the projections' change feed (local engine or
 * the store's notifications) and read-your-writes.
 *
 * @example
 * await services.projections.waitForPosition('order-summary', receipt.position, { timeoutMs: 2_000 });
 */
export interface ProjectionTracker {
  readonly changes: ChangeFeed;
  waitForPosition(name: string, position: Position, options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Everything the API's resolvers depend on, bound once in the composition root (inversify) under
 * {@link API_SERVICES}. App resolvers written by hand inject it.
 *
 * @example
 * @Resolver() @injectable()
 * class StatsResolver {
 *   constructor(@inject(API_SERVICES) private readonly services: ApiServices) {}
 *   @Query(() => Int) async openOrders() { return this.services.readModels.documents(orderSummary, 'orders').count({ status: 'open' }); }
 * }
 */
export interface ApiServices {
  readonly eventStore: EventStore;
  readonly readModels: ReadModelStore;
  /** The environment every mutation's `handleCommand` runs in. */
  readonly commands: CommandEnvironment;
  readonly projections: ProjectionTracker;
  readonly projectionDefinitions: readonly AnyProjection[];
  /** Present when this process runs the projections (admin status and rebuilds need it). */
  readonly engine: ProjectionEngine | undefined;
  readonly reactors: ReactorAdmin | undefined;
  readonly aggregates: readonly AuditableAggregate[];
  readonly limits: Required<ApiLimits>;
  /** The API-wide command authorization hook (each mutation may add its own). */
  readonly authorizeCommand: CommandAuthorizer | undefined;
  /** Roles that may use the audit API. */
  readonly auditRoles: readonly string[];
  /** Where the audit API reads archived streams back; none: archived events are not shown. */
  readonly archives?: ArchiveShelf;
  /** Default timeout of a mutation's `waitFor`. */
  readonly waitTimeoutMs: number;
  /** Development mode: errors carry stack traces and causes. */
  readonly development: boolean;
  /** Aborted when the server starts shutting down; live subscriptions end on it. */
  readonly shutdown: AbortSignal;
  /** Tenancy (absent: off). Resolvers ask `requireTenant` / `tenantReader` rather than reading it. */
  readonly tenancy?: ResolvedTenancy;
}

/** The inversify token under which {@link ApiServices} is bound. */
export const API_SERVICES = Symbol.for('eventfold.api.ApiServices');

/**
 * The GraphQL context of every operation, over HTTP and WebSocket alike.
 *
 * @example
 * @Query(() => Me) me(@Ctx() context: ApiContext) { return { id: context.user?.id }; }
 */
export interface ApiContext {
  readonly user: ApiUser | undefined;
  readonly services: ApiServices;
  /** The `Idempotency-Key` header, used as the command id of a mutation that brings none. */
  readonly idempotencyKey: string | undefined;
  readonly transport: 'http' | 'ws' | 'sse';
  /** Set on WebSocket and SSE operations: the connection's live-subscription sink (buffer limits). */
  readonly connection: LiveConnection | undefined;
}

/**
 * A WebSocket connection as live subscriptions see it: how much waits to be sent, and how to drop it.
 *
 * @example
 * if (context.connection && context.connection.bufferedBytes() > limit) context.connection.close(1008, 'too slow');
 */
export interface LiveConnection {
  /** Bytes queued on the socket that the client has not taken yet. */
  bufferedBytes(): number;
  /** Closes the connection with a code and a human-readable reason. */
  close(code: number, reason: string): void;
}
