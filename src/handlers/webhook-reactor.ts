import type { Dispatcher, Pool } from 'undici';
import { upcastKnown } from '../commands/upcast-recorded';
import type { EventCatalog } from '../domain/event-catalog';
import { InvalidReactorError, WebhookDeliveryError } from './errors';
import { toDeliveryPayload } from './delivery-payload';
import { resolveReactor, type Reactor, type ReactorContext, type ReactorEvent, type ReactorOptions } from './reactor';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signDelivery } from './signature';
import { traceWebhookDelivery } from '../internal/telemetry';
import { TRACEPARENT_KEY } from '../internal/trace-context';

/**
 * A reactor that POSTs each event to an HTTP endpoint (a serverless function, another service).
 *
 * @example
 * const payment = defineWebhookReactor({
 *   name: 'payment',
 *   filter: { eventTypes: ['PaymentRequested'] },
 *   url: 'https://pay.example.com/hooks/eventfold',
 *   secret: process.env.PAYMENT_WEBHOOK_SECRET!,
 *   headers: { 'x-tenant': 'acme' },
 *   timeoutMs: 5_000,
 *   concurrency: 64,
 * });
 */
export interface WebhookReactorOptions extends ReactorOptions {
  /** `http:` or `https:`. */
  readonly url: string;
  /** Signs every delivery (HMAC-SHA256 over timestamp and body, in the `eventfold-signature` header). */
  readonly secret: string;
  /** Sent with every delivery (authorization, routing). The eventfold headers win over these. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whole request, from connecting to the last byte of the answer. Default 10 s. */
  readonly timeoutMs?: number;
  /** How long an idle kept-alive connection stays open. Default 10 s. */
  readonly keepAliveMs?: number;
  /** Current unix time in milliseconds, for the signature. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * The aggregate's event catalog: events of its types are delivered upcast to its current schema (with
   * the current `schemaVersion` in their metadata), so the function is written against today's shape.
   * Other events go as recorded.
   */
  readonly events?: EventCatalog;
}

/** A webhook reactor; `close()` closes its kept-alive connections. */
export interface WebhookReactor extends Reactor {
  readonly kind: 'webhook';
  readonly url: string;
  close(): Promise<void>;
}

const RETRYABLE_STATUS = new Set([408, 429]);
const REASON_LIMIT = 300;

/**
 * Defines a reactor whose handler is an HTTP endpoint. A 2xx answer is success; 5xx, 408, 429,
 * timeouts and connection errors are retried (a `Retry-After` is honoured, capped by
 * `retry.maxDelayMs`); any other answer parks the event at once with the status and body as its reason.
 * Connections are kept alive, at most `concurrency` of them.
 *
 * @example
 * const runner = await ReactorRunner.start({ store, reactors: [payment] });
 * // … later
 * await runner.stop();
 * await payment.close();
 * @throws InvalidReactorError for a bad URL, secret, header or timeout (and what defineReactor checks).
 */
export function defineWebhookReactor(options: WebhookReactorOptions): WebhookReactor {
  const { url, secret, headers = {}, timeoutMs = 10_000, keepAliveMs = 10_000, now = Date.now } = options;
  const where = `webhook reactor "${String(options.name)}"`;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new InvalidReactorError(`${where}: url ${JSON.stringify(url)} is not a URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new InvalidReactorError(`${where}: url must be http: or https:`);
  if (typeof secret !== 'string' || secret.length < 16) throw new InvalidReactorError(`${where}: secret must be a string of at least 16 characters`);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 900_000) {
    throw new InvalidReactorError(`${where}: timeoutMs must be an integer from 1 to 900000`);
  }
  if (!Number.isSafeInteger(keepAliveMs) || keepAliveMs < 1) throw new InvalidReactorError(`${where}: keepAliveMs must be a positive integer`);
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || typeof value !== 'string' || /[\r\n]/.test(value)) {
      throw new InvalidReactorError(`${where}: header ${JSON.stringify(name)} is not a valid HTTP header`);
    }
  }
  const { events: catalog } = options;
  if (catalog !== undefined && (typeof catalog !== 'object' || catalog === null || typeof catalog.decode !== 'function' || typeof catalog.has !== 'function')) {
    throw new InvalidReactorError(`${where}: events must be an event catalog (defineEvents)`);
  }
  const resolved = resolveReactor({ ...withoutCatalog(options), kind: 'webhook', handle: () => Promise.resolve() });
  // One origin, so a Pool (its request() is several times cheaper than the top-level request()).
  const path = `${target.pathname}${target.search}`;
  let agent: Pool | undefined;
  const dispatcher = (): Pool =>
    (agent ??= new (undici().Pool)(target.origin, {
      connections: resolved.concurrency,
      keepAliveTimeout: keepAliveMs,
      keepAliveMaxTimeout: Math.max(keepAliveMs, 60_000),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs },
    }));

  const handle = async (event: ReactorEvent, context: ReactorContext): Promise<void> => {
    // An event that does not fit its definition throws InvalidStoredEventError: retried, then parked with the reason.
    const current = catalog ? upcastKnown(catalog, event) : event;
    const body = JSON.stringify(toDeliveryPayload(resolved.name, current, context.delivery));
    // The time limits are undici's (connect, headers, body: each `timeoutMs`): cheaper than a timer
    // signal per request. The context's signal aborts on stop.
    const signal = context.signal;
    await traceWebhookDelivery(resolved.name, event, target, (traceparent) => deliver(body, event.id, traceparent, signal));
  };

  /** One POST; resolves with the 2xx status, throws WebhookDeliveryError (with the status when there was an answer). */
  const deliver = async (body: string, eventId: string, traceparent: string | undefined, signal: AbortSignal): Promise<number> => {
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher().request({
        path,
        method: 'POST',
        signal,
        headers: {
          ...lowerCased(headers),
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signDelivery(secret, body, Math.floor(now() / 1000)),
          [IDEMPOTENCY_HEADER]: eventId,
          ...(traceparent !== undefined ? { [TRACEPARENT_KEY]: traceparent } : {}),
        },
        body,
      });
    } catch (error) {
      throw new WebhookDeliveryError(`POST ${target.origin}${target.pathname} failed: ${describeTransportError(error, timeoutMs)}`, undefined, true, {
        cause: error,
      });
    }
    const { statusCode } = response;
    if (statusCode >= 200 && statusCode < 300) {
      // Read (not dumped): the answer is small, and dump() costs more per request.
      await response.body.text().catch(() => undefined);
      return statusCode;
    }
    const text = await response.body.text().catch(() => '');
    const reason = `POST ${target.origin}${target.pathname} answered ${statusCode}${text ? `: ${text.slice(0, REASON_LIMIT)}` : ''}`;
    const retryable = statusCode >= 500 || RETRYABLE_STATUS.has(statusCode);
    const retryAfterMs = retryable ? parseRetryAfter(response.headers['retry-after'], now()) : undefined;
    throw new WebhookDeliveryError(reason, statusCode, retryable, retryAfterMs === undefined ? {} : { retryAfterMs });
  };

  return {
    ...withoutCatalog(options),
    kind: 'webhook',
    url: target.toString(),
    handle,
    close: async () => {
      const current = agent;
      agent = undefined;
      await current?.close();
    },
  };
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/**
 * undici loads with the first delivery, not with the kit: an app without webhooks never pays for it
 * (about a sixth of the core's load time).
 */
function undici(): typeof import('undici') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  return require('undici') as typeof import('undici');
}

function describeTransportError(error: unknown, timeoutMs: number): string {
  const undiciErrors = undici().errors;
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) return `timed out after ${timeoutMs} ms`;
  // DOMExceptions may come from another realm: match the name, not the class.
  const name = (error as { name?: unknown }).name;
  if (name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (name === 'AbortError') return 'aborted (the runner stopped or lost the partition)';
  if (error instanceof undiciErrors.ConnectTimeoutError) return `connecting timed out after ${timeoutMs} ms`;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

/** `Retry-After` as milliseconds from now: delta seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function withoutCatalog(options: WebhookReactorOptions): Omit<WebhookReactorOptions, 'events'> {
  const { events: _events, ...rest } = options;
  return rest;
}
