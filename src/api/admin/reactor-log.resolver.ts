import { GraphQLDateTime } from 'graphql-scalars';
import { injectable } from 'inversify';
import { Arg, Ctx, Field, Float, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { splitTenantStream } from '../../event-store/tenant-stream';
import type { ApiContext } from '../api-context';
import { requireAccess } from '../authorization';
import { ApiError } from '../errors';
import type { InvocationInfo } from '../reactor-admin';
import { adminScope, callerStreamName } from '../tenancy';

@ObjectType('ReactorInvocation', { description: 'One attempt to handle one event.' })
export class ReactorInvocationView {
  @Field(() => String)
  reactor!: string;

  @Field(() => String)
  eventId!: string;

  @Field(() => String)
  streamName!: string;

  @Field(() => String)
  position!: string;

  @Field(() => Int)
  attempt!: number;

  @Field(() => String, { description: 'succeeded | retrying | parked' })
  outcome!: string;

  @Field(() => Float)
  durationMs!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => GraphQLDateTime)
  at!: Date;

  static from(invocation: InvocationInfo, streamName: string): ReactorInvocationView {
    return Object.assign(new ReactorInvocationView(), {
      reactor: invocation.reactor,
      eventId: invocation.eventId,
      streamName,
      position: invocation.position,
      attempt: invocation.attempt,
      outcome: invocation.outcome,
      durationMs: invocation.durationMs,
      error: invocation.error?.message ?? null,
      at: invocation.at,
    });
  }
}

const MAX_PAGE = 500;

/** The reactors' invocation log (role `admin`): every attempt, newest first; a tenant's admin sees its tenant's. */
@Resolver()
@injectable()
export class ReactorLogResolver {
  @Query(() => [ReactorInvocationView], { description: "The reactors' invocation log, newest first: every attempt with its outcome, duration and error." })
  async reactorInvocations(
    @Arg('reactor', () => String, { nullable: true }) reactor: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() context: ApiContext,
  ): Promise<ReactorInvocationView[]> {
    requireAccess(context, { roles: ['admin'] });
    const scope = adminScope(context);
    const limit = first ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new ApiError('BAD_USER_INPUT', `first must be from 1 to ${MAX_PAGE}`, { fields: [{ path: 'first', message: 'out of range' }] });
    }
    const reactors = context.services.reactors;
    if (!reactors?.invocations) throw new ApiError('UNAVAILABLE', 'no reactors runtime with an invocation log is attached to this API process');
    const invocations = await reactors.invocations({ limit, ...(reactor != null ? { reactor } : {}) });
    return invocations
      .filter((invocation) => scope.all || splitTenantStream(invocation.streamName)?.tenantId === scope.tenantId)
      .map((invocation) => ReactorInvocationView.from(invocation, scope.all ? invocation.streamName : callerStreamName(scope.tenantId, invocation.streamName)));
  }
}
