import { defineCollection, defineProjection, tenantDocumentKey, tenantDocuments, tenantOfEvent } from '../../../src';

export interface TicketDoc {
  ticketId: string;
  title: string;
  status: 'open' | 'closed';
  openedBy: string;
  /** Set by tenantDocuments for events written under tenancy. */
  tenantId?: string;
}

// `tenantId` is indexed so that a tenant-scoped API can list one tenant's tickets (its documents are
// written through tenantDocuments, which stamps it); without tenancy it stays empty.
const tickets = defineCollection<TicketDoc>({ indexes: { status: 'text', openedBy: 'text', tenantId: 'text' } });

export const ticketBoard = defineProjection({
  name: 'ticket-board',
  version: 1,
  eventTypes: ['TicketOpened', 'TicketRenamed', 'TicketClosed'],
  collections: { tickets },
  documentKeys: { tickets: (event) => tenantDocumentKey(tenantOfEvent(event), (event.data as { ticketId: string }).ticketId) },
  async handle(events, tx) {
    for (const event of events) {
      // Each event's documents are its tenant's (the writer itself for events written without tenancy).
      const docs = tenantDocuments(tx.documents('tickets'), event);
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
