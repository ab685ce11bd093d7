import type { ApiContext } from './api-context';

/**
 * How the API's schema becomes an Apollo Federation 2 subgraph: which object types are entities
 * (`@key`) and how the router's reference to one is resolved, typically from a read model.
 *
 * @example
 * federation: { entities: { Order: { key: 'id', resolveReference: ({ id }, context) => readOrder(context, String(id)) } } }
 */
export interface FederationOptions {
  readonly entities?: Readonly<Record<string, FederatedEntity>>;
}

/**
 * One entity type of the subgraph.
 *
 * @example
 * const order: FederatedEntity = { key: 'id', resolveReference: ({ id }) => orders.get(String(id)) };
 */
export interface FederatedEntity {
  /** The `@key` field set, e.g. `'id'` or `'tenantId id'`. */
  readonly key: string;
  /**
   * The entity for a reference (`{ __typename, ...key fields }`) sent by the router; `null` when it
   * does not exist (or the caller may not see it).
   */
  resolveReference(reference: Readonly<Record<string, unknown>>, context: ApiContext): unknown;
}
