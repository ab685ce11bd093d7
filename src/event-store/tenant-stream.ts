import { ValidationError } from '../domain/errors';
import { parseStreamName } from '../domain/stream-name';
import type { RecordedEvent } from './event-store';

/**
 * Separates a tenant from a stream's own id in a tenant's physical stream name: `ticket-acme~t-1` is
 * tenant `acme`'s `ticket-t-1`. Tenant ids never contain it, so the first one after the category ends
 * the tenant.
 */
const TENANT_SEPARATOR = '~';
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$/;

/**
 * Whether a value can be a tenant id: 1 to 100 letters, digits or `_ . : @ -`, starting with a letter
 * or digit (never `~`, which separates the tenant in stream names).
 *
 * @example
 * isValidTenantId('acme'); // true
 */
export function isValidTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID.test(value);
}

/**
 * A tenant's physical name for a stream: `category-<tenant>~<id>`. With tenancy on, every stream is
 * stored under its tenant's name, so a command of one tenant can never read or write another's stream,
 * whatever id it names. The id must not contain `~` (it would be read as another tenant's).
 *
 * @example
 * tenantStreamName('ticket-t-1', 'acme'); // 'ticket-acme~t-1'
 * @throws ValidationError for a tenant id or stream id that cannot be qualified.
 */
export function tenantStreamName(streamName: string, tenantId: string): string {
  const { category, id } = parseStreamName(streamName);
  if (!isValidTenantId(tenantId)) {
    throw new ValidationError('tenant', [{ path: 'tenantId', message: 'is not a tenant id (letters, digits, _ . : @ -; at most 100)' }]);
  }
  if (id.includes(TENANT_SEPARATOR)) {
    throw new ValidationError('stream name', [{ path: 'streamName', message: `with tenancy on, a stream id must not contain "${TENANT_SEPARATOR}"` }]);
  }
  const qualified = `${category}-${tenantId}${TENANT_SEPARATOR}${id}`;
  parseStreamName(qualified);
  return qualified;
}

/**
 * Splits a tenant's physical stream name into its tenant and the name the tenant uses; undefined for a
 * name that is not qualified.
 *
 * @example
 * splitTenantStream('ticket-acme~t-1'); // { tenantId: 'acme', streamName: 'ticket-t-1' }
 */
export function splitTenantStream(streamName: string): { readonly tenantId: string; readonly streamName: string } | undefined {
  const dash = streamName.indexOf('-');
  if (dash <= 0) return undefined;
  const rest = streamName.slice(dash + 1);
  const separator = rest.indexOf(TENANT_SEPARATOR);
  if (separator <= 0 || separator === rest.length - 1) return undefined;
  const tenantId = rest.slice(0, separator);
  if (!isValidTenantId(tenantId)) return undefined;
  return { tenantId, streamName: `${streamName.slice(0, dash)}-${rest.slice(separator + 1)}` };
}

/**
 * The tenant an event was written for under tenancy: its stream is its tenant's physical stream and
 * its metadata names the same tenant. Undefined for events written without tenancy (even when their
 * metadata carries a `tenantId`), so apps without tenancy behave as before.
 *
 * @example
 * const tenant = tenantOfEvent(event); // 'acme' for an event of 'ticket-acme~t-1'
 */
export function tenantOfEvent(event: Pick<RecordedEvent, 'streamName' | 'metadata'>): string | undefined {
  const split = splitTenantStream(event.streamName);
  return split && split.tenantId === event.metadata.tenantId ? split.tenantId : undefined;
}
