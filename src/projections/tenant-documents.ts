import type { RecordedEvent } from '../event-store/event-store';
import { tenantOfEvent } from '../event-store/tenant-stream';
import type { DocumentQuery, DocumentWriter, Where } from './document';

/**
 * The indexed field that holds a document's tenant. A collection read by a tenant-scoped API declares
 * it (`indexes: { tenantId: 'text', … }`); the API's reads filter on it, so a collection without it
 * answers a tenant nothing rather than everything.
 */
export const TENANT_FIELD = 'tenantId';

/** Separates the tenant from the document's own key (tenant ids never contain it). */
const KEY_SEPARATOR = '~';

/**
 * A document's stored key for a tenant: `<tenant>~<key>`, or the key itself without a tenant. Two
 * tenants' documents with the same key are two documents.
 *
 * @example
 * tenantDocumentKey('acme', 't-1'); // 'acme~t-1'
 * tenantDocumentKey(tenantOfEvent(event), event.data.ticketId); // in a projection's documentKeys
 */
export function tenantDocumentKey(tenantId: string | undefined, key: string): string {
  return tenantId === undefined ? key : `${tenantId}${KEY_SEPARATOR}${key}`;
}

/**
 * A projection's writer of one collection, scoped to the tenant an event was written for: keys are
 * stored under the tenant ({@link tenantDocumentKey}) and every written document carries the tenant in
 * {@link TENANT_FIELD}, so a tenant-scoped API shows it to that tenant only. For an event written
 * without tenancy it is the writer itself.
 *
 * @example
 * async handle(events, tx) {
 *   for (const event of events) {
 *     const tickets = tenantDocuments(tx.documents('tickets'), event);
 *     if (event.type === 'TicketOpened') tickets.put(event.data.ticketId, { ticketId: event.data.ticketId, status: 'open' });
 *   }
 * }
 */
export function tenantDocuments<TDoc extends object>(writer: DocumentWriter<TDoc>, event: Pick<RecordedEvent, 'streamName' | 'metadata'>): DocumentWriter<TDoc> {
  const tenantId = tenantOfEvent(event);
  if (tenantId === undefined) return writer;
  const key = (own: string): string => tenantDocumentKey(tenantId, own);
  const stamped = <T extends object>(doc: T): T => ({ ...doc, [TENANT_FIELD]: tenantId });
  return {
    get: (own) => writer.get(key(own)),
    prefetch: (keys) => writer.prefetch([...keys].map(key)),
    put: (own, doc) => writer.put(key(own), stamped(doc)),
    patch: (own, changes) => writer.patch(key(own), stamped(changes)),
    update: (own, change) =>
      writer.update(key(own), (doc) => {
        const next = change(doc);
        return next === undefined ? undefined : stamped(next);
      }),
    delete: (own) => writer.delete(key(own)),
    find: (query = {}) => writer.find(scopedQuery(tenantId, query)),
  };
}

/** A query limited to one tenant's documents: the tenant filter always wins over the caller's. */
export function scopedQuery<TDoc>(tenantId: string, query: DocumentQuery<TDoc>): DocumentQuery<TDoc> {
  return { ...query, where: scopedWhere(tenantId, query.where) };
}

/** Equality filters limited to one tenant's documents (keys given are the tenant's own keys). */
export function scopedWhere<TDoc>(tenantId: string, where: Where<TDoc> | undefined): Where<TDoc> {
  const keys = where?.key;
  const scopedKeys = keys === undefined ? undefined : typeof keys === 'string' ? tenantDocumentKey(tenantId, keys) : keys.map((own) => tenantDocumentKey(tenantId, own));
  return { ...where, [TENANT_FIELD]: tenantId, ...(scopedKeys !== undefined ? { key: scopedKeys } : {}) } as Where<TDoc>;
}
