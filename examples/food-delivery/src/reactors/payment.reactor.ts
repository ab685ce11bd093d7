import { defineWebhookReactor, type WebhookReactor } from '../eventfold';
import { orderEvents } from '../domain/order-messages';

/**
 * Payment as a serverless function: each validated order (to charge) and cancelled order (to refund) is POSTed, signed with the shared secret, to
 * the payment function's URL (see `payment/payment.function.ts`). 5xx, timeouts and dropped connections
 * are retried with backoff; the idempotency key in every delivery keeps a retried charge single.
 */
export function paymentReactor(options: { readonly url: string; readonly secret: string; readonly maxAttempts?: number }): WebhookReactor {
  return defineWebhookReactor({
    name: 'payment',
    filter: { eventTypes: ['OrderValidated', 'OrderCancelled'], streamPrefixes: ['order-'] },
    url: options.url,
    secret: options.secret,
    // Deliveries carry the current shape of the order's events, whatever version is stored.
    events: orderEvents,
    timeoutMs: 5_000,
    // A payment service may be down for a while: keep trying for about a minute, then park (redrive later).
    retry: { maxAttempts: options.maxAttempts ?? 20, initialDelayMs: 100, maxDelayMs: 5_000 },
  });
}
