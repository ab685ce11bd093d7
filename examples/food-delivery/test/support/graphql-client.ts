import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLResponse<T> {
  readonly data?: T;
  readonly errors?: readonly { message: string; extensions?: { code?: string; fields?: { path: string; message: string }[]; rule?: string } }[];
}

/** POSTs one GraphQL operation over real HTTP. */
export async function graphql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

/** Like {@link graphql}, but fails on any error. */
export async function graphqlData<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await graphql<T>(url, query, variables);
  if (response.errors?.length || !response.data) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data;
}

/** A real graphql-ws client (protocol graphql-transport-ws) over `ws`. */
export function wsClient(url: string): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
}

/**
 * Collects a subscription's values; `until` resolves once one matches (woken by each value, with a
 * timeout), so tests wait on the event itself.
 */
export class SubscriptionRecorder<T> {
  readonly values: T[] = [];
  error: unknown;
  private wake: (() => void) | undefined;
  private readonly dispose: () => void;

  constructor(client: Client, query: string, variables: Record<string, unknown>, pick: (data: Record<string, unknown>) => T) {
    this.dispose = client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) this.error = new Error(JSON.stringify(result.errors));
          else if (result.data) this.values.push(pick(result.data));
          this.wake?.();
        },
        error: (error) => {
          this.error = error;
          this.wake?.();
        },
        complete: () => this.wake?.(),
      },
    );
  }

  async until(match: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let seen = 0; ; ) {
      for (; seen < this.values.length; seen++) if (match(this.values[seen]!)) return this.values[seen]!;
      if (this.error) throw new Error(`subscription failed before ${what}: ${String(this.error instanceof Error ? this.error.message : JSON.stringify(this.error))}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.values)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.dispose();
  }
}
