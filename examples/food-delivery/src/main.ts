// `npm start`: the food-delivery app on the embedded SQLite store (or EVENTFOLD_STORE), until Ctrl-C.
// Logs are JSON lines (pino, LOG_LEVEL); the banner below is plain text for the person at the terminal.
import { loadApp } from './load-app';

async function main(): Promise<void> {
  // The app, its logger and telemetry: one bundle with a code cache when built (load-app.ts).
  const { app: entry, saveCodeCache } = loadApp();
  const { configFromEnv, createLogger, startApp, startTelemetry } = entry;
  const logger = createLogger(process.env);
  // Before the app, so that its first request is traced already.
  const stopTelemetry = startTelemetry(process.env);
  const config = configFromEnv(process.env, logger);
  const app = await startApp(config);
  saveCodeCache();
  console.log(
    [
      '',
      `  Food delivery is running on ${redact(config.store)}`,
      `  Web page          ${app.url}`,
      `  GraphQL           ${app.graphqlUrl} (subscriptions on the same port)`,
      `  Payment function  ${app.paymentUrl}`,
      `  Metrics           ${app.url}metrics`,
      `  Telemetry         ${stopTelemetry ? `OTLP ${process.env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf'} to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}` : 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces and metrics)'}`,
      `  Restaurant approval: ${config.restaurantApproval}${config.restaurantApproval === 'manual' ? ` (paid orders wait ${config.approvalTimeoutMs} ms)` : ''}`,
      '',
      '  Ctrl-C stops it; the orders stay in the store.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    console.log(`${signal}: shutting down… (press Ctrl-C again to force)`);
    app
      .close()
      .then(() => stopTelemetry?.())
      .then(
      () => {
        console.log('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function redact(store: string): string {
  return store.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

main().catch((error: unknown) => {
  console.error('the app could not start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
