import type { ReactorLogger } from './reactor';

/** Logs nothing: the default, so that a library never writes to the console unasked. */
export const silentLogger: ReactorLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A logger that adds `fields` to every line. */
export function withFields(logger: ReactorLogger, fields: Record<string, unknown>): ReactorLogger {
  return {
    debug: (message, extra) => logger.debug(message, { ...fields, ...extra }),
    info: (message, extra) => logger.info(message, { ...fields, ...extra }),
    warn: (message, extra) => logger.warn(message, { ...fields, ...extra }),
    error: (message, extra) => logger.error(message, { ...fields, ...extra }),
  };
}
