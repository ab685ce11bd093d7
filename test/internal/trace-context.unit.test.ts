import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { continuedContext, parseTraceparent, traceparentOf } from '../../src/internal/trace-context';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  it('reads a valid one into a remote span context and writes it back unchanged', () => {
    const parsed = parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(parsed).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(traceparentOf(parsed)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(traceparentOf(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`))).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
  });

  it('accepts a later version with more fields, as the spec asks', () => {
    expect(parseTraceparent(`01-${TRACE_ID}-${SPAN_ID}-01-what-comes-next`)?.traceId).toBe(TRACE_ID);
  });

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['version 00 with extra fields', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['far too long', `00-${TRACE_ID}-${SPAN_ID}-01-${'x'.repeat(600)}`],
  ])('refuses %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('writes nothing for a span that is not valid (no SDK, no parent)', () => {
    expect(traceparentOf(trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }))).toBeUndefined();
    expect(traceparentOf(undefined)).toBeUndefined();
  });

  it('continues the carried context when no span is active, so it travels even without an SDK', () => {
    const continued = continuedContext(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(trace.getSpanContext(continued)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(continuedContext('garbage')).toBe(context.active());
    expect(trace.getSpanContext(continuedContext(undefined))).toBeUndefined();
    expect(ROOT_CONTEXT).toBe(context.active());
  });
});
