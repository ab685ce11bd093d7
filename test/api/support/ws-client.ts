import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export interface TestClient {
  readonly client: Client;
  /** Resolves with the close code and reason when the server closes the connection. */
  readonly closed: Promise<Closed>;
  /** The raw socket, once connected (tests pause it to play a slow client). */
  socket(): WebSocket | undefined;
  dispose(): Promise<void>;
}

/** A real graphql-ws client over `ws`, without retries, that reports how the connection closed. */
export function wsClient(url: string, connectionParams: Record<string, unknown> = {}): TestClient {
  let resolveClosed!: (closed: Closed) => void;
  const closed = new Promise<Closed>((resolve) => (resolveClosed = resolve));
  let raw: WebSocket | undefined;
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    shouldRetry: () => false,
    on: {
      opened: (socket) => {
        raw = socket as WebSocket;
      },
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string | Buffer };
        resolveClosed({ code, reason: reason.toString() });
      },
    },
  });
  return {
    client,
    closed,
    socket: () => raw,
    dispose: () => client.dispose() as Promise<void>,
  };
}

export interface Subscription<T> {
  /** The next result, or a failure after `timeoutMs` (a deadline, not a wait for time to pass). */
  next(timeoutMs?: number): Promise<{ data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
  /** Resolves when the server completes the subscription. */
  ended(timeoutMs?: number): Promise<void>;
  /** Waits for the subscription to fail and returns what it failed with (GraphQL errors or a close event). */
  failure(timeoutMs?: number): Promise<unknown>;
  stop(): Promise<void>;
}

type Result<T> = { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** Starts a subscription and buffers what arrives, so tests can take results one at a time. */
export function subscribe<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown> = {}): Subscription<T> {
  const results: Result<T>[] = [];
  const waiters: ((result: Result<T> | 'end') => void)[] = [];
  let done = false;
  let failure: unknown;
  const push = (item: Result<T> | 'end'): void => {
    const waiter = waiters.shift();
    if (waiter) waiter(item);
    else if (item !== 'end') results.push(item);
  };
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => push(result as Result<T>),
      error: (error) => {
        failure = error;
        done = true;
        while (waiters.length) waiters.shift()!('end');
      },
      complete: () => {
        done = true;
        while (waiters.length) waiters.shift()!('end');
      },
    },
  );
  const take = (timeoutMs: number): Promise<Result<T> | 'end'> => {
    const ready = results.shift();
    if (ready) return Promise.resolve(ready);
    if (done) return Promise.resolve('end');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no subscription result within ${timeoutMs} ms`)), timeoutMs);
      waiters.push((item) => {
        clearTimeout(timer);
        resolve(item);
      });
    });
  };
  return {
    async next(timeoutMs = 5_000) {
      const item = await take(timeoutMs);
      if (item === 'end') throw new Error(`the subscription ended${failure ? `: ${describe(failure)}` : ''}`);
      return item;
    },
    async ended(timeoutMs = 5_000) {
      const item = await take(timeoutMs);
      if (item !== 'end') throw new Error(`expected the subscription to end, got ${JSON.stringify(item)}`);
    },
    async failure(timeoutMs = 5_000) {
      const item = await take(timeoutMs);
      if (item !== 'end') throw new Error(`expected the subscription to fail, got ${JSON.stringify(item)}`);
      return failure;
    },
    stop() {
      unsubscribe();
      return Promise.resolve();
    },
  };
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return JSON.stringify(error);
  if (error instanceof Error) return error.message;
  const close = error as { code?: number; reason?: string };
  return close.code !== undefined ? `closed ${close.code} ${close.reason}` : String(error);
}
