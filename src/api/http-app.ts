import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request handler as Node's `http` module and Express both call it.
 *
 * @example
 * const hello: HttpHandler = (_request, response) => response.end('hello');
 */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * What {@link Api.mount} needs of the app it mounts into: an Express 5 app or router fits. Declared
 * structurally so that the kit's published types never require `@types/express` from a user who does
 * not write Express code.
 *
 * @example
 * import express from 'express';
 * const app: HttpApp = express();
 */
export interface HttpApp {
  get(path: string, ...handlers: HttpHandler[]): unknown;
  use(path: string, ...handlers: HttpHandler[]): unknown;
}
