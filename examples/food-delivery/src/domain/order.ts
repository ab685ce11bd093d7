import { BusinessRuleError, defineAggregate, type Decider } from '../eventfold';
import { APPROVAL_TIMEOUT, orderCommands, orderEvents, type OrderCommand, type OrderEvent } from './order-messages';

/**
 * Where an order is in the workflow: placed → validated → paid → approved → driver assigned. A paid order
 * the restaurant does not approve in time (manual approval) is cancelled and refunded.
 */
export type OrderStatus =
  | 'placed'
  | 'validated'
  | 'rejected'
  | 'paid'
  | 'payment_failed'
  | 'approved'
  | 'driver_assigned'
  | 'cancelled';

/** A succeeded payment, kept so that a cancelled order can be refunded. */
export interface OrderPayment {
  readonly paymentId: string;
  readonly amountCents: number;
  readonly refunded: boolean;
}

export type OrderState =
  | { readonly status: 'none' }
  | { readonly status: OrderStatus; readonly orderId: string; readonly payment?: OrderPayment };

/**
 * The order aggregate. Commands sent by reactors (validate, reject, record a payment, approve, assign a
 * driver) decide nothing when their step already happened or no longer applies, so a redelivered or late
 * event is harmless. The customer's and restaurant's own commands (cancel, manual approval) get a
 * business-rule error instead, because a person needs to hear why nothing happened.
 */
export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  initialState: () => ({ status: 'none' }),

  decide(command, state) {
    if (state.status === 'none') {
      if (command.type !== 'PlaceOrder') throw new BusinessRuleError('ORDER_NOT_FOUND', 'there is no such order');
      return [{ type: 'OrderPlaced', data: command.data }];
    }
    const { orderId } = state;
    switch (command.type) {
      case 'PlaceOrder':
        // The command's `stream: 'new'` stops this before decide runs; kept for a decider used on its own.
        throw new BusinessRuleError('ORDER_EXISTS', `order ${orderId} already exists`);
      case 'ValidateOrder':
        return state.status === 'placed' ? [{ type: 'OrderValidated', data: { orderId, ...command.data } }] : [];
      case 'RejectOrder':
        return state.status === 'placed' ? [{ type: 'OrderRejected', data: { orderId, reason: command.data.reason } }] : [];
      case 'RecordPayment': {
        if (state.status !== 'validated') return [];
        const payment = command.data;
        return payment.outcome === 'succeeded'
          ? [{ type: 'PaymentSucceeded', data: { orderId, paymentId: payment.paymentId, amountCents: payment.amountCents } }]
          : [{ type: 'PaymentFailed', data: { orderId, reason: payment.reason } }];
      }
      case 'ApproveOrder':
        switch (state.status) {
          case 'paid':
            return [{ type: 'OrderApproved', data: { orderId, approvedBy: command.data.approvedBy } }];
          case 'approved':
          case 'driver_assigned':
            return [];
          case 'cancelled':
            throw new BusinessRuleError('ORDER_CANCELLED', `order ${orderId} was cancelled`);
          default:
            throw new BusinessRuleError('ORDER_NOT_PAID', `order ${orderId} is ${state.status}; only a paid order can be approved`);
        }
      case 'AssignDriver':
        if (state.status === 'approved') return [{ type: 'DriverAssigned', data: { orderId, driverId: command.data.driverId } }];
        if (state.status === 'driver_assigned') return [];
        throw new BusinessRuleError('ORDER_NOT_APPROVED', `order ${orderId} is ${state.status}; a driver is assigned only after approval`);
      case 'ExpireApproval':
        // Approved, cancelled or anything else in time: the timer has nothing left to do.
        return state.status === 'paid' ? [{ type: 'OrderCancelled', data: { orderId, reason: APPROVAL_TIMEOUT } }] : [];
      case 'RecordRefund': {
        const { payment } = state;
        if (state.status !== 'cancelled' || !payment || payment.refunded) return [];
        return [{ type: 'PaymentRefunded', data: { orderId, paymentId: payment.paymentId, amountCents: payment.amountCents, refundId: command.data.refundId } }];
      }
      case 'CancelOrder':
        switch (state.status) {
          case 'placed':
          case 'validated':
          case 'paid':
            return [{ type: 'OrderCancelled', data: { orderId, reason: command.data.reason } }];
          case 'cancelled':
            return [];
          case 'approved':
          case 'driver_assigned':
            throw new BusinessRuleError('ORDER_ALREADY_APPROVED', `order ${orderId} was approved by the restaurant and can no longer be cancelled`);
          case 'rejected':
          case 'payment_failed':
            throw new BusinessRuleError('ORDER_CLOSED', `order ${orderId} is ${state.status}; there is nothing to cancel`);
          default: {
            const _never: never = state;
            return _never;
          }
        }
      default: {
        const _never: never = command;
        return _never;
      }
    }
  },

  evolve(state, event) {
    // The payment travels with the order from PaymentSucceeded on.
    const payment = state.status === 'none' ? undefined : state.payment;
    const withPayment = payment ? { payment } : {};
    switch (event.type) {
      case 'OrderPlaced':
        return { status: 'placed', orderId: event.data.orderId };
      case 'OrderValidated':
        return { status: 'validated', orderId: event.data.orderId };
      case 'OrderRejected':
        return { status: 'rejected', orderId: event.data.orderId };
      case 'PaymentSucceeded':
        return { status: 'paid', orderId: event.data.orderId, payment: { paymentId: event.data.paymentId, amountCents: event.data.amountCents, refunded: false } };
      case 'PaymentFailed':
        return { status: 'payment_failed', orderId: event.data.orderId };
      case 'OrderApproved':
        return { status: 'approved', orderId: event.data.orderId, ...withPayment };
      case 'DriverAssigned':
        return { status: 'driver_assigned', orderId: event.data.orderId, ...withPayment };
      case 'OrderCancelled':
        return { status: 'cancelled', orderId: event.data.orderId, ...withPayment };
      case 'PaymentRefunded':
        return { status: 'cancelled', orderId: event.data.orderId, ...(payment ? { payment: { ...payment, refunded: true } } : {}) };
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
};

/** Orders live in streams named `order-<orderId>`. */
export const order = defineAggregate({ category: 'order', decider: orderDecider, commands: orderCommands, events: orderEvents });
