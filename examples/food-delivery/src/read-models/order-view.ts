/** The order as the API shows it (GraphQL's `Order`), kept by the orders projection. */
export type OrderStatusName =
  | 'PLACED'
  | 'VALIDATED'
  | 'REJECTED'
  | 'PAID'
  | 'PAYMENT_FAILED'
  | 'APPROVED'
  | 'DRIVER_ASSIGNED'
  | 'CANCELLED';

export interface OrderItemView {
  readonly menuItemId: string;
  readonly quantity: number;
  /** Known once the order was validated against the menu. */
  readonly name: string | null;
  readonly unitPrice: number | null;
}

export interface OrderView {
  readonly id: string;
  readonly status: OrderStatusName;
  readonly customerId: string;
  /** Personal data of the customer: null when not given, and for good once the customer was forgotten. */
  readonly customerName: string | null;
  readonly deliveryAddress: string | null;
  /** True once the customer was forgotten (forgetCustomer): their name and address are erased. */
  readonly personalDataErased: boolean;
  readonly restaurantId: string;
  readonly items: readonly OrderItemView[];
  /** In currency units (cents / 100); 0 until the order is validated. */
  readonly total: number;
  readonly rejectionReason: string | null;
  readonly paymentError: string | null;
  readonly cancellationReason: string | null;
  readonly paymentId: string | null;
  readonly driverId: string | null;
  /** When the payment was recorded (the approval deadline counts from it). */
  readonly paidAt?: string | null;
  /** The payment was refunded (a cancelled, paid order). */
  readonly refunded?: boolean;
  /** The position of the last event applied to this order: wait on it to read your own writes. */
  readonly position: string;
  /** The stream revision of that event. */
  readonly revision: number;
  /** Where OrderPlaced sits in the store: a stable, sortable place in the list of all orders. */
  readonly placedPosition: string;
  readonly placedAt: string;
  readonly updatedAt: string;
}

/** One state of an order, as it was after one of its events: what live subscribers are sent. */
export interface OrderUpdate {
  readonly orderId: string;
  readonly revision: number;
  readonly order: OrderView;
}
