// `npm start`: the food-delivery app on the embedded SQLite store (or EVENTFOLD_STORE), until Ctrl-C.
import { configFromEnv, startApp, type AppLogger } from './app';

const logger: AppLogger = {
  debug: () => {},
  info: (first: Record<string, unknown> | string, message?: string) => console.log(line(first, message)),
  warn: (first: Record<string, unknown> | string, message?: string) => console.warn(line(first, message)),
  error: (first: Record<string, unknown> | string, message?: string) => console.error(line(first, message)),
};

/** `message {"field":1}` from either call shape (`(fields, message)` or `(message)`). */
function line(first: Record<string, unknown> | string, message?: string): string {
  if (typeof first === 'string') return first;
  return Object.keys(first).length > 0 ? `${message ?? ''} ${JSON.stringify(first)}` : (message ?? '');
}

async function main(): Promise<void> {
  const config = configFromEnv(process.env, logger);
  const app = await startApp(config);
  console.log(
    [
      '',
      `  Food delivery is running on ${redact(config.store)}`,
      `  Web page          ${app.url}`,
      `  GraphQL           ${app.graphqlUrl} (subscriptions on the same port)`,
      `  Payment function  ${app.paymentUrl}`,
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
    app.close().then(
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
