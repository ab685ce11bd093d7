import { MalformedStreamNameError, ValidationError } from '../../src';
import { isValidTenantId, splitTenantStream, tenantOfEvent, tenantStreamName } from '../../src/event-store/tenant-stream';

describe('tenant stream names', () => {
  it('qualify a stream with its tenant and split it back', () => {
    expect(tenantStreamName('ticket-t-1', 'acme')).toBe('ticket-acme~t-1');
    expect(tenantStreamName('ticket-t-1', 'org-7')).toBe('ticket-org-7~t-1');
    expect(splitTenantStream('ticket-org-7~t-1')).toEqual({ tenantId: 'org-7', streamName: 'ticket-t-1' });
    expect(splitTenantStream('ticket-t-1')).toBeUndefined();
  });

  it('refuse a tenant id or a stream id that would make the name ambiguous', () => {
    expect(() => tenantStreamName('ticket-a~b', 'acme')).toThrow(ValidationError);
    expect(() => tenantStreamName('ticket-t-1', 'ac~me')).toThrow(ValidationError);
    expect(() => tenantStreamName('ticket-t-1', '')).toThrow(ValidationError);
    expect(() => tenantStreamName('no dash', 'acme')).toThrow(MalformedStreamNameError);
    expect(isValidTenantId('acme')).toBe(true);
    expect(isValidTenantId('a'.repeat(101))).toBe(false);
    expect(isValidTenantId(7)).toBe(false);
  });

  it('name an event’s tenant only when its stream and its metadata agree', () => {
    expect(tenantOfEvent({ streamName: 'ticket-acme~t-1', metadata: { tenantId: 'acme' } })).toBe('acme');
    // Written without tenancy: the metadata's tenant is not a wall.
    expect(tenantOfEvent({ streamName: 'ticket-t-1', metadata: { tenantId: 'acme' } })).toBeUndefined();
    expect(tenantOfEvent({ streamName: 'ticket-acme~t-1', metadata: { tenantId: 'globex' } })).toBeUndefined();
    expect(tenantOfEvent({ streamName: 'ticket-acme~t-1', metadata: {} })).toBeUndefined();
  });
});
