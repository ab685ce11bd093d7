/**
 * Where the API logs (startup, auth mode, shutdown, unexpected errors). Default: the console.
 *
 * @example
 * createApi({ ..., logger: pino() });
 */
export interface ApiLogger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export const consoleLogger: ApiLogger = {
  info: (message, details) => console.info(`[eventfold api] ${message}`, ...(details ? [details] : [])),
  warn: (message, details) => console.warn(`[eventfold api] ${message}`, ...(details ? [details] : [])),
  error: (message, details) => console.error(`[eventfold api] ${message}`, ...(details ? [details] : [])),
};
