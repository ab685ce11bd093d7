import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import type { ApiUser } from './api-context';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ApiLogger } from './logger';
import { sharedMessage, sharedPayload } from './shared-frames';

/** A shared frame's bytes are a text message. */
const SHARED_FRAME = { binary: false } as const;

/** What graphql-ws hands a connection's hooks: the socket and its upgrade request, and the user. */
export type WsExtra = { socket: WebSocket; user?: ApiUser };

/**
 * graphql-ws' server on a `ws` server, as graphql-ws' own `useServer` does it (keep-alive pings, the
 * sub-protocol check, internal errors closing with 4500), except that a pushed result is serialised
 * once however many subscribers receive it (see shared-frames.ts): `onNext` is taken by this
 * transport, so `options` carries none.
 */
export function serveGraphQLWs(
  options: Omit<ServerOptions<Record<string, unknown>, WsExtra>, 'onNext'>,
  webSockets: WebSocketServer,
  keepAliveMs: number,
  logger: ApiLogger,
): void {
  const server = makeServer<Record<string, unknown>, WsExtra>({
    ...options,
    onNext: (_ctx, _id, _payload, _args, result: ExecutionResult) => sharedPayload(result) as unknown as FormattedExecutionResult,
  });
  webSockets.options.handleProtocols = handleProtocols;
  webSockets.once('error', (error) => {
    logger.error({ error: error.message }, 'WebSocket server error');
    for (const client of webSockets.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  webSockets.on('connection', (socket: WebSocket) => {
    socket.once('error', (error) => {
      logger.error({ error: error.message }, 'WebSocket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    let pongWait: NodeJS.Timeout | undefined;
    const pingInterval =
      keepAliveMs > 0 && Number.isFinite(keepAliveMs)
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.once('pong', () => {
              clearTimeout(pongWait);
              pongWait = undefined;
            });
            socket.ping();
          }, keepAliveMs)
        : undefined;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        // Resolved once the socket has taken the message, as graphql-ws' own transport does: a
        // subscriber's next value is pulled only then, so a slow client's values wait (bounded) in its
        // live query, not in the socket's buffer.
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            // Always looked at, so that a marker never outlives its message (see shared-frames.ts).
            const shared = sharedMessage(data);
            if (socket.readyState !== socket.OPEN) return resolve();
            const done = (error?: Error): void => (error ? reject(error) : resolve());
            if (shared) socket.send(shared, SHARED_FRAME, done);
            else socket.send(data, done);
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: Buffer) => {
            handle(String(data)).catch((error: unknown) => {
              logger.error({ error: error instanceof Error ? error.stack : String(error) }, 'unexpected error handling a WebSocket message');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket },
    );
    socket.once('close', (code: number, reason: Buffer) => {
      clearTimeout(pongWait);
      clearInterval(pingInterval);
      void closed(code, String(reason));
    });
  });
}
