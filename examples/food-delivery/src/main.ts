// `npm start`: the food-delivery app on the embedded SQLite store (or EVENTFOLD_STORE), until Ctrl-C.
import { configFromEnv, startApp, type AppLogger } from './app';

const logger: AppLogger = {
  debug: () => {},
  info: (message, fields) => console.log(line(message, fields)),
  warn: (message, fields) => console.warn(line(message, fields)),
  error: (message, fields) => console.error(line(message, fields)),
};

function line(message: string, fields?: Record<string, unknown>): string {
  return fields && Object.keys(fields).length > 0 ? `${message} ${JSON.stringify(fields)}` : message;
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
      `  Restaurant approval: ${config.restaurantApproval}`,
      '',
      '  Ctrl-C stops it; the orders stay in the store.',
      '',
    ].join('\n'),
  );

  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      // Apollo Server re-sends the first signal to the process once it has stopped (app-requests #9),
      // so the second one may not be the user's: only a third forces the exit.
      if (signals === 2) console.log(`${signal}: still shutting down (press Ctrl-C again to force)`);
      else {
        console.log(`${signal}: exiting now`);
        process.exit(130);
      }
      return;
    }
    console.log(`${signal}: shutting down…`);
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
