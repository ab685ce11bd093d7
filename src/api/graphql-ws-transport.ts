import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import type { ApiUser } from './api-context';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ApiLogger } from './logger';
import { sharedMessage, sharedPayload } from './shared-frames';

/** A shared frame's bytes are a text message. */
const SHARED_FRAME = { binary: false } as const;

/** What graphql-ws hands a connection's hooks: its socket, and the user once `connection_init` is accepted. */
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
        // The marker check runs for every message, so that a marker never outlives its own (shared-frames.ts).
        send: (data) => sendTaken(socket, sharedMessage(data) ?? data),
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

/**
 * Sends a message and returns when the socket has taken it, as graphql-ws' own transport does (a
 * subscriber's next value is pulled only then, so a slow client's values wait, bounded, in its live
 * query). When the kernel takes the message at once, which is the rule, there is nothing to wait
 * for and no promise is made: one less per subscriber and push, which was most of the fan-out's
 * garbage. A message still in the socket's buffer is waited for through the write's callback.
 */
function sendTaken(socket: WebSocket, message: string | Buffer): Promise<void> | undefined {
  if (socket.readyState !== socket.OPEN) return undefined;
  const write: { done: boolean; error?: Error; settle?: (error?: Error) => void } = { done: false };
  const callback = (error?: Error): void => {
    write.done = true;
    write.error = error;
    write.settle?.(error);
  };
  if (typeof message === 'string') socket.send(message, callback);
  else socket.send(message, SHARED_FRAME, callback);
  if (socket.bufferedAmount === 0 && !write.error) return undefined;
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => (error ? reject(error) : resolve());
    if (write.done) settle(write.error);
    else write.settle = settle;
  });
}
