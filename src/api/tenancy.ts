import { isValidTenantId, splitTenantStream, tenantStreamName } from '../event-store/tenant-stream';
import type { DocumentReader } from '../projections/document';
import type { AnyProjection, CollectionMap, DocumentOf } from '../projections/projection';
import { scopedQuery, scopedWhere, tenantDocumentKey, TENANT_FIELD } from '../projections/tenant-documents';
import type { ApiContext } from './api-context';
import { ForbiddenError, UnauthenticatedError } from './errors';

/**
 * Tenancy of an API. With `mode: 'required'` every tenant-scoped operation (command mutations,
 * document queries and subscriptions, the audit API, parked events) acts for the tenant named by the
 * caller's verified token (the auth's `tenantClaim`) and nothing else: a caller without one is refused,
 * and no argument can name another tenant. Streams are stored under their tenant's name, documents
 * under their tenant's key with the tenant in an indexed `tenantId` field.
 *
 * @example
 * createApi({ ..., auth: { mode: 'jwt', secret, tenantClaim: 'org' }, tenancy: { mode: 'required', operatorRoles: ['operator'] } });
 */
export interface TenancyOptions {
  readonly mode: 'off' | 'required';
  /**
   * Roles whose holders run the admin API across tenants (projection status and rebuilds, reactor
   * status, every tenant's parked events, redrive). Default none: every admin is one tenant's admin.
   */
  readonly operatorRoles?: readonly string[];
}

/** Tenancy with its defaults applied, as the resolvers see it. */
export interface ResolvedTenancy {
  readonly mode: 'off' | 'required';
  readonly operatorRoles: readonly string[];
}

/** Applies the defaults of {@link TenancyOptions}; no option means tenancy off. */
export function resolveTenancy(options: TenancyOptions | undefined): ResolvedTenancy {
  const mode = options?.mode ?? 'off';
  if (mode !== 'off' && mode !== 'required') throw new TypeError(`tenancy.mode must be 'off' or 'required', got ${JSON.stringify(mode)}`);
  return { mode, operatorRoles: [...(options?.operatorRoles ?? [])] };
}

/**
 * Refuses, at start, projections a tenant-scoped API could not keep apart: every document collection
 * must index `tenantId`, or its lists could not be filtered by tenant.
 *
 * @throws TypeError naming the collections without the index.
 */
export function checkTenantCollections(tenancy: ResolvedTenancy, projections: readonly AnyProjection[]): void {
  if (tenancy.mode === 'off') return;
  const missing = projections.flatMap((projection) =>
    Object.entries(projection.collections)
      .filter(([, collection]) => collection.indexes[TENANT_FIELD] !== 'text')
      .map(([name]) => `${projection.name}.${name}`),
  );
  if (missing.length > 0) {
    throw new TypeError(
      `tenancy is required, but these collections do not index "${TENANT_FIELD}" as text: ${missing.join(', ')} (declare it, and write documents with tenantDocuments)`,
    );
  }
}

/**
 * The caller's tenant when tenancy is on (undefined when it is off): taken only from the verified
 * token, never from arguments.
 *
 * @example
 * const tenantId = requireTenant(context); // 'acme'
 * @throws UnauthenticatedError without a user, ForbiddenError when the token names no valid tenant.
 */
export function requireTenant(context: ApiContext): string | undefined {
  if (context.services.tenancy?.mode !== 'required') return undefined;
  const user = context.user;
  if (!user) throw new UnauthenticatedError('this API is tenant-scoped: sign in with a token that names your tenant');
  if (!isValidTenantId(user.tenantId)) {
    throw new ForbiddenError(user.tenantId === undefined ? 'the token names no tenant' : "the token's tenant is not a valid tenant id");
  }
  return user.tenantId;
}

/**
 * A collection as the caller may read it: with tenancy on, only its tenant's documents (by the
 * tenant's own keys, lists and counts filtered by tenant); otherwise the whole collection. Every
 * generated query and subscription reads through it; hand-written resolvers should too.
 *
 * @example
 * @Query(() => Int) openOrders(@Ctx() context: ApiContext) { return tenantReader(context, orderSummary, 'orders').count({ status: 'open' }); }
 */
export function tenantReader<C extends CollectionMap, K extends keyof C & string>(
  context: ApiContext,
  projection: { readonly name: string; readonly collections: C },
  collection: K,
): DocumentReader<DocumentOf<C[K]>> {
  const tenantId = requireTenant(context);
  const reader = context.services.readModels.documents(projection, collection);
  return tenantId === undefined ? reader : scopedReader(reader, tenantId);
}

/** A reader of one tenant's documents: the stored key is the tenant's, and the stored tenant must match too. */
export function scopedReader<TDoc>(reader: DocumentReader<TDoc>, tenantId: string): DocumentReader<TDoc> {
  return {
    async get(key) {
      const doc = await reader.get(tenantDocumentKey(tenantId, key));
      return doc !== undefined && (doc as Record<string, unknown>)[TENANT_FIELD] === tenantId ? doc : undefined;
    },
    find: (query = {}) => reader.find(scopedQuery(tenantId, query)),
    count: (where) => reader.count(scopedWhere(tenantId, where)),
  };
}

/**
 * Where a stream the caller names is stored: its tenant's stream with tenancy on, else the name itself.
 *
 * @throws ValidationError, MalformedStreamNameError for a name that cannot be a tenant's stream.
 */
export function storedStreamName(tenantId: string | undefined, streamName: string): string {
  return tenantId === undefined ? streamName : tenantStreamName(streamName, tenantId);
}

/**
 * Where a command id the caller gives is stored: with tenancy on it is the tenant's own
 * (`<tenant>~<id>`), so another tenant reusing it neither collides with it nor learns that it was used.
 */
export function storedCommandId(tenantId: string | undefined, commandId: string | undefined): string | undefined {
  return tenantId === undefined || commandId === undefined ? commandId : `${tenantId}~${commandId}`;
}

/** A stored stream name as its tenant names it (unchanged without tenancy). */
export function callerStreamName(tenantId: string | undefined, streamName: string): string {
  if (tenantId === undefined) return streamName;
  const split = splitTenantStream(streamName);
  return split?.tenantId === tenantId ? split.streamName : streamName;
}

/**
 * Whether the caller runs the admin API across tenants: always without tenancy, else with one of the
 * operator roles. Otherwise the caller's tenant, to which its admin view is limited.
 */
export function adminScope(context: ApiContext): { readonly all: true } | { readonly all: false; readonly tenantId: string } {
  const tenancy = context.services.tenancy;
  if (tenancy?.mode !== 'required') return { all: true };
  if (context.user && tenancy.operatorRoles.some((role) => context.user!.roles.includes(role))) return { all: true };
  return { all: false, tenantId: requireTenant(context)! };
}
