import { GraphQLDateTime } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AuditEventView } from '../eventfold';
import type { OrderItemView, OrderStatusName, OrderView } from '../read-models/order-view';

export enum OrderStatus {
  PLACED = 'PLACED',
  VALIDATED = 'VALIDATED',
  REJECTED = 'REJECTED',
  PAID = 'PAID',
  PAYMENT_FAILED = 'PAYMENT_FAILED',
  APPROVED = 'APPROVED',
  DRIVER_ASSIGNED = 'DRIVER_ASSIGNED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(OrderStatus, { name: 'OrderStatus', description: 'Where an order is in the workflow.' });

// The read model's status names and the GraphQL enum must stay the same set: a mismatch is a compile error.
const _sameStatuses: Record<OrderStatusName, OrderStatus> = OrderStatus;
const _sameNames: Record<OrderStatus, OrderStatusName> = OrderStatus;

@ObjectType('OrderItem')
export class OrderItemType implements OrderItemView {
  @Field(() => ID)
  menuItemId!: string;

  @Field(() => Int)
  quantity!: number;

  @Field(() => String, { nullable: true, description: "The dish's name, known once the order is validated." })
  name!: string | null;

  @Field(() => Float, { nullable: true, description: 'The price of one, from the menu at validation.' })
  unitPrice!: number | null;
}

/** The orders read model as GraphQL shows it. */
@ObjectType('Order')
export class OrderType implements Omit<OrderView, 'status' | 'revision' | 'placedPosition' | 'placedAt' | 'updatedAt' | 'paidAt'> {
  @Field(() => ID)
  id!: string;

  @Field(() => OrderStatus)
  status!: OrderStatus;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String, { nullable: true, description: "The customer's name (personal data): null when not given, or erased (see personalDataErased)." })
  customerName!: string | null;

  @Field(() => String, { nullable: true, description: 'Where to deliver (personal data): null when not given, or erased (see personalDataErased).' })
  deliveryAddress!: string | null;

  @Field(() => Boolean, { description: "True once forgetCustomer erased the customer's name and address: they are null for good." })
  personalDataErased!: boolean;

  @Field(() => ID)
  restaurantId!: string;

  @Field(() => [OrderItemType])
  items!: OrderItemType[];

  @Field(() => Float, { description: 'In currency units; 0 until the order is validated against the menu.' })
  total!: number;

  @Field(() => String, { nullable: true, description: 'Why validation rejected the order.' })
  rejectionReason!: string | null;

  @Field(() => String, { nullable: true, description: 'Why the payment failed.' })
  paymentError!: string | null;

  @Field(() => String, { nullable: true })
  cancellationReason!: string | null;

  @Field(() => ID, { nullable: true })
  paymentId!: string | null;

  @Field(() => ID, { nullable: true })
  driverId!: string | null;

  @Field(() => GraphQLDateTime, {
    nullable: true,
    description: 'With manual approval: when a paid order not approved by then is cancelled (APPROVAL_TIMEOUT) and refunded.',
  })
  approvalDeadline!: Date | null;

  @Field(() => Boolean, { description: 'The payment was refunded (a paid order that was cancelled).' })
  refunded!: boolean;

  @Field(() => String, { description: 'Position of the last event applied: opaque, sorts as a string.' })
  position!: string;

  @Field(() => GraphQLDateTime)
  placedAt!: Date;

  @Field(() => GraphQLDateTime)
  updatedAt!: Date;
}

/** How long a paid order waits for the restaurant (manual approval only). */
export interface ApprovalDeadlines {
  readonly timeoutMs: number | undefined;
}

export function toOrderType(view: OrderView, deadlines: ApprovalDeadlines = { timeoutMs: undefined }): OrderType {
  const { paidAt, ...rest } = view;
  const approvalDeadline =
    deadlines.timeoutMs !== undefined && view.status === 'PAID' && paidAt ? new Date(new Date(paidAt).getTime() + deadlines.timeoutMs) : null;
  return Object.assign(new OrderType(), {
    ...rest,
    // Orders stored before refunds existed have no flag: they were not refunded.
    refunded: view.refunded ?? false,
    approvalDeadline,
    status: view.status as OrderStatus,
    items: view.items.map((item) => Object.assign(new OrderItemType(), item)),
    placedAt: new Date(view.placedAt),
    updatedAt: new Date(view.updatedAt),
  });
}

/**
 * A stored event of an order, for the audit trail (`orderHistory`): the kit's audit event under the
 * contract's name `RecordedEvent`.
 */
@ObjectType('RecordedEvent')
export class RecordedEventType extends AuditEventView {}
