// What `main.ts` loads: the app with its logger and telemetry. `npm run build:example` bundles this file
// (compiled to dist/entry.js) into dist/app.bundle.js; see load-app.ts.
export { configFromEnv, startApp, type AppLogger } from './app';
export { createLogger } from './logger';
export { startTelemetry } from './telemetry';
