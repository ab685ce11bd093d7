// The payment function as its own process, as a serverless platform would run it:
//   PAYMENT_WEBHOOK_SECRET=… EVENTFOLD_STORE=postgres://… PAYMENT_PORT=4001 node -r @swc-node/register examples/food-delivery/src/payment/main.ts
// and the app pointed at it: PAYMENT_URL=http://127.0.0.1:4001/charge PAYMENT_WEBHOOK_SECRET=… npm start
import { connectEventStore, StateCache } from '../eventfold';
import { startPaymentServer } from './payment-server';
import { createLogger } from '../logger';
import { startTelemetry } from '../telemetry';

async function main(): Promise<void> {
  const logger = createLogger(process.env);
  const stopTelemetry = startTelemetry({ OTEL_SERVICE_NAME: 'payment-function', ...process.env });
  const secret = process.env.PAYMENT_WEBHOOK_SECRET?.trim();
  if (!secret) throw new Error('set PAYMENT_WEBHOOK_SECRET to the secret the app signs payment deliveries with');
  const port = Number(process.env.PAYMENT_PORT ?? 4001);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`PAYMENT_PORT must be a port number, got ${process.env.PAYMENT_PORT}`);
  const store = await connectEventStore(); // EVENTFOLD_STORE, else sqlite:./data/eventfold.db
  const server = await startPaymentServer({
    port,
    host: process.env.HOST?.trim() || '127.0.0.1',
    secret,
    commands: { store, cache: new StateCache() },
    logger,
  });
  console.log(`Payment function listening on ${server.url}`);
  const stop = (): void => {
    void server
      .close()
      .then(() => store.close())
      .then(() => stopTelemetry?.())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error('the payment function could not start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
