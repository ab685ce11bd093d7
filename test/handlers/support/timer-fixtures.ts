// A small domain for timer tests: a ticket that expires unless it is closed first.
import { z } from 'zod';
import { BusinessRuleError, defineAggregate, defineCommands, defineEvents, type CommandOf, type Decider, type EventOf } from '../../../src/domain';
import { defineReactor, type Reactor } from '../../../src/handlers';

export const ticketCommands = defineCommands({
  OpenTicket: { schema: z.object({}), stream: 'new' },
  CloseTicket: { schema: z.object({}), stream: 'existing' },
  ExpireTicket: { schema: z.object({ reason: z.string() }), stream: 'existing' },
  Refuse: { schema: z.object({}), stream: 'existing' },
});
export const ticketEvents = defineEvents({
  TicketOpened: z.object({}),
  TicketClosed: z.object({}),
  TicketExpired: z.object({ reason: z.string() }),
});
type TicketCommand = CommandOf<typeof ticketCommands>;
type TicketEvent = EventOf<typeof ticketEvents>;
type TicketState = { status: 'none' } | { status: 'open' } | { status: 'closed' } | { status: 'expired' };

const decider: Decider<TicketCommand, TicketEvent, TicketState> = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'OpenTicket':
        return [{ type: 'TicketOpened', data: {} }];
      case 'CloseTicket':
        return state.status === 'open' ? [{ type: 'TicketClosed', data: {} }] : [];
      case 'ExpireTicket':
        return state.status === 'open' ? [{ type: 'TicketExpired', data: { reason: command.data.reason } }] : [];
      case 'Refuse':
        throw new BusinessRuleError('REFUSED', 'this command is always refused');
      default: {
        const _never: never = command;
        return _never;
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'TicketOpened':
        return { status: 'open' };
      case 'TicketClosed':
        return { status: 'closed' };
      case 'TicketExpired':
        return { status: 'expired' };
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
};

export const ticket = defineAggregate({ category: 'ticket', decider, commands: ticketCommands, events: ticketEvents });

/** Expires each opened ticket `afterMs` after it was opened, unless it is closed first. */
export function expiryReactor(afterMs: number, options: { name?: string; command?: 'ExpireTicket' | 'Refuse' } = {}): Reactor {
  return defineReactor({
    name: options.name ?? 'expiry',
    filter: { streamPrefixes: ['ticket-'] },
    retry: { initialDelayMs: 0, maxDelayMs: 0, maxAttempts: 3 },
    handle(event, context) {
      const key = `expire-${event.streamName}`;
      if (event.type === 'TicketOpened') {
        const command: TicketCommand = options.command === 'Refuse' ? { type: 'Refuse', data: {} } : { type: 'ExpireTicket', data: { reason: 'TIMEOUT' } };
        context.schedule(ticket, { streamName: event.streamName, command }, { afterMs, key });
      }
      if (event.type === 'TicketClosed') context.cancelSchedule(key);
    },
  });
}
