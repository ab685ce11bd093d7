import { injectable } from 'inversify';
import { Arg, Args, ArgsType, Ctx, Field, ID, Int, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { DocumentOf } from '../projections/projection';
import type { CollectionMap } from '../projections/projection';
import type { DocumentQuery, Where } from '../projections/document';
import type { ApiContext } from './api-context';
import { requireAccess, type AccessRule } from './authorization';
import type { ClassType } from './class-type';
import { liveQuery, sharedRead } from './live-query';
import { sameForEverySubscriber } from './shared-execution';
import { connectionType, paginate, type Connection } from './pagination';
import { tenantDocumentKey } from '../projections/tenant-documents';
import { requireTenant, tenantReader } from './tenancy';

/**
 * A projection as the read-model resolvers need it: its name and collections. Any `defineProjection`
 * result is one.
 *
 * @example
 * documentQuery({ name: 'order', projection: orderSummary, collection: 'orders', type: OrderView });
 */
export interface ReadModelSource<C extends CollectionMap> {
  readonly name: string;
  readonly collections: C;
}

/** The fields every read-model operation definition shares. */
interface ReadModelOperation<C extends CollectionMap, K extends keyof C & string, View> {
  /** The field name, e.g. `order`. */
  readonly name: string;
  readonly description?: string;
  readonly projection: ReadModelSource<C>;
  readonly collection: K;
  /** The GraphQL `@ObjectType()` class that mirrors the read model. */
  readonly type: ClassType<View>;
  /** Read model → GraphQL object. Default: the document as it is. */
  readonly toView?: (doc: DocumentOf<C[K]>, context: ApiContext) => View;
  /** Default: any authenticated user. */
  readonly access?: AccessRule;
  /**
   * Hides documents the caller may not see (answered as not there). In lists it filters each page
   * after reading it, so a page can hold fewer than `first` nodes and `totalCount` counts hidden ones:
   * filter by the caller in `where` when that matters.
   */
  readonly canSee?: (doc: DocumentOf<C[K]>, context: ApiContext) => boolean;
}

/**
 * One document by key.
 *
 * @example
 * documentQuery({ name: 'order', projection: orderSummary, collection: 'orders', type: OrderView });
 * // query { order(id: "o-1") { status total } }
 */
export type DocumentQueryDefinition<C extends CollectionMap, K extends keyof C & string, View> = ReadModelOperation<C, K, View> & {
  /** The key argument's name; default `id`. */
  readonly keyArg?: string;
};

/**
 * A list of documents, one page at a time (`first`, `after`), optionally filtered by arguments of an
 * `@ArgsType()` class.
 *
 * @example
 * @ArgsType() class OrderFilter { @Field(() => String, { nullable: true }) status?: string }
 * documentListQuery({
 *   name: 'orders', projection: orderSummary, collection: 'orders', type: OrderView,
 *   filter: OrderFilter, where: (filter) => (filter.status ? { status: filter.status } : {}),
 *   orderBy: 'placedAt', direction: 'desc',
 * });
 * // query { orders(first: 20, status: "open") { nodes { id } pageInfo { endCursor hasNextPage } } }
 */
export type DocumentListQueryDefinition<C extends CollectionMap, K extends keyof C & string, View, Filter extends object> = ReadModelOperation<
  C,
  K,
  View
> & {
  readonly filter?: ClassType<Filter>;
  /** Filter arguments (and the caller) → equality filters on indexed fields. */
  readonly where?: (filter: Filter, context: ApiContext) => Where<DocumentOf<C[K]>>;
  readonly orderBy?: DocumentQuery<DocumentOf<C[K]>>['orderBy'];
  readonly direction?: 'asc' | 'desc';
  readonly defaultPageSize?: number;
  readonly maxPageSize?: number;
};

/**
 * A query resolving one document of a read model by key (null when there is none).
 *
 * @example
 * const resolvers = [documentQuery({ name: 'order', projection: orderSummary, collection: 'orders', type: OrderView })];
 */
export function documentQuery<C extends CollectionMap, K extends keyof C & string, View>(
  definition: DocumentQueryDefinition<C, K, View>,
): ClassType {
  const keyArg = definition.keyArg ?? 'id';
  @Resolver()
  @injectable()
  class DocumentQueryResolver {
    @Query(() => definition.type, { name: definition.name, description: definition.description, nullable: true })
    async execute(@Arg(keyArg, () => ID) key: string, @Ctx() context: ApiContext): Promise<View | null> {
      requireAccess(context, definition.access);
      const doc = await tenantReader(context, definition.projection, definition.collection).get(key);
      return visible(definition, doc, context);
    }
  }
  Object.defineProperty(DocumentQueryResolver, 'name', { value: `${definition.name}QueryResolver` });
  return DocumentQueryResolver;
}

@ArgsType()
class PageArgs {
  @Field(() => Int, { nullable: true, description: 'Page size.' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "The previous page's endCursor." })
  after?: string | null;
}

/**
 * A query resolving a page of a read-model collection as a `<Type>Connection`.
 *
 * @example
 * const resolvers = [documentListQuery({ name: 'orders', projection: orderSummary, collection: 'orders', type: OrderView, orderBy: 'total' })];
 */
export function documentListQuery<C extends CollectionMap, K extends keyof C & string, View, Filter extends object = object>(
  definition: DocumentListQueryDefinition<C, K, View, Filter>,
): ClassType {
  const FilterArgs = definition.filter ?? EmptyFilter;
  const ConnectionType = connectionType(definition.type);
  @Resolver()
  @injectable()
  class DocumentListQueryResolver {
    @Query(() => ConnectionType, { name: definition.name, description: definition.description })
    async execute(
      @Args(() => PageArgs) page: PageArgs,
      @Args(() => FilterArgs) filter: Filter,
      @Ctx() context: ApiContext,
    ): Promise<Connection<View>> {
      requireAccess(context, definition.access);
      const reader = tenantReader(context, definition.projection, definition.collection);
      const where = definition.where?.(filter, context);
      const connection = await paginate(
        reader,
        {
          list: definition.name,
          first: page.first,
          after: page.after,
          ...(where ? { where } : {}),
          ...(definition.orderBy ? { orderBy: definition.orderBy } : {}),
          ...(definition.direction ? { direction: definition.direction } : {}),
          ...(definition.defaultPageSize !== undefined ? { defaultPageSize: definition.defaultPageSize } : {}),
          ...(definition.maxPageSize !== undefined ? { maxPageSize: definition.maxPageSize } : {}),
        },
        (doc) => doc,
      );
      const edges = connection.edges.flatMap((edge) => {
        const node = visible(definition, edge.node, context);
        return node === null ? [] : [{ cursor: edge.cursor, node }];
      });
      return { ...connection, edges, nodes: edges.map((edge) => edge.node) };
    }
  }
  Object.defineProperty(DocumentListQueryResolver, 'name', { value: `${definition.name}QueryResolver` });
  return DocumentListQueryResolver;
}

@ArgsType()
class EmptyFilter {}

/**
 * A subscription to one document: its current value (null when there is none) first, then the new
 * value after every committed change of it, fed by the projection's change feed.
 *
 * @example
 * documentSubscription({ name: 'orderChanged', projection: orderSummary, collection: 'orders', type: OrderView });
 * // subscription { orderChanged(id: "o-1") { status } }
 */
export function documentSubscription<C extends CollectionMap, K extends keyof C & string, View>(
  definition: DocumentQueryDefinition<C, K, View>,
): ClassType {
  const keyArg = definition.keyArg ?? 'id';
  @Resolver()
  @injectable()
  class DocumentSubscriptionResolver {
    @Subscription(() => definition.type, {
      name: definition.name,
      description: definition.description,
      nullable: true,
      subscribe: ({ args, context }) => {
        const ctx = context as ApiContext;
        requireAccess(ctx, definition.access);
        const key = String((args as Record<string, unknown>)[keyArg]);
        const reader = tenantReader(ctx, definition.projection, definition.collection);
        // With tenancy on, the changes followed (and the reads shared) are those of the caller's tenant's document.
        const storedKey = tenantDocumentKey(requireTenant(ctx), key);
        return liveQuery(ctx, {
          projection: definition.projection.name,
          keys: [storedKey],
          // One read and one value object per change for every subscriber of the document, so that
          // their executions can be shared too (see shared-execution.ts).
          read: (change) =>
            sharedRead(ctx.services.readModels, `${definition.projection.name}\u0000${definition.collection}\u0000${storedKey}`, change, async () =>
              valueFor<{ doc: DocumentOf<C[K]> | undefined }>(definition, { doc: await reader.get(key) }),
            ),
        });
      },
    })
    execute(
      @Root() payload: { doc: DocumentOf<C[K]> | undefined },
      @Arg(keyArg, () => ID) _key: string,
      @Ctx() context: ApiContext,
    ): View | null {
      return visible(definition, payload.doc, context);
    }
  }
  Object.defineProperty(DocumentSubscriptionResolver, 'name', { value: `${definition.name}SubscriptionResolver` });
  return DocumentSubscriptionResolver;
}

/**
 * A subscription to a filtered list: the first `limit` matching documents now, then again after every
 * committed change of the projection that alters the list.
 *
 * @example
 * documentListSubscription({ name: 'openOrdersChanged', projection: orderSummary, collection: 'orders', type: OrderView,
 *   where: () => ({ status: 'open' }), orderBy: 'placedAt', limit: 50 });
 */
export function documentListSubscription<C extends CollectionMap, K extends keyof C & string, View, Filter extends object = object>(
  definition: Omit<DocumentListQueryDefinition<C, K, View, Filter>, 'defaultPageSize' | 'maxPageSize'> & {
    /** Most documents sent; default 100. */
    readonly limit?: number;
  },
): ClassType {
  const FilterArgs = definition.filter ?? EmptyFilter;
  @Resolver()
  @injectable()
  class DocumentListSubscriptionResolver {
    @Subscription(() => [definition.type], {
      name: definition.name,
      description: definition.description,
      subscribe: ({ args, context }) => {
        const ctx = context as ApiContext;
        requireAccess(ctx, definition.access);
        const where = definition.where?.(Object.assign(new FilterArgs(), args) as Filter, ctx);
        const reader = tenantReader(ctx, definition.projection, definition.collection);
        const listKey = JSON.stringify([
          definition.projection.name,
          definition.collection,
          requireTenant(ctx) ?? null,
          where ?? null,
          definition.orderBy,
          definition.direction,
          definition.limit,
        ]);
        return liveQuery(ctx, {
          projection: definition.projection.name,
          // Subscribers of the same list (same filter, order and limit) share one read and one value
          // object per change, so that their executions can be shared too (see shared-execution.ts).
          read: (change) =>
            sharedRead(ctx.services.readModels, listKey, change, async () =>
              valueFor<{ docs: DocumentOf<C[K]>[] }>(definition, {
                docs: await reader.find({
                  ...(where ? { where } : {}),
                  ...(definition.orderBy ? { orderBy: definition.orderBy } : {}),
                  ...(definition.direction ? { direction: definition.direction } : {}),
                  limit: definition.limit ?? 100,
                }),
              }),
            ),
        });
      },
    })
    execute(@Root() payload: { docs: DocumentOf<C[K]>[] }, @Args(() => FilterArgs) _filter: Filter, @Ctx() context: ApiContext): View[] {
      return payload.docs.flatMap((doc) => {
        const view = visible(definition, doc, context);
        return view === null ? [] : [view];
      });
    }
  }
  Object.defineProperty(DocumentListSubscriptionResolver, 'name', { value: `${definition.name}SubscriptionResolver` });
  return DocumentListSubscriptionResolver;
}

function visible<C extends CollectionMap, K extends keyof C & string, View>(
  definition: ReadModelOperation<C, K, View>,
  doc: DocumentOf<C[K]> | undefined,
  context: ApiContext,
): View | null {
  if (doc === undefined) return null;
  if (definition.canSee && !definition.canSee(doc, context)) return null;
  return definition.toView ? definition.toView(doc, context) : (doc as unknown as View);
}

/** A live value, marked the same for every subscriber when the operation has no `canSee` and no `toView`. */
function valueFor<T extends object>(definition: { readonly canSee?: unknown; readonly toView?: unknown }, value: T): T {
  return definition.canSee || definition.toView ? value : sameForEverySubscriber(value);
}
