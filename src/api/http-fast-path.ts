import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { ApiContext } from './api-context';
import { bodyLimitBytes, bodyTooLargeBody, internalErrorBody, malformedBodyBody, shuttingDownBody } from './http-error-bodies';
import type { ApiLogger } from './logger';
import { listedRequest, notInSafelistBody, type Safelist } from './persisted-operations';
import type { InFlightRequests } from './shutdown';

/** What the fast path shares with the Express path, so both answer alike. */
export interface FastPathOptions {
  readonly path: string;
  readonly bodyLimit: string | number;
  readonly apollo: ApolloServer<ApiContext>;
  readonly context: (request: IncomingMessage) => Promise<ApiContext>;
  readonly requests: InFlightRequests;
  readonly logger: ApiLogger;
  /** Only these operations may run (checked on the parsed body, before Apollo parses the document). */
  readonly safelist?: Safelist;
  /** Requests of the SSE protocol, which Express routes to graphql-sse. */
  readonly isEventStream?: (request: IncomingMessage) => boolean;
}

type Send = (status: number, body: string, headers?: Iterable<[string, string]>) => void;

/**
 * The hot path of an API on its own server: a POST of plain JSON to `path` goes straight to Apollo,
 * without Express's router, body-parser and `res.send` (ETag hashing), which cost about as much CPU
 * as Apollo and graphql-js together. Same body limit, same error bodies, same shutdown accounting.
 * The returned handler answers such a request and returns true; for anything else (other paths and
 * methods, compressed or non-UTF-8 bodies, no body) it returns false, and Express answers as before.
 */
export function graphQLPostFastPath(options: FastPathOptions): (request: IncomingMessage, response: ServerResponse) => boolean {
  const limit = bodyLimitBytes(options.bodyLimit);
  return (request, response) => {
    if (request.method !== 'POST') return false;
    const url = request.url ?? '';
    const query = url.indexOf('?');
    if ((query === -1 ? url : url.slice(0, query)) !== options.path) return false;
    const type = request.headers['content-type'];
    if (type === undefined || !/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(type)) return false;
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const length = request.headers['content-length'];
    if (length === undefined ? request.headers['transfer-encoding'] === undefined : length === '0') return false;
    if (options.isEventStream?.(request)) return false;
    const send: Send = (status, body, headers) => {
      if (headers) for (const [key, value] of headers) response.setHeader(key, value);
      response.statusCode = status;
      if (!response.hasHeader('content-type')) response.setHeader('content-type', 'application/json; charset=utf-8');
      response.setHeader('content-length', Buffer.byteLength(body));
      response.end(body);
    };
    if (options.requests.closing) {
      response.setHeader('connection', 'close');
      send(503, JSON.stringify(shuttingDownBody()));
      return true;
    }
    options.requests.track(response);
    const tooLarge = (): void => send(413, JSON.stringify(bodyTooLargeBody(options.bodyLimit)));
    if (length !== undefined && Number(length) > limit) {
      // Like body-parser: refuse before reading, and let the connection go rather than drain the body.
      response.setHeader('connection', 'close');
      tooLarge();
      request.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        response.setHeader('connection', 'close');
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    request.once('error', () => {
      if (!response.headersSent) send(400, JSON.stringify(malformedBodyBody()));
    });
    request.once('end', () => {
      if (refused) return;
      void executePost(options, request, response, Buffer.concat(chunks, size).toString('utf8'), send).catch((error: unknown) => {
        options.logger.error({ error: error instanceof Error ? error.stack : String(error) }, 'unexpected HTTP error');
        if (!response.headersSent) send(500, JSON.stringify(internalErrorBody()));
        else response.destroy();
      });
    });
    return true;
  };
}

async function executePost(options: FastPathOptions, request: IncomingMessage, response: ServerResponse, text: string, send: Send): Promise<void> {
  let body: unknown;
  // body-parser's strict mode: only an object or an array.
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
  try {
    if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
    body = JSON.parse(text);
  } catch {
    send(400, JSON.stringify(malformedBodyBody()));
    return;
  }
  if (options.safelist && !listedRequest(options.safelist, body)) {
    send(400, JSON.stringify(notInSafelistBody()));
    return;
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const url = request.url ?? '';
  const query = url.indexOf('?');
  const result = await options.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: 'POST', headers, search: query === -1 ? '' : url.slice(query), body },
    context: () => options.context(request),
  });
  if (result.body.kind === 'complete') {
    send(result.status ?? 200, result.body.string, result.headers);
    return;
  }
  for (const [key, value] of result.headers) response.setHeader(key, value);
  response.statusCode = result.status ?? 200;
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}
