import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpFunction, type CommandEnvironment, type ReactorLogger } from '../eventfold';
import { chargeOrder } from './payment.function';

/** The payment function on its own HTTP server: what a serverless platform would host. */
export interface PaymentServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startPaymentServer(options: {
  readonly port: number;
  readonly host: string;
  readonly secret: string;
  readonly commands: CommandEnvironment;
  readonly logger?: ReactorLogger;
}): Promise<PaymentServer> {
  const handle = createHttpFunction(chargeOrder, {
    secret: options.secret,
    commands: options.commands,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const server = createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/charge') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('the payment function answers POST /charge\n');
      return;
    }
    void handle(request, response);
  });
  server.keepAliveTimeout = 15_000; // longer than the webhook's idle keep-alive, so the client closes first
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/charge`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
