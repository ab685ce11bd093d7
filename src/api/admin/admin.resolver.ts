import { injectable } from 'inversify';
import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { ProjectionEngine } from '../../projections/projection-engine';
import type { ApiContext } from '../api-context';
import { requireAccess } from '../authorization';
import { splitTenantStream } from '../../event-store/tenant-stream';
import { ApiError, ForbiddenError } from '../errors';
import type { ReactorAdmin } from '../reactor-admin';
import { adminScope, callerStreamName } from '../tenancy';
import { ParkedEventPage, ParkedEventView, ProjectionStatusView, ReactorStatusView } from './admin.types';

const ADMIN = { roles: ['admin'] } as const;

function engineOf(context: ApiContext): ProjectionEngine {
  const engine = context.services.engine;
  if (!engine) throw new ApiError('UNAVAILABLE', 'this API process does not run the projections; ask a process that does');
  return engine;
}

function reactorsOf(context: ApiContext): ReactorAdmin {
  const reactors = context.services.reactors;
  if (!reactors) throw new ApiError('UNAVAILABLE', 'no reactors runtime is attached to this API process');
  return reactors;
}

/**
 * Admin of every tenant: projections and reactors are shared by all tenants, so their status, errors
 * and rebuilds are for admins without tenancy or with an operator role only.
 */
function requireOperator(context: ApiContext): void {
  requireAccess(context, ADMIN);
  if (!adminScope(context).all) throw new ForbiddenError('with tenancy on, this admin operation spans every tenant: it needs an operator role');
}

function checkProjection(context: ApiContext, name: string): void {
  if (!context.services.projectionDefinitions.some((projection) => projection.name === name)) {
    throw new ApiError('NOT_FOUND', `no projection named ${JSON.stringify(name)}`);
  }
}

/** The admin API (role `admin`): projection status and rebuilds, reactor status, parked events, redrive. */
@Resolver()
@injectable()
export class AdminResolver {
  @Query(() => [ProjectionStatusView], { description: 'Every projection: position, lag, state, last error, rebuild progress.' })
  async projectionStatuses(@Ctx() context: ApiContext): Promise<ProjectionStatusView[]> {
    requireOperator(context);
    const statuses = await engineOf(context).statuses();
    return statuses.map((status) => ProjectionStatusView.from(status));
  }

  @Mutation(() => ProjectionStatusView, { description: 'Starts rebuilding a projection; readers switch over once it has caught up.' })
  async rebuildProjection(@Arg('name', () => String) name: string, @Ctx() context: ApiContext): Promise<ProjectionStatusView> {
    requireOperator(context);
    checkProjection(context, name);
    const engine = engineOf(context);
    await engine.rebuild(name);
    return ProjectionStatusView.from(await engine.status(name));
  }

  @Mutation(() => ProjectionStatusView, { description: 'Resumes a projection stopped on a failure, from its checkpoint.' })
  async resumeProjection(@Arg('name', () => String) name: string, @Ctx() context: ApiContext): Promise<ProjectionStatusView> {
    requireOperator(context);
    checkProjection(context, name);
    const engine = engineOf(context);
    engine.resume(name);
    return ProjectionStatusView.from(await engine.status(name));
  }

  @Query(() => [ReactorStatusView])
  async reactorStatuses(@Ctx() context: ApiContext): Promise<ReactorStatusView[]> {
    requireOperator(context);
    const statuses = await reactorsOf(context).status();
    return statuses.map((status) => ReactorStatusView.from(status));
  }

  @Query(() => ParkedEventPage)
  async parkedEvents(
    @Arg('reactor', () => String, { nullable: true }) reactor: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() context: ApiContext,
  ): Promise<ParkedEventPage> {
    requireAccess(context, ADMIN);
    const scope = adminScope(context);
    const limit = first ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
      throw new ApiError('BAD_USER_INPUT', 'first must be from 1 to 500', { fields: [{ path: 'first', message: 'out of range' }] });
    }
    const page = await reactorsOf(context).listParked({
      limit,
      ...(reactor != null ? { reactor } : {}),
      ...(after != null ? { after } : {}),
    });
    // A tenant's admin sees its tenant's parked events only (a page may then hold fewer than `first`).
    const items = scope.all
      ? page.items
      : page.items
          .filter((item) => splitTenantStream(item.streamName)?.tenantId === scope.tenantId)
          .map((item) => ({ ...item, streamName: callerStreamName(scope.tenantId, item.streamName) }));
    return Object.assign(new ParkedEventPage(), { items: items.map((item) => ParkedEventView.from(item)), next: page.next ?? null });
  }

  @Mutation(() => Int, { description: "Puts a reactor's parked events (all, the given ids, or one stream's) back into delivery; answers how many." })
  async redriveParked(
    @Arg('reactor', () => String) reactor: string,
    @Arg('eventIds', () => [String], { nullable: true }) eventIds: string[] | null,
    @Ctx() context: ApiContext,
    @Arg('streamName', () => String, { nullable: true, description: "Only this stream's parked events." }) streamName?: string | null,
  ): Promise<number> {
    requireAccess(context, ADMIN);
    const scope = adminScope(context);
    const reactors = reactorsOf(context);
    if (eventIds != null && streamName != null) {
      throw new ApiError('BAD_USER_INPUT', 'give eventIds or streamName, not both', { fields: [{ path: 'streamName', message: 'not with eventIds' }] });
    }
    if (streamName != null && !scope.all) {
      throw new ForbiddenError("with tenancy on, an admin redrives its own tenant's parked events by id; redriving a stream needs an operator role");
    }
    if (scope.all) return reactors.redrive({ reactor, ...(eventIds != null ? { eventIds } : {}), ...(streamName != null ? { streamName } : {}) });
    if (eventIds == null || eventIds.length === 0 || eventIds.length > 500) {
      throw new ForbiddenError("with tenancy on, an admin redrives its own tenant's parked events by id (1 to 500 of them); redriving all needs an operator role");
    }
    await checkOwnParked(reactors, reactor, eventIds, scope.tenantId);
    return reactors.redrive({ reactor, eventIds });
  }
}

/**
 * Checks that every id is a parked event of the reactor in the tenant's streams, reading the parked
 * events once (linear in how many are parked). Any other id is NOT_FOUND, like one that does not exist.
 */
async function checkOwnParked(reactors: ReactorAdmin, reactor: string, eventIds: readonly string[], tenantId: string): Promise<void> {
  const wanted = new Set(eventIds);
  const own = new Set<string>();
  let after: string | undefined;
  do {
    const page = await reactors.listParked({ reactor, limit: 500, ...(after !== undefined ? { after } : {}) });
    for (const item of page.items) {
      if (wanted.has(item.eventId) && splitTenantStream(item.streamName)?.tenantId === tenantId) own.add(item.eventId);
    }
    after = page.next;
  } while (after !== undefined && own.size < wanted.size);
  const missing = [...wanted].filter((id) => !own.has(id));
  if (missing.length > 0) throw new ApiError('NOT_FOUND', `no parked event ${missing.map((id) => JSON.stringify(id)).join(', ')} of ${JSON.stringify(reactor)} in your tenant`);
}
