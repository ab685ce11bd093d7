import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { SignJWT } from 'jose';
import { connectEventStore, type EventStore, type ReadModelStore } from '../../../src';
import { SqliteReadModelStore } from '../../../src/backends/sqlite';
import { type ApiOptions } from '../../../src/api';
import { createApi, type Api, type ApiLimits, type ApiLogger, type ListeningApi } from '../../../src/api';
import { ticket } from '../app/ticket';
import { ticketBoard } from '../app/ticket-board.projection';
import { ticketResolvers } from '../app/ticket.graphql';

export const JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

/** A logger that keeps what was logged, for assertions (and keeps test output quiet). */
export function memoryLogger(): ApiLogger & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (first: Record<string, unknown> | string, message?: string): void => {
      lines.push(typeof first === 'string' ? { level, message: first } : { level, message: message ?? '', fields: first });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface TestApi {
  readonly api: Api;
  readonly listening: ListeningApi;
  readonly url: string;
  readonly wsUrl: string;
  readonly eventStore: EventStore;
  readonly readModels: ReadModelStore;
  readonly logger: ReturnType<typeof memoryLogger>;
  close(): Promise<void>;
}

/**
 * The ticket test app on embedded SQLite files in a temp dir, listening on a free loopback port: on its
 * own server (`listen`, where plain JSON POSTs take the fast path), or mounted into an Express app
 * (`mount`, where every request goes through Express).
 */
export async function startTestApi(overrides: Partial<ApiOptions> & { limits?: ApiLimits } = {}, how: 'listen' | 'mount' = 'listen'): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), 'eventfold-api-'));
  const eventStore = overrides.eventStore ?? (await connectEventStore(`sqlite:${join(dir, 'events.db')}`));
  const readModels = overrides.readModels ?? SqliteReadModelStore.open(join(dir, 'read-models.db'));
  const logger = memoryLogger();
  const api = await createApi({
    eventStore,
    readModels,
    projections: [ticketBoard],
    aggregates: [ticket],
    resolvers: ticketResolvers(),
    auth: { mode: 'jwt', secret: JWT_SECRET },
    logger,
    ...overrides,
  });
  const listening = how === 'listen' ? await api.listen({ port: 0, host: '127.0.0.1' }) : await mountOnExpress(api);
  return {
    api,
    listening,
    url: listening.url,
    wsUrl: listening.url.replace(/^http/, 'ws'),
    eventStore,
    readModels,
    logger,
    async close() {
      await api.close({ timeoutMs: 2_000 });
      if (how === 'mount') {
        listening.server.closeAllConnections();
        await new Promise<void>((resolve) => listening.server.close(() => resolve()));
      }
      if (!overrides.readModels) await readModels.close();
      if (!overrides.eventStore) await eventStore.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The API mounted into a new Express app and its HTTP server, listening on a free loopback port. */
async function mountOnExpress(api: Api): Promise<ListeningApi> {
  const app = express();
  const server = createServer(app);
  await api.mount(app, server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/graphql`, port, server };
}

/** A signed HS256 token for the test secret; `tenantId` puts the tenant claim in it. */
export async function token(
  subject: string,
  roles: string[] = [],
  options: { expiresIn?: string; secret?: string; tenantId?: string } = {},
): Promise<string> {
  return new SignJWT({ roles, ...(options.tenantId !== undefined ? { tenantId: options.tenantId } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> & { code?: string } }[] };
}

/** POSTs one GraphQL operation over real HTTP. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse<T>['body'] };
}

export function bearer(jwt: string): Record<string, string> {
  return { authorization: `Bearer ${jwt}` };
}
