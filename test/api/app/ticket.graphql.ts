import { IsNotEmpty, MaxLength } from 'class-validator';
import { inject, injectable } from 'inversify';
import { ArgsType, Ctx, Field, ID, InputType, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { documentListQuery, documentQuery } from '../../../src/api';
import { commandMutations, documentListSubscription, documentSubscription, API_SERVICES, ForbiddenError, requireAccess, tenantReader, type ApiContext, type ApiServices, type ClassType } from '../../../src/api';
import { ticket } from './ticket';
import { ticketBoard, type TicketDoc } from './ticket-board.projection';

@InputType()
export class OpenTicketInput {
  @Field(() => ID)
  @IsNotEmpty()
  ticketId!: string;

  @Field(() => String)
  @IsNotEmpty()
  @MaxLength(60_000)
  title!: string;
}

@InputType()
export class RenameTicketInput {
  @Field(() => ID)
  ticketId!: string;

  @Field(() => String)
  title!: string;
}

@InputType()
export class CloseTicketInput {
  @Field(() => ID)
  ticketId!: string;
}

/** `fileTicket`'s flat arguments: the same fields and rules as `OpenTicketInput`, without `input`. */
@ArgsType()
export class FileTicketArgs {
  @Field(() => ID)
  @IsNotEmpty()
  ticketId!: string;

  @Field(() => String)
  @IsNotEmpty()
  @MaxLength(60_000)
  title!: string;
}

/** `retitleTicket`'s flat arguments. */
@ArgsType()
export class RetitleTicketArgs {
  @Field(() => ID)
  ticketId!: string;

  @Field(() => String)
  @IsNotEmpty()
  title!: string;
}

@ObjectType('Ticket')
export class TicketView {
  @Field(() => ID)
  ticketId!: string;

  @Field(() => String)
  title!: string;

  @Field(() => String)
  status!: string;

  @Field(() => String)
  openedBy!: string;
}

@ArgsType()
export class TicketFilter {
  @Field(() => String, { nullable: true })
  status?: string;
}

/** The test app's whole GraphQL surface, declared with the kit's helpers. */
export function ticketResolvers(): ClassType[] {
  const tickets = commandMutations(ticket);
  return [
    tickets.mutation({
      name: 'openTicket',
      input: OpenTicketInput,
      toCommand: (input) => ({
        streamName: ticket.streamName(input.ticketId),
        command: { type: 'OpenTicket', data: { ticketId: input.ticketId, title: input.title } },
      }),
    }),
    tickets.mutation({
      name: 'renameTicket',
      input: RenameTicketInput,
      toCommand: (input) => ({ streamName: ticket.streamName(input.ticketId), command: { type: 'RenameTicket', data: { title: input.title } } }),
      // The per-command hook: titles starting with "locked" are for admins only.
      authorize: (intent, context) => {
        if (intent.command.type === 'RenameTicket' && intent.command.data.title.startsWith('locked') && !context.user?.roles.includes('admin')) {
          throw new ForbiddenError('only admins may lock tickets');
        }
      },
    }),
    tickets.mutation({
      name: 'closeTicket',
      input: CloseTicketInput,
      toCommand: (input) => ({ streamName: ticket.streamName(input.ticketId), command: { type: 'CloseTicket', data: {} } }),
      access: { roles: ['agent', 'admin'] },
      waitFor: [ticketBoard.name],
    }),
    // Flat arguments (`args`) instead of `input`: fileTicket(ticketId: ID!, title: String!, commandId: ID, waitFor: [String!]).
    tickets.mutation({
      name: 'fileTicket',
      description: 'openTicket with flat arguments.',
      args: FileTicketArgs,
      toCommand: (args) => ({
        streamName: ticket.streamName(args.ticketId),
        command: { type: 'OpenTicket', data: { ticketId: args.ticketId, title: args.title } },
      }),
    }),
    // Flat arguments and no client `waitFor` argument: retitleTicket(ticketId: ID!, title: String!, commandId: ID).
    tickets.mutation({
      name: 'retitleTicket',
      args: RetitleTicketArgs,
      toCommand: (args) => ({ streamName: ticket.streamName(args.ticketId), command: { type: 'RenameTicket', data: { title: args.title } } }),
      waitFor: [ticketBoard.name],
      waitForArgument: false,
    }),
    documentQuery({ name: 'ticket', projection: ticketBoard, collection: 'tickets', type: TicketView, access: { public: true } }),
    documentListQuery({
      name: 'tickets',
      projection: ticketBoard,
      collection: 'tickets',
      type: TicketView,
      filter: TicketFilter,
      where: (filter) => (filter.status ? { status: filter.status as TicketDoc['status'] } : {}),
      access: { public: true },
    }),
    documentSubscription({ name: 'ticketChanged', projection: ticketBoard, collection: 'tickets', type: TicketView, access: { public: true } }),
    documentListSubscription({
      name: 'ticketsChanged',
      projection: ticketBoard,
      collection: 'tickets',
      type: TicketView,
      filter: TicketFilter,
      where: (filter) => (filter.status ? { status: filter.status as TicketDoc['status'] } : {}),
      // Signed-in users only (the other read operations are public).
    }),
    TicketStatsResolver,
  ];
}

/** A hand-written resolver: its services come from the inversify composition root. */
@Resolver()
@injectable()
export class TicketStatsResolver {
  constructor(@inject(API_SERVICES) private readonly services: ApiServices) {}

  @Query(() => Int, { description: 'Open tickets.' })
  openTicketCount(@Ctx() context: ApiContext): Promise<number> {
    // Through tenantReader: with tenancy on, only the caller's tenant's tickets are counted.
    return tenantReader(context, ticketBoard, 'tickets').count({ status: 'open' });
  }

  @Query(() => Boolean, { description: 'Fails like a bug would (a driver error quoting SQL), for error-formatting tests.' })
  explode(@Ctx() context: ApiContext): boolean {
    requireAccess(context, { public: true });
    throw new Error('relation "users" does not exist: SELECT secret FROM users');
  }
}
