import { InMemoryEventStore, ValidationError, type RecordedEvent } from '../../src';
import { commandSender } from '../../src/handlers/send-command';
import { ticket } from '../api/app/ticket';

async function eventsOf(store: InMemoryEventStore, streamName: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(streamName)) events.push(event);
  return events;
}

async function allEvents(store: InMemoryEventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

const open = (ticketId: string) => ({ type: 'OpenTicket' as const, data: { ticketId, title: 'follow-up' } });

describe("a reactor's send carries the triggering event's tenant", () => {
  let store: InMemoryEventStore;

  beforeEach(() => {
    store = new InMemoryEventStore();
  });
  afterEach(() => store.close());

  it('stamps the event’s metadata.tenantId on the follow-up command’s events (tenancy off: the stream stays as named)', async () => {
    const send = commandSender({ store }, 'escalate', { id: 'e-1', streamName: 'ticket-t-1', metadata: { tenantId: 'acme', correlationId: 'w-1' } });
    await send(ticket, { streamName: 'ticket-f-1', command: open('f-1') });
    const [event] = await eventsOf(store, 'ticket-f-1');
    expect(event?.metadata).toEqual(expect.objectContaining({ tenantId: 'acme', correlationId: 'w-1', causationId: 'e-1' }));
  });

  it('under tenancy sends to the event’s tenant’s stream, whatever stream the reactor names', async () => {
    const send = commandSender({ store }, 'escalate', { id: 'e-2', streamName: 'ticket-acme~t-2', metadata: { tenantId: 'acme' } });
    const receipt = await send(ticket, { streamName: 'ticket-f-2', command: open('f-2') });
    expect(receipt.streamName).toBe('ticket-acme~f-2');
    expect(await eventsOf(store, 'ticket-f-2')).toEqual([]);
    const [event] = await eventsOf(store, 'ticket-acme~f-2');
    expect(event?.metadata.tenantId).toBe('acme');

    // A stream already the tenant's (the event's own, say) is not qualified twice.
    const again = commandSender({ store }, 'escalate', { id: 'e-3', streamName: 'ticket-acme~t-3', metadata: { tenantId: 'acme' } });
    expect((await again(ticket, { streamName: 'ticket-acme~t-3', command: open('t-3') })).streamName).toBe('ticket-acme~t-3');
  });

  it('refuses, writing nothing, a command of a walled event for another tenant or another tenant’s stream', async () => {
    const send = commandSender({ store }, 'escalate', { id: 'e-4', streamName: 'ticket-acme~t-4', metadata: { tenantId: 'acme' } });
    await expect(send(ticket, { streamName: 'ticket-f-4', command: open('f-4'), tenantId: 'globex' })).rejects.toBeInstanceOf(ValidationError);
    await expect(send(ticket, { streamName: 'ticket-globex~f-4', command: open('f-4') })).rejects.toBeInstanceOf(ValidationError);
    expect(await allEvents(store)).toEqual([]);
  });
});
