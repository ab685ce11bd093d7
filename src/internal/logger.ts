/**
 * One logging call, in pino's two shapes: structured fields then a message, or a message alone. A pino
 * logger's methods fit as they are; so does `console.log` (it prints the fields, then the message).
 *
 * @example
 * logger.warn({ reactor: 'payment', eventId }, 'event parked');
 * logger.info('shut down');
 */
export interface LogFn {
  (fields: Record<string, unknown>, message?: string): void;
  (message: string): void;
}

/**
 * The kit's one logger interface (the API, reactors, HTTP functions). A pino logger is one as it is;
 * anything else needs four functions. The kit logs nothing unless it is given one.
 *
 * @example
 * import pino from 'pino';
 * const logger: Logger = pino();
 * await ReactorRunner.start({ store, reactors, logger });
 */
export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

/** Logs nothing: the default, so that a library never writes to the console unasked. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * A logger that adds `fields` to every line (a call's own fields win), like pino's `child`.
 *
 * @example
 * withFields(logger, { reactor: 'payment' }).warn({ eventId }, 'event parked');
 */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  const bind =
    (log: LogFn): LogFn =>
    (first: Record<string, unknown> | string, message?: string) =>
      typeof first === 'string' ? log({ ...fields }, first) : log({ ...fields, ...first }, message);
  return { debug: bind(logger.debug), info: bind(logger.info), warn: bind(logger.warn), error: bind(logger.error) };
}
