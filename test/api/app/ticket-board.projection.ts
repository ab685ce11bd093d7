import { defineCollection, defineProjection } from '../../../src';

export interface TicketDoc {
  ticketId: string;
  title: string;
  status: 'open' | 'closed';
  openedBy: string;
}

const tickets = defineCollection<TicketDoc>({ indexes: { status: 'text', openedBy: 'text' } });

export const ticketBoard = defineProjection({
  name: 'ticket-board',
  version: 1,
  eventTypes: ['TicketOpened', 'TicketRenamed', 'TicketClosed'],
  collections: { tickets },
  documentKeys: { tickets: (event) => (event.data as { ticketId: string }).ticketId },
  async handle(events, tx) {
    const docs = tx.documents('tickets');
    for (const event of events) {
      const data = event.data as { ticketId: string; title?: string };
      switch (event.type) {
        case 'TicketOpened':
          docs.put(data.ticketId, {
            ticketId: data.ticketId,
            title: data.title ?? '',
            status: 'open',
            openedBy: typeof event.metadata.userId === 'string' ? event.metadata.userId : '',
          });
          break;
        case 'TicketRenamed':
          await docs.patch(data.ticketId, { title: data.title ?? '' });
          break;
        case 'TicketClosed':
          await docs.patch(data.ticketId, { status: 'closed' });
          break;
        default: {
          const _never: never = event.type;
        }
      }
    }
  },
});
