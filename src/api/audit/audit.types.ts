import { GraphQLDateTime, GraphQLJSON } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import type { RecordedEvent } from '../../event-store/event-store';

/**
 * A stored event as the audit API shows it; an app may reuse it under its own GraphQL type name.
 *
 * @example
 * @ObjectType('RecordedEvent') class RecordedEventType extends AuditEventView {}
 */
@ObjectType('AuditEvent', { description: 'A stored event with its revision, position and metadata.' })
export class AuditEventView {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  type!: string;

  @Field(() => String)
  streamName!: string;

  @Field(() => String, { description: 'Revision in its stream (a 64-bit integer as a string).' })
  revision!: string;

  @Field(() => String, { description: 'Global position (opaque; sorts as a string).' })
  position!: string;

  @Field(() => GraphQLJSON)
  data!: unknown;

  @Field(() => GraphQLJSON)
  metadata!: unknown;

  @Field(() => GraphQLDateTime)
  recordedAt!: Date;

  static from(event: RecordedEvent): AuditEventView {
    return Object.assign(new AuditEventView(), {
      id: event.id,
      type: event.type,
      streamName: event.streamName,
      revision: event.revision.toString(),
      position: event.position.toString(),
      data: event.data,
      metadata: event.metadata,
      recordedAt: event.recordedAt,
    });
  }
}

@ObjectType('StreamEventPage')
export class StreamEventPage {
  @Field(() => [AuditEventView])
  events!: AuditEventView[];

  @Field(() => String, { nullable: true, description: 'Pass as fromRevision for the next page; null on the last page.' })
  nextRevision!: string | null;
}

@ObjectType('CorrelationPage')
export class CorrelationPage {
  @Field(() => [AuditEventView])
  events!: AuditEventView[];

  @Field(() => String, { nullable: true, description: 'Pass as after for the next page; null on the last page.' })
  nextCursor!: string | null;
}

@ObjectType('AggregateState', { description: 'An aggregate as it was at a revision or a time.' })
export class AggregateStateView {
  @Field(() => String)
  streamName!: string;

  @Field(() => String, { description: 'The last folded revision; -1 when the stream did not exist yet.' })
  revision!: string;

  @Field(() => String, { nullable: true })
  position!: string | null;

  @Field(() => GraphQLDateTime, { nullable: true })
  time!: Date | null;

  @Field(() => GraphQLJSON)
  state!: unknown;
}

export const AUDIT_PAGE_MAX = 500;
export const AUDIT_PAGE_DEFAULT = 100;

