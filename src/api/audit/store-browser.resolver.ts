import { injectable } from 'inversify';
import { Arg, Ctx, Field, Int, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { EventFilter } from '../../event-store/event-store';
import { Position } from '../../event-store/position';
import { storeAdminOf } from '../../event-store/store-admin';
import { tenantOfEvent } from '../../event-store/tenant-stream';
import type { ApiContext } from '../api-context';
import { requireAccess } from '../authorization';
import { ApiError, ForbiddenError } from '../errors';
import { adminScope, callerStreamName, requireTenant } from '../tenancy';
import { AuditEventView } from './audit.types';

@ObjectType('StreamSummary', { description: 'A stream and the revision of its last event.' })
export class StreamSummaryView {
  @Field(() => String)
  streamName!: string;

  @Field(() => String, { description: 'The revision of its last event (a 64-bit integer as a string).' })
  revision!: string;
}

@ObjectType('StreamPage')
export class StreamPage {
  @Field(() => [StreamSummaryView])
  items!: StreamSummaryView[];

  @Field(() => String, { nullable: true, description: 'Pass as after for the next page; null on the last page.' })
  next!: string | null;
}

const MAX_PAGE = 500;
const MAX_FILTER_ITEMS = 20;

/**
 * The store as an operator browses it (the console): streams by prefix, a page at a time, and a live
 * tail of new events. Roles of the audit API; listing every stream spans tenants, so with tenancy on
 * it needs an operator role, and a tenant's auditor tails its own tenant's events only.
 */
@Resolver()
@injectable()
export class StoreBrowserResolver {
  @Query(() => StreamPage, { description: 'Streams whose name starts with prefix, in name order, a page at a time.' })
  async streams(
    @Arg('prefix', () => String, { nullable: true }) prefix: string | null,
    @Arg('after', () => String, { nullable: true, description: 'The next of the previous page.' }) after: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() context: ApiContext,
  ): Promise<StreamPage> {
    requireAccess(context, { roles: context.services.auditRoles });
    if (!adminScope(context).all) throw new ForbiddenError('with tenancy on, listing streams spans every tenant: it needs an operator role');
    const size = first ?? 50;
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE) {
      throw new ApiError('BAD_USER_INPUT', `first must be from 1 to ${MAX_PAGE}`, { fields: [{ path: 'first', message: 'out of range' }] });
    }
    const admin = storeAdminOf(context.services.eventStore);
    if (!admin) throw new ApiError('UNAVAILABLE', `a ${context.services.eventStore.backend} store cannot list its streams`);
    const page = await admin.listStreams({ limit: size + 1, ...(prefix ? { prefix } : {}), ...(after ? { after } : {}) });
    const items = page.slice(0, size).map((stream) => Object.assign(new StreamSummaryView(), { streamName: stream.streamName, revision: stream.revision.toString() }));
    return Object.assign(new StreamPage(), { items, next: page.length > size ? items.at(-1)!.streamName : null });
  }

  @Query(() => String, { nullable: true, description: "The store's head: the position of its last event (null when empty). A tail from here misses nothing." })
  async storeHead(@Ctx() context: ApiContext): Promise<string | null> {
    requireAccess(context, { roles: context.services.auditRoles });
    return (await context.services.eventStore.headPosition())?.toString() ?? null;
  }

  @Subscription(() => AuditEventView, {
    description:
      'New events as they are appended (from now on, or after a position), optionally only of streams with these prefixes and of these types.',
    subscribe: ({ args, context }) => {
      const ctx = context as ApiContext;
      requireAccess(ctx, { roles: ctx.services.auditRoles });
      const { prefixes, types, after } = args as { prefixes?: string[] | null; types?: string[] | null; after?: string | null };
      for (const list of [prefixes, types]) {
        if (list && (list.length > MAX_FILTER_ITEMS || list.some((item) => item.length === 0 || item.length > 255))) {
          throw new ApiError('BAD_USER_INPUT', `prefixes and types take at most ${MAX_FILTER_ITEMS} non-empty names each`);
        }
      }
      const scope = adminScope(ctx);
      const tenantId = scope.all ? undefined : requireTenant(ctx);
      const filter: EventFilter = { ...(prefixes?.length ? { streamPrefixes: prefixes } : {}), ...(types?.length ? { eventTypes: types } : {}) };
      let from: Position | 'end' = 'end';
      try {
        if (after) from = Position.parse(after);
      } catch {
        throw new ApiError('BAD_USER_INPUT', 'after must be a position the API gave', { fields: [{ path: 'after', message: 'not a position' }] });
      }
      return tailEvents(ctx, filter, tenantId, from);
    },
  })
  eventAppended(
    @Root() event: AuditEventView,
    @Arg('prefixes', () => [String], { nullable: true }) _prefixes: string[] | null,
    @Arg('types', () => [String], { nullable: true }) _types: string[] | null,
    @Arg('after', () => String, { nullable: true, description: 'Start after this position (exclusive) instead of now: resume a tail.' }) _after: string | null,
  ): AuditEventView {
    return event;
  }
}

/**
 * The store's own catch-up subscription from its head (or a position): the events appended since, as audit views.
 * Ends when the client unsubscribes (the iterator's return) or the API shuts down.
 */
async function* tailEvents(context: ApiContext, filter: EventFilter, tenantId: string | undefined, from: Position | 'end'): AsyncGenerator<AuditEventView> {
  const subscription = context.services.eventStore.subscribeToAll({ fromPosition: from, filter });
  const stop = (): void => void subscription.close();
  context.services.shutdown.addEventListener('abort', stop, { once: true });
  try {
    for await (const message of subscription) {
      if (message.kind !== 'event') continue;
      const event = message.event;
      if (tenantId !== undefined && tenantOfEvent(event) !== tenantId) continue;
      const view = AuditEventView.from(event);
      view.streamName = callerStreamName(tenantId, event.streamName);
      yield view;
    }
  } finally {
    context.services.shutdown.removeEventListener('abort', stop);
    await subscription.close();
  }
}
