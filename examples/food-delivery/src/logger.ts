import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The app's logger: JSON lines (pino) on standard output, each with the `trace_id` and `span_id` of the
 * span it was written in, so a log line leads to its trace. `LOG_LEVEL` sets the level (default `info`).
 */
export function createLogger(env: NodeJS.ProcessEnv): Logger {
  const level = env.LOG_LEVEL?.trim().toLowerCase() || 'info';
  if (!LEVELS.includes(level)) throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`);
  return pino({
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => {
      const span = trace.getActiveSpan();
      const context = span?.spanContext();
      return context && isSpanContextValid(context)
        ? { trace_id: context.traceId, span_id: context.spanId, trace_flags: context.traceFlags.toString(16).padStart(2, '0') }
        : {};
    },
  });
}
