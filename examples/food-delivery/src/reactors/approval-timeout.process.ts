import { defineProcess, type Reactor } from '../eventfold';
import { order } from '../domain/order';
import { orderEvents, type OrderEvent } from '../domain/order-messages';

/** Where one order stands for the approval clock. Plain JSON: it is stored with each event the process sees. */
export type ApprovalClock =
  | { readonly status: 'unpaid' }
  | { readonly status: 'waiting'; readonly deadline: string }
  | { readonly status: 'settled' };

/** The one timer of an order, per process instance (the order). */
const TIMER = 'approval';

/**
 * With manual approval, a paid order the restaurant does not approve within `timeoutMs` is cancelled
 * (reason APPROVAL_TIMEOUT); the payment function then refunds it. The deadline counts from when the
 * payment was recorded, so a redelivered or late event computes the same one. Approval (or any
 * cancellation) in time cancels the timer. The process state is folded from the order's events, so
 * duplicates and restarts change nothing; the timer itself survives restarts in the store.
 */
export function approvalTimeoutProcess(timeoutMs: number): Reactor {
  return defineProcess<ApprovalClock, OrderEvent>({
    name: 'approval-timeout',
    filter: { eventTypes: ['PaymentSucceeded', 'OrderApproved', 'OrderCancelled'], streamPrefixes: ['order-'] },
    events: orderEvents,
    correlate: (event) => event.data.orderId,
    initialState: () => ({ status: 'unpaid' }),
    evolve(state, event) {
      switch (event.type) {
        case 'PaymentSucceeded':
          return state.status === 'unpaid' ? { status: 'waiting', deadline: new Date(event.recordedAt.getTime() + timeoutMs).toISOString() } : state;
        case 'OrderApproved':
        case 'OrderCancelled':
          return { status: 'settled' };
        default:
          return state;
      }
    },
    decide(state, event) {
      switch (state.status) {
        case 'waiting':
          return {
            schedule: [{ aggregate: order, streamName: event.streamName, command: { type: 'ExpireApproval', data: {} }, key: TIMER, at: state.deadline }],
          };
        case 'settled':
          return { cancel: [TIMER] };
        case 'unpaid':
          return {};
        default: {
          const _never: never = state;
          return _never;
        }
      }
    },
  });
}
