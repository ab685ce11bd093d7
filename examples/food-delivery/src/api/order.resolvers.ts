import { injectable } from 'inversify';
import { Arg, ArgsType, Ctx, Field, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import {
  ApiError,
  AuditEventView,
  ValidationError,
  commandMutations,
  documentListQuery,
  documentQuery,
  liveQuery,
  requireAccess,
  type ApiContext,
  type ClassType,
  type ForgetReceipt,
} from '../eventfold';
import { ForgetCustomerResultType } from './forget-customer.type';
import { order } from '../domain/order';
import type { OrderCommand } from '../domain/order-messages';
import { ordersProjection } from '../read-models/orders.projection';
import type { OrderUpdate, OrderView } from '../read-models/order-view';
import { RESTAURANTS } from '../restaurants/catalog';
import { OrderType, RecordedEventType, toOrderType } from './order.type';
import { PlaceOrderInput } from './place-order.input';
import { RestaurantType } from './restaurant.type';

/** How paid orders get approved: by the auto-approval reactor, or by the restaurant (`approveOrder`). */
export type RestaurantApproval = 'auto' | 'manual';

/**
 * `placeOrder(input, commandId)`: the input becomes `PlaceOrder` here and nowhere else. The command's
 * schema is the one set of input rules; its failures are reported on the GraphQL argument's paths
 * (`input.items[0].quantity`), before anything is read or written.
 */
const placeOrder = commandMutations(order).mutation({
  name: 'placeOrder',
  description: 'Places an order and answers with a receipt as soon as OrderPlaced is durable; the workflow runs on asynchronously.',
  input: PlaceOrderInput,
  toCommand: (input: PlaceOrderInput) => {
    const data = {
      orderId: input.orderId,
      customerId: input.customerId,
      restaurantId: input.restaurantId,
      items: input.items.map((item) => ({ menuItemId: item.menuItemId, quantity: item.quantity })),
      ...(input.customerName == null ? {} : { customerName: input.customerName }),
      ...(input.deliveryAddress == null ? {} : { deliveryAddress: input.deliveryAddress }),
    };
    const command = parseOrderCommand({ type: 'PlaceOrder', data }, 'input');
    return { streamName: order.streamName(input.orderId), command };
  },
});

/** Parses a command, naming failing fields after the GraphQL argument they came from. */
function parseOrderCommand(command: OrderCommand, argument?: string): OrderCommand {
  try {
    return order.parseCommand(command);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const fields = error.issues.map((issue) => ({ path: renameDataPath(issue.path, argument), message: issue.message }));
    throw new ApiError('BAD_USER_INPUT', `invalid ${command.type}: ${fields.map((field) => `${field.path} ${field.message}`).join('; ')}`, { fields });
  }
}

function renameDataPath(path: string, argument: string | undefined): string {
  const field = path.replace(/^data\.?/, '');
  return argument ? (field ? `${argument}.${field}` : argument) : field;
}

@ArgsType()
class ApproveOrderArgs {
  @Field(() => ID)
  orderId!: string;
}

@ArgsType()
class CancelOrderArgs {
  @Field(() => ID)
  orderId!: string;

  @Field(() => String)
  reason!: string;
}

/**
 * `approveOrder(orderId, commandId)` and `cancelOrder(orderId, reason, commandId)`: flat arguments
 * (`args`), as the contract has them, and no client `waitFor` argument. The command's schema checks
 * the rest (an empty reason is `BAD_USER_INPUT` on `reason`).
 */
const approveOrder = commandMutations(order).mutation({
  name: 'approveOrder',
  description: 'The restaurant approves a paid order (RESTAURANT_APPROVAL=manual).',
  args: ApproveOrderArgs,
  toCommand: (args: ApproveOrderArgs) => ({
    streamName: orderStreamName(args.orderId),
    command: parseOrderCommand({ type: 'ApproveOrder', data: { approvedBy: 'restaurant' } }),
  }),
  waitForArgument: false,
});

const cancelOrder = commandMutations(order).mutation({
  name: 'cancelOrder',
  description: 'The customer cancels an order; only before the restaurant approved it.',
  args: CancelOrderArgs,
  toCommand: (args: CancelOrderArgs) => ({
    streamName: orderStreamName(args.orderId),
    command: parseOrderCommand({ type: 'CancelOrder', data: { reason: args.reason } }),
  }),
  waitForArgument: false,
});

/** The order's stream; an id that cannot name one is `BAD_USER_INPUT` on `orderId`. */
function orderStreamName(orderId: string): string {
  if (!isStreamId(orderId)) {
    throw new ApiError('BAD_USER_INPUT', 'orderId must be a non-empty id without spaces', { fields: [{ path: 'orderId', message: 'must be a non-empty id without spaces' }] });
  }
  return order.streamName(orderId);
}

@ArgsType()
class OrdersFilter {
  @Field(() => ID, { nullable: true, description: "Only this customer's orders." })
  customerId?: string | null;
}

/** What the resolvers need from the app: the approval mode and timeout, and the store's forget (crypto-shredding). */
export interface OrderResolverOptions {
  readonly restaurantApproval: RestaurantApproval;
  /** With manual approval: how long a paid order waits (shown as its deadline). */
  readonly approvalTimeoutMs?: number;
  readonly forgetCustomer: (customerId: string) => Promise<ForgetReceipt>;
}

/** The app's resolvers; a factory, so that the approval mode and the forget arrive as plain arguments. */
export function orderResolvers(options: OrderResolverOptions): ClassType[] {
  const deadlines = { timeoutMs: options.restaurantApproval === 'manual' ? options.approvalTimeoutMs : undefined };
  const toView = (view: OrderView): OrderType => toOrderType(view, deadlines);
  @Resolver()
  @injectable()
  class FoodDeliveryResolver {
    @Query(() => [RestaurantType], { description: 'The seeded demo restaurants with their menus.' })
    restaurants(): RestaurantType[] {
      return RESTAURANTS.map((restaurant) =>
        Object.assign(new RestaurantType(), {
          id: restaurant.id,
          name: restaurant.name,
          cuisine: restaurant.cuisine,
          menu: restaurant.menu.map((item) => ({ id: item.id, name: item.name, price: item.priceCents / 100 })),
        }),
      );
    }

    @Query(() => String, { description: '"auto" (a reactor approves paid orders) or "manual" (approveOrder).' })
    restaurantApproval(): string {
      return options.restaurantApproval;
    }

    @Query(() => [RecordedEventType], { description: "Audit: the order's events across the workflow, in order." })
    async orderHistory(@Arg('id', () => ID) id: string, @Ctx() context: ApiContext): Promise<RecordedEventType[]> {
      requireAccess(context);
      if (!isStreamId(id)) return [];
      const events: RecordedEventType[] = [];
      for await (const event of context.services.eventStore.readStream(order.streamName(id))) {
        events.push(
          Object.assign(new RecordedEventType(), AuditEventView.from(event)),
        );
      }
      return events;
    }

    @Mutation(() => ForgetCustomerResultType, {
      description:
        "Erases the customer's personal data (name, delivery address) everywhere: destroys their key, so every stored event reads " +
        'them as redacted, and answers once the orders read model has blanked them. Their orders stay and still complete.',
    })
    async forgetCustomer(@Arg('customerId', () => ID) customerId: string, @Ctx() context: ApiContext): Promise<ForgetCustomerResultType> {
      requireAccess(context, { roles: ['admin'] });
      if (!isCustomerId(customerId)) {
        throw new ApiError('BAD_USER_INPUT', 'customerId must be a non-empty id without spaces', {
          fields: [{ path: 'customerId', message: 'must be a non-empty id without spaces' }],
        });
      }
      const receipt = await options.forgetCustomer(customerId);
      await context.services.projections.waitForPosition(ordersProjection.name, receipt.position, { timeoutMs: context.services.waitTimeoutMs });
      // The read model's old row versions leave the files too (SQLite: the WAL is truncated).
      await context.services.readModels.scrub?.();
      return Object.assign(new ForgetCustomerResultType(), { customerId, keysDestroyed: receipt.keysDestroyed, position: receipt.position.toString() });
    }

    @Subscription(() => OrderType, {
      description:
        "The order's current state first, then every state it goes through, in order. With fromRevision, every state from that " +
        'revision of the order on instead (0: from OrderPlaced), so that a client subscribing after placeOrder misses nothing.',
      subscribe: ({ args, context }) => {
        const { id, fromRevision } = args as { id: string; fromRevision?: number | null };
        return orderTransitions(context as ApiContext, String(id), fromRevision ?? undefined);
      },
    })
    orderUpdated(
      @Root() update: OrderUpdate,
      @Arg('id', () => ID) _id: string,
      @Arg('fromRevision', () => Int, { nullable: true }) _fromRevision: number | null,
    ): OrderType {
      return toView(update.order);
    }
  }

  const orderQuery = documentQuery({ name: 'order', projection: ordersProjection, collection: 'orders', type: OrderType, toView });
  const ordersQuery = documentListQuery({
    name: 'orders',
    description: 'Orders in the order they were placed, a page at a time.',
    projection: ordersProjection,
    collection: 'orders',
    type: OrderType,
    toView,
    filter: OrdersFilter,
    where: (filter: OrdersFilter) => (filter.customerId ? { customerId: filter.customerId } : {}),
    orderBy: 'placedPosition',
  });

  return [FoodDeliveryResolver, placeOrder, approveOrder, cancelOrder, orderQuery, ordersQuery];
}

/** The rule of PlaceOrder's customerId: 1 to 100 printable characters without spaces. */
function isCustomerId(id: string): boolean {
  return /^[^\s\u0000-\u001f\u007f]{1,100}$/.test(id);
}

function isStreamId(id: string): boolean {
  try {
    order.streamName(id);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every transition of one order, fed by the projection's change feed: the latest state first (or every
 * state from `fromRevision`), then each later state in revision order — also when several of them were
 * committed in one batch, since each event left its own `order_updates` document. Subscribed before
 * the order exists, the first state sent is its first one.
 */
async function* orderTransitions(context: ApiContext, orderId: string, fromRevision: number | undefined): AsyncGenerator<OrderUpdate> {
  requireAccess(context);
  if (fromRevision !== undefined && (!Number.isSafeInteger(fromRevision) || fromRevision < 0)) {
    throw new ApiError('BAD_USER_INPUT', 'fromRevision must be 0 or more', { fields: [{ path: 'fromRevision', message: 'must be 0 or more' }] });
  }
  const updates = context.services.readModels.documents(ordersProjection, 'order_updates');
  const live = liveQuery(context, {
    projection: ordersProjection.name,
    // Every event of the order rewrites its `orders` document (key: the order id) in the same batch as
    // its `order_updates` entry, so following that one key hears of every transition.
    keys: [orderId],
    read: () => updates.find({ where: { orderId }, orderBy: 'revision' }),
  });
  let lastRevision = fromRevision === undefined ? undefined : fromRevision - 1;
  try {
    for await (const list of live) {
      // Not there yet: whatever comes is news, from its first state on.
      if (list.length === 0) {
        lastRevision ??= -1;
        continue;
      }
      const fresh = lastRevision === undefined ? list.slice(-1) : list.filter((update) => update.revision > lastRevision!);
      for (const update of fresh) {
        lastRevision = update.revision;
        yield update;
      }
    }
  } finally {
    await live.return?.();
  }
}
