import 'reflect-metadata';
import express from 'express';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import {
  archiveFolder,
  connectEventStore,
  createApi,
  parseConnectionString,
  ReactorRunner,
  StateCache,
  type Api,
  type EventStore,
  type PersonalDataStore,
  type ReactorLogger,
  type ReadModelStore,
  type WebhookReactor,
} from './eventfold';
import { order } from './domain/order';
import { orderResolvers, type RestaurantApproval } from './api/order.resolvers';
import { startPaymentServer, type PaymentServer } from './payment/payment-server';
import { approvalReactor } from './reactors/approval.reactor';
import { approvalTimeoutProcess } from './reactors/approval-timeout.process';
import { driverAssignmentReactor } from './reactors/driver-assignment.reactor';
import { paymentReactor } from './reactors/payment.reactor';
import { reactorStateFor } from './reactors/reactor-state';
import { validationReactor } from './reactors/validation.reactor';
import { protectOrders } from './personal-data/protect-orders';
import { openReadModels } from './read-models/open-read-models';
import { ordersProjection } from './read-models/orders.projection';

export interface AppConfig {
  /** Event store connection string: `sqlite:…`, `postgres://…`, `esdb://…`, `memory:`. */
  readonly store: string;
  /** Where files go when the store is not SQLite (EventStoreDB's read models). */
  readonly dataDir: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly paymentPort: number;
  /** Where the payment webhook POSTs; default the payment function this app starts. */
  readonly paymentUrl?: string;
  /** Signs payment deliveries; both sides share it. */
  readonly paymentSecret: string;
  readonly restaurantApproval: RestaurantApproval;
  /** With manual approval: how long a paid order waits for the restaurant before it is cancelled and refunded. */
  readonly approvalTimeoutMs: number;
  /** Delivery attempts of a payment before it is parked (redrive it from the console). Default 20. */
  readonly paymentAttempts?: number;
  /**
   * Production mode for GraphQL (`SAFELIST=1`): only the page's operations may run (the manifest
   * `npm run codegen` writes, src/web/persisted-documents.json), and introspection is off.
   */
  readonly safelist?: boolean;
  readonly logger: AppLogger;
}

/** One logger for the API, the reactors and the payment function. */
export type AppLogger = ReactorLogger;

export interface RunningApp {
  /** The page; GraphQL is at `${url}graphql`. */
  readonly url: string;
  readonly graphqlUrl: string;
  readonly paymentUrl: string;
  readonly api: Api;
  readonly reactors: ReactorRunner;
  /** Stops taking requests, closes subscriptions, stops reactors and projections, closes the stores. */
  close(): Promise<void>;
}

/** Reads the app's settings from the environment (see the README for each variable). */
export function configFromEnv(env: NodeJS.ProcessEnv, logger: AppLogger): AppConfig {
  const store = env.EVENTFOLD_STORE?.trim() || 'sqlite:./data/eventfold.db';
  const approval = (env.RESTAURANT_APPROVAL ?? 'auto').trim().toLowerCase();
  if (approval !== 'auto' && approval !== 'manual') throw new Error(`RESTAURANT_APPROVAL must be "auto" or "manual", got ${JSON.stringify(env.RESTAURANT_APPROVAL)}`);
  return {
    store,
    dataDir: env.DATA_DIR?.trim() || dataDirOf(store),
    host: env.HOST?.trim() || '127.0.0.1',
    port: port(env.PORT, 4000, 'PORT'),
    paymentPort: port(env.PAYMENT_PORT, 4001, 'PAYMENT_PORT'),
    ...(env.PAYMENT_URL?.trim() ? { paymentUrl: env.PAYMENT_URL.trim() } : {}),
    paymentSecret: paymentSecret(env),
    restaurantApproval: approval,
    approvalTimeoutMs: approvalTimeout(env.APPROVAL_TIMEOUT_MS),
    ...(env.PAYMENT_ATTEMPTS?.trim() ? { paymentAttempts: attempts(env.PAYMENT_ATTEMPTS) } : {}),
    safelist: env.SAFELIST?.trim() === '1',
    logger,
  };
}

/**
 * Both ends of the webhook live in this process by default, so a fresh secret per start is enough; a
 * payment function running elsewhere (PAYMENT_URL) must share PAYMENT_WEBHOOK_SECRET.
 */
function paymentSecret(env: NodeJS.ProcessEnv): string {
  const secret = env.PAYMENT_WEBHOOK_SECRET?.trim();
  if (secret) return secret;
  if (env.PAYMENT_URL?.trim()) throw new Error('PAYMENT_URL is set: set PAYMENT_WEBHOOK_SECRET too, the same as the payment function\'s');
  return randomBytes(32).toString('base64url');
}

function approvalTimeout(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 300_000;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1 || parsed > 30 * 86_400_000) {
    throw new Error(`APPROVAL_TIMEOUT_MS must be a whole number of milliseconds from 1 to 30 days, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function dataDirOf(store: string): string {
  const location = parseConnectionString(store);
  return location.backend === 'sqlite' && location.path !== ':memory:' ? dirname(location.path) : './data';
}

function attempts(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100) throw new Error(`PAYMENT_ATTEMPTS must be a whole number from 1 to 100, got ${JSON.stringify(value)}`);
  return parsed;
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new Error(`${name} must be a port number, got ${JSON.stringify(value)}`);
  return parsed;
}

/**
 * Starts the whole 3factor app in this process: the event store, the payment function on its own
 * port, the reactors, the orders projection and the GraphQL API with the web page.
 */
export async function startApp(config: AppConfig): Promise<RunningApp> {
  const { logger } = config;
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ error: String(error) }, 'error while closing');
      }
    }
    closers.length = 0;
  };

  try {
    if (parseConnectionString(config.store).backend !== 'postgres') mkdirSync(config.dataDir, { recursive: true });
    const storedEvents: EventStore = await connectEventStore(config.store);
    closers.push(() => storedEvents.close());
    // Everyone reads and writes through this one: customers' names and addresses are sealed in the store.
    const personalData = await protectOrders(storedEvents, config.dataDir);
    closers.push(() => Promise.resolve(personalData.close()));
    const eventStore: PersonalDataStore = personalData.store;
    const readModels: ReadModelStore = await openReadModels(config.store, config.dataDir);
    closers.push(() => readModels.close());

    // The payment function runs here on its own port, unless PAYMENT_URL names one running elsewhere.
    let paymentUrl = config.paymentUrl;
    if (paymentUrl === undefined) {
      const payment: PaymentServer = await startPaymentServer({
        port: config.paymentPort,
        host: config.host === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1',
        secret: config.paymentSecret,
        commands: { store: eventStore, cache: new StateCache() },
        logger,
      });
      closers.push(() => payment.close());
      paymentUrl = payment.url;
    }

    const payments: WebhookReactor = paymentReactor({
      url: paymentUrl,
      secret: config.paymentSecret,
      ...(config.paymentAttempts !== undefined ? { maxAttempts: config.paymentAttempts } : {}),
    });
    closers.push(() => payments.close());
    const reactorState = reactorStateFor(eventStore, config.dataDir);
    closers.push(() => Promise.resolve(reactorState.close()));
    const reactors = await ReactorRunner.start({
      store: eventStore,
      ...(reactorState.state ? { state: reactorState.state } : {}),
      ...(reactorState.timers ? { timers: reactorState.timers } : {}),
      // The approval timer sends ExpireApproval to the order.
      aggregates: [order],
      reactors: [
        validationReactor,
        payments,
        ...(config.restaurantApproval === 'auto' ? [approvalReactor] : [approvalTimeoutProcess(config.approvalTimeoutMs)]),
        driverAssignmentReactor,
      ],
      commands: { store: eventStore, cache: new StateCache() },
      logger,
    });
    closers.push(() => reactors.stop());

    const api = await createApi({
      eventStore,
      readModels,
      projections: [ordersProjection],
      aggregates: [order],
      resolvers: orderResolvers({
        restaurantApproval: config.restaurantApproval,
        approvalTimeoutMs: config.approvalTimeoutMs,
        forgetCustomer: (customerId) => eventStore.forgetSubject(customerId),
      }),
      commands: { cache: new StateCache() },
      reactors, // the admin API: reactor status, parked events, redrive, timers
      // Streams moved out with `eventfold archive --out <data folder>/archive` stay auditable (streamEvents, aggregateState).
      archives: archiveFolder(join(config.dataDir, 'archive')),
      // A demo on your machine: every request acts as this user. Put a JWT secret here for real use.
      auth: { mode: 'off', developmentUser: { id: 'demo', roles: ['customer', 'restaurant', 'admin'] } },
      introspection: !config.safelist,
      ...(config.safelist ? { safelist: pageOperations() } : {}),
      // eventfold_… metrics in Prometheus text at /metrics; admins only (here: the demo user).
      metrics: true,
      console: true, // the operator console at /console (admin role; everyone here, as auth is off)
      logger,
    });

    const app = express();
    app.disable('x-powered-by');
    // The page is static files next to the sources; from src/ or from the compiled dist/ alike.
    const webDir = join(__dirname, '..', 'src', 'web');
    app.get('/', (_request, response) => response.sendFile(join(webDir, 'index.html')));
    app.get(['/app.js', '/operations.js', '/style.css'], (request, response) => response.sendFile(join(webDir, request.path)));
    app.get('/vendor/graphql-ws.min.js', (_request, response) => response.sendFile(graphqlWsBrowserBuild()));
    app.get('/vendor/graphql-sse.min.js', (_request, response) => response.sendFile(join(dirname(require.resolve('graphql-sse')), '..', 'umd', 'graphql-sse.min.js')));
    const server: Server = createServer(app);
    await api.mount(app, server);
    // Closed in reverse: the API first (stops taking requests, ends subscriptions, stops the
    // projections), then the HTTP server, the reactors, the payment function and the stores.
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    closers.push(() => api.close());
    await listen(server, config.port, config.host);

    const { port } = server.address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
    return { url, graphqlUrl: `${url}graphql`, paymentUrl, api, reactors, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The page's operations as a persisted-documents manifest (`{ sha256: document }`), made by `npm run codegen`. */
function pageOperations(): Record<string, string> {
  return JSON.parse(readFileSync(join(__dirname, '..', 'src', 'web', 'persisted-documents.json'), 'utf8')) as Record<string, string>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** graphql-ws ships a browser build (UMD); the page loads it as is, so there is no build step. */
function graphqlWsBrowserBuild(): string {
  return join(dirname(require.resolve('graphql-ws')), '..', 'umd', 'graphql-ws.min.js');
}
