import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { errorCategory } from './eventfold-error';
import { record } from './metrics';
import { continuedContext, parseTraceparent, TRACEPARENT_KEY, traceparentOf } from './trace-context';

/**
 * The kit's tracer. `trace.getTracer` hands out a proxy: it records nothing until the app registers an
 * SDK, and then follows it, so taking it once at load is right.
 */
export const tracer: Tracer = trace.getTracer('eventfold');

const MESSAGING = { 'messaging.system': 'eventfold' } as const;
/** A projection batch links to at most this many distinct traces (a rebuild's batch may span thousands). */
const MAX_LINKS = 32;

/** Marks a span failed with the error, and names the error's class. */
function fail(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const name = error instanceof Error ? error.name : 'Error';
  span.setAttribute('error.type', (error as { code?: unknown }).code !== undefined ? String((error as { code: unknown }).code) : name);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Runs `work` in `span` (active in `parent`), ending it and recording a failure. */
async function within<T>(span: Span, parent: Context, work: (span: Span) => Promise<T> | T): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), work, undefined, span);
  } catch (error) {
    fail(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The steps of one traced command: its span's `traceparent` for the events, and child spans. */
export interface CommandTrace {
  /** The command span's context as W3C `traceparent`, for its events' metadata; undefined when tracing is off. */
  readonly traceparent: string | undefined;
  /** A child span of the command (`load`, `decide`). */
  step<T>(name: string, work: () => Promise<T> | T): Promise<T>;
  /** The append, as a producer span with messaging and database attributes; recorded in the append metrics. */
  append<T>(streamName: string, eventCount: number, backend: string, work: () => Promise<T>): Promise<T>;
}

/**
 * Runs one command in a span (`handle <CommandType>`), continuing the active trace, else the trace of
 * the event that caused it (`causedBy.metadata.traceparent`). Records the command duration by type and
 * outcome (`ok` or the error's category).
 */
export async function traceCommand<T>(
  request: { readonly streamName?: unknown; readonly command?: unknown; readonly causedBy?: { readonly metadata?: Readonly<Record<string, unknown>> } },
  work: (trace: CommandTrace) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const rawType = (request?.command as { type?: unknown } | undefined)?.type;
  const commandType = typeof rawType === 'string' && rawType.length <= 200 ? rawType : 'unknown';
  const parent = continuedContext(request?.causedBy?.metadata?.[TRACEPARENT_KEY]);
  const span = tracer.startSpan(`handle ${commandType}`, { kind: SpanKind.INTERNAL, attributes: { 'eventfold.command.type': commandType } }, parent);
  if (span.isRecording() && typeof request?.streamName === 'string') span.setAttribute('eventfold.stream.name', request.streamName);
  const inSpan = trace.setSpan(parent, span);
  // With no SDK (or a command not sampled) the steps make no spans at all: their children could not record either.
  const recording = span.isRecording();
  const commandTrace: CommandTrace = {
    traceparent: traceparentOf(span),
    step: recording ? (name, stepWork) => within(tracer.startSpan(name, {}, inSpan), inSpan, stepWork) : async (_name, stepWork) => stepWork(),
    append: (streamName, eventCount, backend, appendWork) => {
      const appendStarted = performance.now();
      const done = (): void => record.append((performance.now() - appendStarted) / 1_000, eventCount, backend);
      if (!recording) return appendWork().finally(done);
      const attributes: Attributes = {
        ...MESSAGING,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'append',
        'messaging.destination.name': streamName,
        'messaging.batch.message_count': eventCount,
        'db.system.name': backend,
        'db.operation.name': 'append',
      };
      return within(tracer.startSpan('append', { kind: SpanKind.PRODUCER, attributes }, inSpan), inSpan, appendWork).finally(done);
    },
  };
  let outcome = 'ok';
  try {
    return await within(span, parent, () => work(commandTrace));
  } catch (error) {
    outcome = errorCategory(error) ?? 'internal';
    throw error;
  } finally {
    record.command((performance.now() - started) / 1_000, commandType, outcome);
  }
}

/**
 * One projection batch (`process <projection>`): a consumer span linked to the traces of its events
 * (a batch mixes many workflows, so none of them is its parent).
 */
export function traceProjectionBatch<T>(
  projection: string,
  events: readonly { readonly metadata: Readonly<Record<string, unknown>> }[],
  work: () => Promise<T>,
): Promise<T> {
  const attributes: Attributes = {
    ...MESSAGING,
    'messaging.operation.type': 'process',
    'messaging.consumer.group.name': projection,
    'messaging.batch.message_count': events.length,
    'eventfold.projection.name': projection,
  };
  const parent = context.active();
  const span = tracer.startSpan(`process ${projection}`, { kind: SpanKind.CONSUMER, attributes }, parent);
  if (span.isRecording()) span.addLinks(linksOf(events));
  return within(span, parent, work);
}

/** The distinct traces of a batch's events, at most {@link MAX_LINKS}. */
function linksOf(events: readonly { readonly metadata: Readonly<Record<string, unknown>> }[]): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const event of events) {
    const value = event.metadata[TRACEPARENT_KEY];
    if (typeof value !== 'string' || seen.has(value)) continue;
    seen.add(value);
    const remote = parseTraceparent(value);
    if (remote) links.push({ context: remote });
    if (links.length >= MAX_LINKS) break;
  }
  return links;
}

/** What a reactor span needs of the event it handles. */
export interface TracedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamName: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * One attempt of a reactor on one event (`process <reactor>`): a consumer span whose parent is the
 * event's trace, so the reactor's commands (and webhook calls) continue the workflow's trace.
 */
export function traceReactorAttempt<T>(reactor: string, event: TracedEvent, attempt: number, work: () => Promise<T> | T): Promise<T> {
  const parent = continuedContext(event.metadata[TRACEPARENT_KEY]);
  const attributes: Attributes = {
    ...MESSAGING,
    'messaging.operation.type': 'process',
    'messaging.consumer.group.name': reactor,
    'messaging.destination.name': event.streamName,
    'messaging.message.id': event.id,
    'eventfold.event.type': event.type,
    'eventfold.reactor.name': reactor,
    'eventfold.reactor.attempt': attempt,
  };
  return within(tracer.startSpan(`process ${reactor}`, { kind: SpanKind.CONSUMER, attributes }, parent), parent, work);
}

/** Counts a reactor attempt by outcome (`succeeded`, `retrying`, `parked`). */
export function recordReactorAttempt(reactor: string, outcome: string): void {
  record.reactorAttempt(reactor, outcome);
}

/**
 * One webhook delivery (`POST`): a client span; `work` gets the `traceparent` header to send and
 * returns the answer's status (thrown errors count as status 0: no answer).
 */
export async function traceWebhookDelivery(
  reactor: string,
  event: TracedEvent,
  url: URL,
  work: (traceparent: string | undefined) => Promise<number>,
): Promise<number> {
  const parent = continuedContext(event.metadata[TRACEPARENT_KEY]);
  const attributes: Attributes = {
    'http.request.method': 'POST',
    'url.full': `${url.origin}${url.pathname}`,
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    'eventfold.reactor.name': reactor,
  };
  const span = tracer.startSpan('POST', { kind: SpanKind.CLIENT, attributes }, parent);
  // Without an SDK the event's own context still goes out, so the function can continue it.
  const carried = event.metadata[TRACEPARENT_KEY];
  const traceparent = traceparentOf(span) ?? (typeof carried === 'string' ? carried : undefined);
  let status = 0;
  try {
    status = await within(span, parent, async () => {
      try {
        const answered = await work(traceparent);
        if (span.isRecording()) span.setAttribute('http.response.status_code', answered);
        return answered;
      } catch (error) {
        // A failed delivery with an answer carries its status (WebhookDeliveryError.status).
        const answered = (error as { status?: unknown }).status;
        if (typeof answered === 'number') status = answered;
        if (span.isRecording() && status > 0) span.setAttribute('http.response.status_code', status);
        throw error;
      }
    });
    return status;
  } finally {
    record.webhookDelivery(reactor, status);
  }
}

/**
 * The receiving side of a webhook (`createHttpFunction`, `createLambdaHandler`): a server span that
 * continues the `traceparent` header (else the event's own), so the commands the function sends stay
 * in the workflow's trace.
 */
export function traceHttpFunction<T>(
  traceparent: string | undefined,
  eventMetadata: Readonly<Record<string, unknown>> | undefined,
  describe: { readonly reactor: string; readonly eventId: string },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const remote = parseTraceparent(traceparent) ?? parseTraceparent(eventMetadata?.[TRACEPARENT_KEY]);
  const parent = remote ? trace.setSpanContext(context.active(), remote) : context.active();
  const attributes: Attributes = {
    ...MESSAGING,
    'http.request.method': 'POST',
    'messaging.operation.type': 'process',
    'messaging.consumer.group.name': describe.reactor,
    'messaging.message.id': describe.eventId,
    'eventfold.reactor.name': describe.reactor,
  };
  return within(tracer.startSpan(`POST ${describe.reactor}`, { kind: SpanKind.SERVER, attributes }, parent), parent, work);
}

/** Marks a span with an HTTP answer's status (5xx is an error of the server span). */
export function setResponseStatus(span: Span, statusCode: number): void {
  if (!span.isRecording()) return;
  span.setAttribute('http.response.status_code', statusCode);
  if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${statusCode}` });
}
