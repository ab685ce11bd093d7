import { Field, getMetadataStorage, Int, ObjectType } from 'type-graphql';
import type { DocumentQuery, DocumentReader, Where } from '../projections/document';
import { ApiError } from './errors';
import type { ClassType } from './class-type';

/**
 * Relay-style page information, part of every {@link connectionType}.
 *
 * @example
 * const { pageInfo } = await paginate(reader, { list: 'orders', first: 20, after });
 * if (pageInfo.hasNextPage) after = pageInfo.endCursor;
 */
@ObjectType('PageInfo')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/**
 * One page of a list: the items, their cursors, and where the page sits.
 *
 * @example
 * const page: Connection<OrderView> = await paginate(reader, { list: 'orders', first: 20 }, toView);
 */
export interface Connection<T> {
  readonly nodes: T[];
  readonly edges: { readonly cursor: string; readonly node: T }[];
  readonly pageInfo: PageInfo;
  readonly totalCount: number;
}

const connectionTypes = new Map<ClassType, ClassType>();

/**
 * The GraphQL connection type of a node type (`<Node>Connection` with `edges`, `nodes`, `pageInfo`,
 * `totalCount`), made once per node class.
 *
 * @example
 * @Query(() => connectionType(OrderView)) orders(...) { return paginate(reader, { first, after }); }
 */
export function connectionType<T>(node: ClassType<T>): ClassType<Connection<T>> {
  const existing = connectionTypes.get(node);
  if (existing) return existing;
  const typeName = nodeTypeName(node);

  @ObjectType(`${typeName}Edge`)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${typeName}Connection`)
  class NodeConnection {
    @Field(() => [node])
    nodes!: T[];

    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: 'How many items match, on every page.' })
    totalCount!: number;
  }
  connectionTypes.set(node, NodeConnection);
  return NodeConnection;
}

function nodeTypeName(node: ClassType): string {
  // The GraphQL name given to @ObjectType('Order'), not the class name (OrderView).
  return getMetadataStorage().objectTypes.find((type) => type.target === node)?.name ?? node.name;
}

interface CursorState {
  /** Documents before the page. */
  readonly offset: number;
  /** The query the cursor belongs to, so that a cursor is never replayed against another list. */
  readonly list: string;
}

/**
 * An opaque cursor: base64url of where the next page starts in one ordered list.
 *
 * @example
 * const after = encodeCursor({ offset: 20, list: 'orders' });
 */
export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify([state.list, state.offset])).toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeCursor} for the same list.
 * @throws ApiError (`BAD_USER_INPUT`) for a malformed cursor or one from another list.
 */
export function decodeCursor(cursor: string, list: string): CursorState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== list || !Number.isSafeInteger(parsed[1]) || (parsed[1] as number) < 0) {
    throw new ApiError('BAD_USER_INPUT', 'after is not a cursor of this list', { fields: [{ path: 'after', message: 'invalid cursor' }] });
  }
  return { list, offset: parsed[1] as number };
}

/**
 * What {@link paginate} reads: the page size and the cursor, plus the list's filter and order.
 *
 * @example
 * const request: PageRequest<OrderSummary> = { list: 'open-orders', first, after, where: { status: 'open' }, orderBy: 'placedAt', direction: 'desc' };
 */
export interface PageRequest<TDoc> {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly where?: Where<TDoc>;
  readonly orderBy?: DocumentQuery<TDoc>['orderBy'];
  readonly direction?: 'asc' | 'desc';
  /** Names the list inside cursors. */
  readonly list: string;
  /** Default 20. */
  readonly defaultPageSize?: number;
  /** Default 100. */
  readonly maxPageSize?: number;
}

/**
 * One page of a read-model collection, by cursor. Pages follow the collection's order (ties broken by
 * key); a cursor marks how many documents came before the page, so a document inserted earlier in the
 * order between two page loads shifts the next page by one — subscriptions are the way to follow a
 * changing list.
 *
 * @example
 * return paginate(readModels.documents(orderSummary, 'orders'), { list: 'orders', first: 20, after, where: { status: 'open' } }, toView);
 * @throws ApiError (`BAD_USER_INPUT`) for a page size out of range or a foreign cursor.
 */
export async function paginate<TDoc, T>(
  reader: DocumentReader<TDoc>,
  request: PageRequest<TDoc>,
  toNode: (doc: TDoc) => T,
): Promise<Connection<T>> {
  const maxPageSize = request.maxPageSize ?? 100;
  const first = request.first ?? request.defaultPageSize ?? 20;
  if (!Number.isSafeInteger(first) || first < 0 || first > maxPageSize) {
    throw new ApiError('BAD_USER_INPUT', `first must be an integer from 0 to ${maxPageSize}`, {
      fields: [{ path: 'first', message: `must be from 0 to ${maxPageSize}` }],
    });
  }
  const offset = request.after ? decodeCursor(request.after, request.list).offset + 1 : 0;
  const [docs, totalCount] = await Promise.all([
    first === 0
      ? Promise.resolve([] as TDoc[])
      : reader.find({
          ...(request.where ? { where: request.where } : {}),
          ...(request.orderBy ? { orderBy: request.orderBy } : {}),
          ...(request.direction ? { direction: request.direction } : {}),
          limit: first,
          offset,
        }),
    reader.count(request.where),
  ]);
  const edges = docs.map((doc, index) => ({ cursor: encodeCursor({ list: request.list, offset: offset + index }), node: toNode(doc) }));
  const pageInfo = Object.assign(new PageInfo(), {
    hasNextPage: offset + docs.length < totalCount,
    hasPreviousPage: offset > 0,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges.at(-1)?.cursor ?? null,
  });
  return { nodes: edges.map((edge) => edge.node), edges, pageInfo, totalCount };
}
