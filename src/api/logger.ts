import type { Logger } from '../internal/logger';

/**
 * Where the API logs (startup, auth mode, shutdown, unexpected errors): the kit's one {@link Logger}
 * under the API's name. Default: silent (running with auth off is still announced, through
 * `process.emitWarning`).
 *
 * @example
 * createApi({ ..., logger: pino() });
 */
export type ApiLogger = Logger;
