import { context, trace, TraceFlags, type Context, type Span, type SpanContext } from '@opentelemetry/api';

/** The event-metadata key (and HTTP header) that carries the W3C trace context. */
export const TRACEPARENT_KEY = 'traceparent';

// W3C Trace Context, level 1: version-traceid-parentid-flags. A later version may append fields, which
// are ignored; version ff is invalid. Written by hand because the kit depends on `@opentelemetry/api`
// only (the propagator lives in the SDK's `@opentelemetry/core`), and because the context must travel
// in event metadata even in a process that runs no SDK.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The `traceparent` of a span (or span context), or undefined when it is not a valid one (no SDK and no
 * parent: tracing is off).
 *
 * @example
 * traceparentOf(span); // '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
 */
export function traceparentOf(span: Span | SpanContext | undefined): string | undefined {
  const spanContext = span === undefined ? undefined : 'spanContext' in span ? span.spanContext() : span;
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Reads a `traceparent` into a remote span context; undefined for anything that is not a valid one
 * (the check is one bounded regular expression: the value comes from outside).
 *
 * @example
 * const remote = parseTraceparent(request.headers.traceparent);
 */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  if (version === '00' && value.trim().length !== 55) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/**
 * The context a piece of work continues: the active one when a span is active in it (an SDK with a
 * context manager), else the one carried by `traceparent` (event metadata, a header), else the active one.
 *
 * @example
 * const parent = continuedContext(event.metadata.traceparent);
 */
export function continuedContext(traceparent: unknown): Context {
  const active = context.active();
  const activeSpan = trace.getSpan(active);
  if (activeSpan && trace.isSpanContextValid(activeSpan.spanContext())) return active;
  const remote = parseTraceparent(traceparent);
  return remote ? trace.setSpanContext(active, remote) : active;
}
