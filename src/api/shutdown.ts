import { within } from '../internal/delay';
import type { Server, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type { ProjectionEngine } from '../projections/projection-engine';
import type { ProjectionWatcher } from '../projections/projection-watcher';
import type { ApiContext } from './api-context';
import type { ApiLogger } from './logger';
import type { GraphQLEventStreams } from './sse-server';
import type { GraphQLWebSockets } from './websocket-server';

/**
 * The HTTP requests being answered, so that shutdown can wait for them; once closing, the HTTP layers
 * refuse new ones (503) instead of starting work that shutdown would cut.
 */
export class InFlightRequests {
  private readonly pending = new Set<Promise<void>>();
  private isClosing = false;

  get closing(): boolean {
    return this.isClosing;
  }

  /** From now on, new requests are refused. */
  close(): void {
    this.isClosing = true;
  }

  /** Counts a request as in flight until its response closes (sent, or the client went away). */
  track(response: ServerResponse): void {
    const done = new Promise<void>((resolve) => {
      response.once('close', resolve);
    });
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
  }

  /** Resolves once every request counted so far is done, or at `deadline` (epoch ms), whichever is first. */
  async drain(deadline: number): Promise<void> {
    await within(Promise.all([...this.pending]), Math.max(0, deadline - Date.now()));
  }
}

/** What a graceful shutdown stops, in the order it stops them. */
export interface ShutdownParts {
  readonly logger: ApiLogger;
  readonly requests: InFlightRequests;
  /** Aborting it ends every live subscription. */
  readonly liveQueries: AbortController;
  readonly webSockets: GraphQLWebSockets | undefined;
  readonly eventStreams?: GraphQLEventStreams | undefined;
  /** The HTTP server, closed only when the API owns it (`listen`, not `mount`). */
  readonly server: Server | undefined;
  readonly ownsServer: boolean;
  readonly apollo: ApolloServer<ApiContext>;
  readonly engine: ProjectionEngine | undefined;
  readonly watcher: ProjectionWatcher | undefined;
}

/**
 * Stops taking requests, ends live subscriptions, closes WebSockets with 1001 and a reason and ends
 * event streams, drains
 * HTTP requests in flight until `timeoutMs` (then cuts them), and stops the projections last so that
 * their checkpoints are flushed.
 */
export async function shutDown(parts: ShutdownParts, timeoutMs: number): Promise<void> {
  const { logger, requests, server } = parts;
  requests.close();
  logger.info('shutting down: no new requests, closing subscriptions, draining HTTP');
  const deadline = Date.now() + timeoutMs;
  // Live subscriptions end first, then their sockets close with a reason the client can show.
  parts.liveQueries.abort();
  parts.webSockets?.goAway();
  parts.eventStreams?.goAway();
  if (parts.ownsServer && server) {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await requests.drain(deadline);
    server.closeAllConnections();
    await closed;
  } else {
    await requests.drain(deadline);
  }
  await parts.webSockets?.close();
  await parts.apollo.stop().catch(() => undefined);
  // Stopping the engine lets running batches commit with their checkpoints.
  await parts.engine?.stop();
  await parts.watcher?.stop();
  logger.info('shut down');
}
