import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommandEnvironment } from '../commands/handle-command';
import { InvalidDeliveryError, InvalidSignatureError, NonRetryableError, errorInfo, toError } from './errors';
import { parseDelivery } from './delivery-payload';
import type { Reactor, ReactorContext, ReactorHandler, ReactorLogger } from './reactor';
import { commandSender } from './send-command';
import { SIGNATURE_HEADER, verifySignature } from './signature';
import { silentLogger, withFields } from '../internal/logger';
import { setResponseStatus, traceHttpFunction } from '../internal/telemetry';
import { TRACEPARENT_KEY, traceparentOf } from '../internal/trace-context';

/**
 * How the receiving side of a webhook reactor checks and runs deliveries.
 *
 * @example
 * createHttpFunction(handler, { secret: process.env.PAYMENT_WEBHOOK_SECRET!, commands: { store } });
 */
export interface HttpFunctionOptions {
  /** The webhook reactor's secret; several while rotating (any one may match). */
  readonly secret: string | readonly string[];
  /** Replay window for the signed timestamp. Default 300 s. */
  readonly toleranceSeconds?: number;
  /** Largest body accepted. Default 5 MiB. */
  readonly maxBodyBytes?: number;
  /** Lets the handler's `context.send` run commands here (with the same derived command ids). */
  readonly commands?: CommandEnvironment;
  readonly logger?: ReactorLogger;
  /** Current unix time in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** An HTTP answer, independent of the platform. */
export interface DeliveryResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A Node HTTP request handler (`http.createServer`, an Express route). Its promise never rejects. */
export type HttpFunction = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** An AWS Lambda HTTP event (API Gateway HTTP API v2, Lambda function URLs; v1 REST events also fit). */
export interface LambdaHttpEvent {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
}

/** What a Lambda HTTP function returns. */
export interface LambdaHttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const DEFAULT_MAX_BODY = 5 * 1024 * 1024;

/**
 * Turns a reactor handler into a Node HTTP request handler: it verifies the signature and the
 * timestamp, runs the handler with the same event and context it gets in-process, and answers 200 on
 * success, 401 for a bad signature, 400 for a malformed delivery, 422 for a `NonRetryableError` (the
 * sender parks the event), 503 with `Retry-After` for a `RetryLaterError`, and 500 for anything else
 * (the sender retries). Mount it before any body parser: it needs the raw body.
 *
 * @example
 * import { createServer } from 'node:http';
 * const chargeFunction = createHttpFunction(chargeCard, { secret: process.env.PAYMENT_WEBHOOK_SECRET! });
 * createServer((request, response) => void chargeFunction(request, response)).listen(8080);
 */
export function createHttpFunction(handler: ReactorHandler | Reactor, options: HttpFunctionOptions): HttpFunction {
  checkOptions(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  return async (request, response) => {
    const abort = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) abort.abort();
    });
    let answer: DeliveryResponse;
    try {
      if (request.method !== 'POST') {
        answer = json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'deliveries are POSTed' } }, { allow: 'POST' });
      } else {
        const body = await readBody(request, maxBodyBytes);
        answer =
          body === undefined
            ? json(413, { error: { code: 'INVALID_DELIVERY', message: `the body exceeds ${maxBodyBytes} bytes` } })
            : await handleSignedDelivery(handler, body, headerOf(request.headers[SIGNATURE_HEADER]), options, abort.signal, headerOf(request.headers[TRACEPARENT_KEY]));
      }
    } catch (error) {
      // The request broke (the client went away mid-body): answer if still possible, never reject.
      (options.logger ?? silentLogger).warn({ error: errorInfo(error) }, 'delivery request failed');
      answer = json(500, { error: errorInfo(error) });
    }
    if (response.headersSent || response.destroyed) return;
    response.writeHead(answer.statusCode, answer.headers);
    response.end(answer.body);
  };
}

/**
 * The same as {@link createHttpFunction}, shaped as an AWS Lambda handler for HTTP events.
 *
 * @example
 * export const handler = createLambdaHandler(chargeCard, { secret: process.env.PAYMENT_WEBHOOK_SECRET! });
 */
export function createLambdaHandler(
  handler: ReactorHandler | Reactor,
  options: HttpFunctionOptions,
): (event: LambdaHttpEvent) => Promise<LambdaHttpResult> {
  checkOptions(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  return async (event) => {
    const raw = event.body ?? '';
    const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    if (Buffer.byteLength(body) > maxBodyBytes) {
      return { ...json(413, { error: { code: 'INVALID_DELIVERY', message: `the body exceeds ${maxBodyBytes} bytes` } }), headers: { 'content-type': 'application/json' } };
    }
    // Header names arrive lower-cased from API Gateway v2 and function URLs, as sent from REST v1.
    const headers = event.headers ?? {};
    const header = (name: string): string | undefined => headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
    const answer = await handleSignedDelivery(handler, body, header(SIGNATURE_HEADER), options, new AbortController().signal, header(TRACEPARENT_KEY));
    return { statusCode: answer.statusCode, headers: { ...answer.headers }, body: answer.body };
  };
}

/**
 * The platform-independent core of both adapters: verify, parse, run, and say how to answer. The
 * handler runs in a server span that continues `traceparent` (the request's header; else the
 * event's own), so the commands it sends stay in the workflow's trace.
 *
 * @example
 * const answer = await handleSignedDelivery(handler, rawBody, signatureHeader, { secret }, signal, request.headers.traceparent);
 */
export async function handleSignedDelivery(
  handler: ReactorHandler | Reactor,
  body: string,
  signature: string | undefined,
  options: HttpFunctionOptions,
  signal: AbortSignal = new AbortController().signal,
  traceparent?: string,
): Promise<DeliveryResponse> {
  const handle = typeof handler === 'function' ? handler : handler.handle;
  let delivery: ReturnType<typeof parseDelivery>;
  try {
    verifySignature(options.secret, signature, body, {
      ...(options.toleranceSeconds !== undefined ? { toleranceSeconds: options.toleranceSeconds } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    delivery = parseDelivery(body);
  } catch (error) {
    if (error instanceof InvalidSignatureError) return json(401, { error: { code: error.code, message: error.message } });
    if (error instanceof InvalidDeliveryError) return json(400, { error: { code: error.code, message: error.message } });
    throw error;
  }
  const { reactor, event } = delivery;
  return traceHttpFunction(traceparent, event.metadata, { reactor, eventId: event.id }, async (span) => {
    const answer = await runDelivery(handle, delivery, options, signal, traceparentOf(span));
    setResponseStatus(span, answer.statusCode);
    return answer;
  });
}

async function runDelivery(
  handle: ReactorHandler,
  delivery: ReturnType<typeof parseDelivery>,
  options: HttpFunctionOptions,
  signal: AbortSignal,
  traceparent: string | undefined,
): Promise<DeliveryResponse> {
  const logger = options.logger ?? silentLogger;
  const { reactor, event, delivery: info } = delivery;
  const fields = { reactor, eventId: event.id, streamName: event.streamName, attempt: info.attempt };
  try {
    await handle(event, {
      idempotencyKey: event.id,
      delivery: info,
      logger: withFields(logger, fields),
      signal,
      // The commands continue this hop's trace (the header's), even where no SDK carries it as the active context.
      send: commandSender(options.commands, reactor, traceparent === undefined ? event : { ...event, metadata: { ...event.metadata, [TRACEPARENT_KEY]: traceparent } }),
      ...noTimers(reactor),
    });
    return json(200, { ok: true });
  } catch (thrown) {
    const error = toError(thrown);
    const info = errorInfo(error);
    logger.warn({ ...fields, error: info }, 'delivery failed');
    if ((error as { retryable?: unknown }).retryable === false) return json(422, { error: info });
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof retryAfterMs === 'number' && retryAfterMs >= 0) {
      return json(503, { error: info }, { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) });
    }
    return json(500, { error: info });
  }
}

function checkOptions(options: HttpFunctionOptions): void {
  const secrets = typeof options?.secret === 'string' ? [options.secret] : options?.secret;
  if (!Array.isArray(secrets) || secrets.length === 0 || secrets.some((secret) => typeof secret !== 'string' || secret.length < 16)) {
    throw new InvalidSignatureError('createHttpFunction needs a secret (or a list of secrets) of at least 16 characters');
  }
}

function json(statusCode: number, value: unknown, headers: Record<string, string> = {}): DeliveryResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The raw body as text, or undefined when it is larger than the limit. */
async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const preParsed = (request as { rawBody?: unknown }).rawBody;
  if (typeof preParsed === 'string') return preParsed;
  if (Buffer.isBuffer(preParsed)) return preParsed.toString('utf8');
  const chunks: Buffer[] = [];
  let size = 0;
  // An over-long body is read to its end (not kept), so that the answer still reaches the sender.
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** A function runs away from the runner's timer store: timers belong to in-process reactors. */
function noTimers(reactor: string): Pick<ReactorContext, 'schedule' | 'cancelSchedule'> {
  const refuse = (): never => {
    throw new NonRetryableError(`reactor "${reactor}": timers (schedule, cancelSchedule) need an in-process reactor; an HTTP function cannot set them`);
  };
  return { schedule: refuse, cancelSchedule: refuse };
}
