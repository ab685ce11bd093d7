import { defineCollection, defineProjection } from '../../src';
import { checkTenantCollections, resolveTenancy } from '../../src/api/tenancy';
import { ticketBoard } from './app/ticket-board.projection';

const untenanted = defineProjection({
  name: 'untenanted',
  version: 1,
  eventTypes: ['TicketOpened'],
  collections: { notes: defineCollection<{ text: string }>({ indexes: { text: 'text' } }) },
  handle: () => undefined,
});

describe('tenancy configuration', () => {
  it('refuses at start a collection a tenant-scoped API could not filter by tenant, naming it', () => {
    expect(() => checkTenantCollections(resolveTenancy({ mode: 'required' }), [ticketBoard, untenanted])).toThrow(/untenanted\.notes/);
    expect(() => checkTenantCollections(resolveTenancy({ mode: 'required' }), [ticketBoard])).not.toThrow();
    // Without tenancy nothing changes.
    expect(() => checkTenantCollections(resolveTenancy(undefined), [untenanted])).not.toThrow();
  });
});
