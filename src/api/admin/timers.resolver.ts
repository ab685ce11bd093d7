import { GraphQLDateTime } from 'graphql-scalars';
import { injectable } from 'inversify';
import { Arg, Ctx, Field, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { ApiContext } from '../api-context';
import { requireAccess } from '../authorization';
import { ApiError, ForbiddenError } from '../errors';
import type { ReactorAdmin, TimerInfo, TimersRequest } from '../reactor-admin';
import { adminScope } from '../tenancy';

const ADMIN = { roles: ['admin'] } as const;
const STATUSES = ['pending', 'fired', 'cancelled', 'parked'] as const;

@ObjectType('Timer', { description: 'A command a reactor scheduled for later.' })
export class TimerView {
  @Field(() => String)
  reactor!: string;

  @Field(() => String)
  key!: string;

  @Field(() => String, { description: 'pending | fired | cancelled | parked' })
  status!: string;

  @Field(() => GraphQLDateTime)
  dueAt!: Date;

  @Field(() => String, { description: 'The stream the command goes to.' })
  streamName!: string;

  @Field(() => String)
  commandType!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String, { nullable: true, description: 'Why it was parked.' })
  error!: string | null;

  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it was sent, cancelled or parked.' })
  settledAt!: Date | null;

  static from(timer: TimerInfo): TimerView {
    return Object.assign(new TimerView(), {
      reactor: timer.reactor,
      key: timer.key,
      status: timer.status,
      dueAt: timer.dueAt,
      streamName: timer.streamName,
      commandType: timer.command.type,
      attempts: timer.attempts,
      error: timer.error?.message ?? null,
      settledAt: timer.settledAt ?? null,
    });
  }
}

@ObjectType('TimerPage')
export class TimerPageView {
  @Field(() => [TimerView])
  items!: TimerView[];

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  next!: string | null;
}

type TimerAdmin = Required<Pick<ReactorAdmin, 'listTimers' | 'cancelTimer'>>;

function timersOf(context: ApiContext): TimerAdmin {
  const reactors = context.services.reactors;
  if (!reactors?.listTimers || !reactors.cancelTimer) throw new ApiError('UNAVAILABLE', 'no reactors runtime with timers is attached to this API process');
  return reactors as TimerAdmin;
}

/** The runtime's error code (the API knows the reactors runtime only through its narrow contract). */
function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** Timers span every tenant's reactors: with tenancy on they are for operators. */
function requireOperator(context: ApiContext): void {
  requireAccess(context, ADMIN);
  if (!adminScope(context).all) throw new ForbiddenError('with tenancy on, timers span every tenant: they need an operator role');
}

/** The admin API's timers (role `admin`): list them, cancel one. */
@Resolver()
@injectable()
export class TimersAdminResolver {
  @Query(() => TimerPageView, { description: 'Timers by due time (default: pending ones), a page at a time.' })
  async timers(
    @Arg('reactor', () => String, { nullable: true }) reactor: string | null,
    @Arg('status', () => String, { nullable: true, description: 'pending (default) | fired | cancelled | parked' }) status: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() context: ApiContext,
  ): Promise<TimerPageView> {
    requireOperator(context);
    const limit = first ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) {
      throw new ApiError('BAD_USER_INPUT', 'first must be from 1 to 500', { fields: [{ path: 'first', message: 'out of range' }] });
    }
    if (status != null && !(STATUSES as readonly string[]).includes(status)) {
      throw new ApiError('BAD_USER_INPUT', `status must be one of ${STATUSES.join(', ')}`, { fields: [{ path: 'status', message: 'unknown status' }] });
    }
    const request: TimersRequest = {
      limit,
      ...(reactor != null ? { reactor } : {}),
      ...(status != null ? { status: status as TimersRequest['status'] } : {}),
      ...(after != null ? { after } : {}),
    };
    let page;
    try {
      page = await timersOf(context).listTimers(request);
    } catch (error) {
      if (codeOf(error) === 'INVALID_REACTOR') throw new ApiError('BAD_USER_INPUT', (error as Error).message, { fields: [{ path: 'after', message: (error as Error).message }] });
      if (codeOf(error) === 'UNKNOWN_REACTOR') throw new ApiError('NOT_FOUND', (error as Error).message);
      throw error;
    }
    return Object.assign(new TimerPageView(), { items: page.items.map((timer) => TimerView.from(timer)), next: page.next ?? null });
  }

  @Mutation(() => Boolean, { description: 'Cancels a pending or parked timer; false when there was none to cancel.' })
  async cancelTimer(@Arg('reactor', () => String) reactor: string, @Arg('key', () => String) key: string, @Ctx() context: ApiContext): Promise<boolean> {
    requireOperator(context);
    try {
      return await timersOf(context).cancelTimer(reactor, key);
    } catch (error) {
      if (codeOf(error) === 'UNKNOWN_REACTOR') throw new ApiError('NOT_FOUND', (error as Error).message);
      throw error;
    }
  }
}
