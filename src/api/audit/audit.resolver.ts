import { GraphQLDateTime } from 'graphql-scalars';
import { injectable } from 'inversify';
import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { loadAt, type PointInTime } from '../../commands/load-at';
import { readCorrelation, upcastByCategory } from '../../commands/read-correlation';
import { withArchives } from '../../event-store/archive-reads';
import type { EventStore, EventStoreReader, RecordedEvent } from '../../event-store/event-store';
import { isStreamLifecycleHost } from '../../event-store/stream-lifecycle';
import { Position } from '../../event-store/position';
import { tenantOfEvent } from '../../event-store/tenant-stream';
import type { ApiContext } from '../api-context';
import { requireAccess } from '../authorization';
import { ApiError } from '../errors';
import { callerStreamName, requireTenant, storedStreamName } from '../tenancy';
import { AggregateStateView, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, AuditEventView, CorrelationPage, StreamEventPage } from './audit.types';

function pageSize(first: number | null | undefined): number {
  const size = first ?? AUDIT_PAGE_DEFAULT;
  if (!Number.isSafeInteger(size) || size < 1 || size > AUDIT_PAGE_MAX) {
    throw new ApiError('BAD_USER_INPUT', `first must be from 1 to ${AUDIT_PAGE_MAX}`, { fields: [{ path: 'first', message: 'out of range' }] });
  }
  return size;
}

function parseRevision(text: string | null | undefined, field: string): bigint | undefined {
  if (text === null || text === undefined) return undefined;
  if (!/^(0|-1|[1-9][0-9]{0,18})$/.test(text)) {
    throw new ApiError('BAD_USER_INPUT', `${field} must be a revision (a non-negative integer)`, { fields: [{ path: field, message: 'not a revision' }] });
  }
  return BigInt(text);
}

/**
 * With tenancy on, a stream the caller names is its tenant's stream: one that does not exist there is
 * NOT_FOUND, exactly like one that exists only in another tenant, so existence never leaks.
 */
async function auditedStream(context: ApiContext, streamName: string): Promise<{ readonly tenantId: string | undefined; readonly stored: string }> {
  const tenantId = requireTenant(context);
  const stored = storedStreamName(tenantId, streamName);
  if (tenantId !== undefined && !(await hasEvents(context.services.eventStore, stored))) {
    throw new ApiError('NOT_FOUND', `no stream ${JSON.stringify(streamName)} in your tenant`);
  }
  return { tenantId, stored };
}

async function hasEvents(store: EventStore, streamName: string): Promise<boolean> {
  for await (const _event of store.readStream(streamName, { maxCount: 1, includeHidden: true })) return true;
  // A stream archived whole has no event left in the store, only its record.
  return isStreamLifecycleHost(store) && (await store.getStreamMetadata(streamName)).archivedBefore !== undefined;
}

/** The store as the audit API reads it: archived streams read back from the archives, when the API keeps any. */
function auditReader(context: ApiContext): EventStoreReader {
  const { eventStore, archives } = context.services;
  return archives ? withArchives(eventStore, archives) : eventStore;
}

/** An event as its tenant's caller sees it: streams named the way the tenant names them. */
function auditView(tenantId: string | undefined, event: RecordedEvent): AuditEventView {
  const view = AuditEventView.from(event);
  view.streamName = callerStreamName(tenantId, event.streamName);
  return view;
}

/**
 * The audit API (roles `admin` or `auditor` by default): a stream's events with revisions and
 * metadata, an aggregate's state at a revision or a time, and one workflow's events by correlation id.
 */
@Resolver()
@injectable()
export class AuditResolver {
  @Query(() => StreamEventPage, { description: "A stream's events from a revision on, a page at a time." })
  async streamEvents(
    @Arg('streamName', () => String) streamName: string,
    @Arg('fromRevision', () => String, { nullable: true }) fromRevision: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() context: ApiContext,
  ): Promise<StreamEventPage> {
    requireAccess(context, { roles: context.services.auditRoles });
    const size = pageSize(first);
    const from = parseRevision(fromRevision, 'fromRevision') ?? 0n;
    const { tenantId, stored } = await auditedStream(context, streamName);
    const events: AuditEventView[] = [];
    let nextRevision: string | null = null;
    const current = upcastByCategory(context.services.aggregates);
    for await (const event of auditReader(context).readStream(stored, { fromRevision: from < 0n ? 0n : from, maxCount: size + 1, includeHidden: true })) {
      if (events.length === size) {
        nextRevision = event.revision.toString();
        break;
      }
      events.push(auditView(tenantId, current(event)));
    }
    return Object.assign(new StreamEventPage(), { events, nextRevision });
  }

  @Query(() => AggregateStateView, { description: "An aggregate's state right after a revision, or as of a time (give one)." })
  async aggregateState(
    @Arg('streamName', () => String) streamName: string,
    @Arg('revision', () => String, { nullable: true }) revision: string | null,
    @Arg('time', () => GraphQLDateTime, { nullable: true }) time: Date | null,
    @Ctx() context: ApiContext,
  ): Promise<AggregateStateView> {
    requireAccess(context, { roles: context.services.auditRoles });
    if ((revision == null) === (time == null)) {
      throw new ApiError('BAD_USER_INPUT', 'give exactly one of revision and time', {
        fields: [{ path: revision == null ? 'revision' : 'time', message: 'give exactly one of revision and time' }],
      });
    }
    const dash = streamName.indexOf('-');
    const aggregate = context.services.aggregates.find((candidate) => candidate.category === streamName.slice(0, dash));
    if (dash <= 0 || !aggregate) {
      throw new ApiError('NOT_FOUND', `no aggregate is registered for the stream ${JSON.stringify(streamName)}`);
    }
    const at: PointInTime = time != null ? { time } : { revision: parseRevision(revision, 'revision')! };
    const { stored } = await auditedStream(context, streamName);
    const historic = await loadAt(auditReader(context), aggregate, stored, at);
    return Object.assign(new AggregateStateView(), {
      streamName,
      revision: historic.revision.toString(),
      position: historic.position?.toString() ?? null,
      time: historic.time ?? null,
      state: toJson(historic.state),
    });
  }

  @Query(() => CorrelationPage, { description: "One workflow's events across streams, in order, by correlation id." })
  async correlation(
    @Arg('correlationId', () => ID) correlationId: string,
    @Arg('after', () => String, { nullable: true, description: 'The nextCursor of the previous page.' }) after: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() context: ApiContext,
  ): Promise<CorrelationPage> {
    requireAccess(context, { roles: context.services.auditRoles });
    const tenantId = requireTenant(context);
    const size = pageSize(first);
    const from = after == null ? undefined : Position.parse(after);
    const events: AuditEventView[] = [];
    let nextCursor: string | null = null;
    for await (const event of readCorrelation(context.services.eventStore, correlationId, context.services.aggregates)) {
      if (from && !event.position.isAfter(from)) continue;
      // A correlation id is no secret: with tenancy on, only the caller's tenant's events are shown.
      if (tenantId !== undefined && tenantOfEvent(event) !== tenantId) continue;
      if (events.length === size) {
        nextCursor = events.at(-1)!.position;
        break;
      }
      events.push(auditView(tenantId, event));
    }
    return Object.assign(new CorrelationPage(), { events, nextCursor });
  }
}

/** Aggregate state as JSON: bigints as strings, Dates as ISO strings, Maps and Sets as arrays. */
function toJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === 'bigint') return item.toString();
      if (item instanceof Map) return [...(item as Map<unknown, unknown>).entries()];
      if (item instanceof Set) return [...(item as Set<unknown>).values()];
      return item;
    }) ?? 'null',
  );
}
