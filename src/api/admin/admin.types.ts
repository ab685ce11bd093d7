import { GraphQLDateTime } from 'graphql-scalars';
import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { ProjectionStatus } from '../../projections/projection-status';
import type { ParkedEventInfo, ReactorStatusInfo } from '../reactor-admin';

@ObjectType('ProjectionError')
export class ProjectionErrorView {
  @Field(() => String)
  message!: string;

  @Field(() => String, { nullable: true })
  code!: string | null;

  @Field(() => GraphQLDateTime)
  at!: Date;

  @Field(() => String, { nullable: true, description: 'The id of the event it failed on.' })
  eventId!: string | null;

  @Field(() => String, { nullable: true })
  eventType!: string | null;
}

@ObjectType('ProjectionRebuild')
export class ProjectionRebuildView {
  @Field(() => Int)
  version!: number;

  @Field(() => String)
  state!: string;

  @Field(() => Int, { nullable: true })
  eventsDone!: number | null;

  @Field(() => Int, { nullable: true })
  eventsTotal!: number | null;

  @Field(() => Float)
  eventsPerSecond!: number;
}

@ObjectType('ProjectionStatus')
export class ProjectionStatusView {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'catching-up | live | stopped | failed' })
  state!: string;

  @Field(() => Int, { description: 'The version readers see.' })
  version!: number;

  @Field(() => Int, { description: 'The version in the code.' })
  definedVersion!: number;

  @Field(() => String, { nullable: true })
  position!: string | null;

  @Field(() => Float)
  eventsHandled!: number;

  @Field(() => Float, { nullable: true })
  lagEvents!: number | null;

  @Field(() => Float)
  lagMs!: number;

  @Field(() => ProjectionErrorView, { nullable: true })
  lastError!: ProjectionErrorView | null;

  @Field(() => ProjectionRebuildView, { nullable: true })
  rebuild!: ProjectionRebuildView | null;

  static from(status: ProjectionStatus): ProjectionStatusView {
    const error = status.lastError;
    return Object.assign(new ProjectionStatusView(), {
      name: status.name,
      state: status.state,
      version: status.version,
      definedVersion: status.definedVersion,
      position: status.position?.toString() ?? null,
      eventsHandled: status.eventsHandled,
      lagEvents: status.lagEvents ?? null,
      lagMs: status.lagMs,
      lastError: error
        ? Object.assign(new ProjectionErrorView(), {
            message: error.message,
            code: error.code ?? null,
            at: error.at,
            eventId: error.event?.id ?? null,
            eventType: error.event?.type ?? null,
          })
        : null,
      rebuild: status.rebuild
        ? Object.assign(new ProjectionRebuildView(), {
            version: status.rebuild.version,
            state: status.rebuild.state,
            eventsDone: status.rebuild.eventsDone ?? null,
            eventsTotal: status.rebuild.eventsTotal ?? null,
            eventsPerSecond: status.rebuild.eventsPerSecond,
          })
        : null,
    });
  }
}

@ObjectType('ReactorStatus')
export class ReactorStatusView {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  state!: string;

  @Field(() => String, { nullable: true })
  position!: string | null;

  @Field(() => Float, { nullable: true })
  lagEvents!: number | null;

  @Field(() => Int)
  parkedCount!: number;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  static from(status: ReactorStatusInfo): ReactorStatusView {
    return Object.assign(new ReactorStatusView(), {
      name: status.name,
      state: status.state,
      position: status.position ?? null,
      lagEvents: status.lagEvents ?? null,
      parkedCount: status.parkedCount,
      lastError: status.lastError ?? null,
    });
  }
}

@ObjectType('ParkedEvent')
export class ParkedEventView {
  @Field(() => String)
  reactor!: string;

  @Field(() => String)
  eventId!: string;

  @Field(() => String)
  eventType!: string;

  @Field(() => String)
  streamName!: string;

  @Field(() => String)
  position!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String)
  reason!: string;

  @Field(() => GraphQLDateTime)
  parkedAt!: Date;

  static from(parked: ParkedEventInfo): ParkedEventView {
    return Object.assign(new ParkedEventView(), { ...parked });
  }
}

@ObjectType('ParkedEventPage')
export class ParkedEventPage {
  @Field(() => [ParkedEventView])
  items!: ParkedEventView[];

  @Field(() => String, { nullable: true })
  next!: string | null;
}
