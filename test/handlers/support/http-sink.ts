import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A real HTTP server on 127.0.0.1 whose behaviour the test sets, counting the connections it accepts. */
export interface HttpSink {
  readonly url: string;
  readonly sockets: Set<Socket>;
  connections: number;
  handler: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;
  close(): Promise<void>;
}

export async function startSink(handler: HttpSink['handler'] = (_request, response) => void response.end()): Promise<HttpSink> {
  const sockets = new Set<Socket>();
  const sink: HttpSink = {
    url: '',
    sockets,
    connections: 0,
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((request, response) => {
    void Promise.resolve(sink.handler(request, response)).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  server.on('connection', (socket: Socket) => {
    sink.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  (sink as { url: string }).url = `http://127.0.0.1:${port}/hook`;
  return sink;
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
