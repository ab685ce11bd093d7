import { z } from 'zod';
import { BusinessRuleError, defineAggregate, defineCommands, defineEvents, type CommandOf, type Decider, type EventOf } from '../../../src';

export const ticketCommands = defineCommands({
  OpenTicket: { schema: z.object({ ticketId: z.string().min(1), title: z.string().min(1).max(60_000) }), stream: 'new' },
  RenameTicket: { schema: z.object({ title: z.string().min(1).max(60_000) }), stream: 'existing' },
  CloseTicket: { schema: z.object({}), stream: 'existing' },
});

export const ticketEvents = defineEvents({
  TicketOpened: z.object({ ticketId: z.string(), title: z.string() }),
  TicketRenamed: z.object({ ticketId: z.string(), title: z.string() }),
  TicketClosed: z.object({ ticketId: z.string() }),
});

type TicketCommand = CommandOf<typeof ticketCommands>;
type TicketEvent = EventOf<typeof ticketEvents>;
export type TicketState = { status: 'none' } | { status: 'open' | 'closed'; ticketId: string; title: string };

/**
 * Events carry the ticket id, so the projection needs no stream-name parsing. No timestamps in the
 * commands: a retried mutation must send the same command, and the time is in each event's metadata.
 */
export const ticketDecider: Decider<TicketCommand, TicketEvent, TicketState> = {
    initialState: () => ({ status: 'none' }),
    decide(command, state) {
      switch (command.type) {
        case 'OpenTicket':
          return [{ type: 'TicketOpened', data: { ticketId: command.data.ticketId, title: command.data.title } }];
        case 'RenameTicket':
          if (state.status !== 'open') throw new BusinessRuleError('TICKET_CLOSED', 'a closed ticket cannot be renamed');
          if (state.title === command.data.title) return [];
          return [{ type: 'TicketRenamed', data: { ticketId: state.ticketId, title: command.data.title } }];
        case 'CloseTicket':
          if (state.status !== 'open') throw new BusinessRuleError('TICKET_CLOSED', 'the ticket is already closed');
          return [{ type: 'TicketClosed', data: { ticketId: state.ticketId } }];
        default: {
          const _never: never = command;
          return _never;
        }
      }
    },
    evolve(state, event) {
      switch (event.type) {
        case 'TicketOpened':
          return { status: 'open', ticketId: event.data.ticketId, title: event.data.title };
        case 'TicketRenamed':
          return state.status === 'none' ? state : { ...state, title: event.data.title };
        case 'TicketClosed':
          return state.status === 'none' ? state : { ...state, status: 'closed' };
        default: {
          const _never: never = event;
          return _never;
        }
      }
    },
  };

export const ticket = defineAggregate({ category: 'ticket', decider: ticketDecider, commands: ticketCommands, events: ticketEvents });
