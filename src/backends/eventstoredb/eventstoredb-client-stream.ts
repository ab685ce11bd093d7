/** What {@link ClientStream.next} resolves to once the stream was stopped (or its abort signal fired). */
export const ABORTED: unique symbol = Symbol('aborted');

/** Pushed into the client's stream to wake a reader waiting on it when the stream is stopped. */
const WAKE = Symbol('wake');

/**
 * The part of a client stream used here. The client's stream types narrow Readable's event overloads in a
 * way newer `@types/node` no longer accepts as a Readable, so they are described structurally.
 */
export interface ClientReadable {
  readonly readableEnded: boolean;
  readonly destroyed: boolean;
  on(event: 'error', listener: (error: Error) => void): unknown;
  push(chunk: unknown): boolean;
  resume(): unknown;
  iterator(options: { destroyOnReturn: boolean }): AsyncIterator<unknown>;
}

/**
 * Pulls the items of one `@eventstore/db-client` read or subscription, a Node Readable, one at a time.
 *
 * Reading through the Readable's own async iterator keeps backpressure (a slow consumer slows the gRPC
 * stream instead of filling memory). Three gaps in it are closed here, without adding work per item:
 * - the client reports failures with `emit('error')` rather than `destroy(err)`, so an error emitted before
 *   the iterator's first `next()` would never reach it; a listener attached at construction keeps it;
 * - a pending `next()` cannot be interrupted, so stopping (or the abort signal: the store closing) wakes
 *   it with a marker pushed into the stream;
 * - the client's `dispose()` waits for every gRPC call to finish, and a call that already received all its
 *   data finishes only once that data is read; a stopped stream is therefore drained, never destroyed.
 */
export class ClientStream<Item> {
  private readonly items: AsyncIterator<unknown>;
  private failure: Error | undefined;
  private pending: Promise<unknown> | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly onAbort = (): void => void this.stop();

  /**
   * @param stream the client's stream, just created (before its first error can be emitted).
   * @param cancel ends the gRPC call behind it: `cancel()` for reads, `unsubscribe()` for subscriptions.
   * @param signal stops the stream when it fires.
   */
  constructor(
    private readonly stream: ClientReadable,
    private readonly cancel: () => Promise<void>,
    private readonly signal?: AbortSignal,
  ) {
    stream.on('error', (error) => {
      this.failure ??= error;
    });
    this.items = stream.iterator({ destroyOnReturn: false });
    if (signal?.aborted) this.stopped = true;
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The next item; `done` when the stream ended; {@link ABORTED} once stopped. */
  async next(): Promise<IteratorResult<Item> | typeof ABORTED> {
    if (this.stopped) return ABORTED;
    if (this.failure) throw this.failure;
    const next = this.items.next();
    this.pending = next;
    try {
      const result = await next;
      if (this.stopped) return ABORTED;
      return result as IteratorResult<Item>;
    } catch (error) {
      if (this.stopped) return ABORTED;
      throw this.failure ?? error;
    } finally {
      this.pending = undefined;
    }
  }

  /** Ends the gRPC call (when it has not ended by itself) and lets the stream run out. Idempotent. */
  stop(): Promise<void> {
    this.stopped = true;
    this.stopping ??= (async () => {
      this.signal?.removeEventListener('abort', this.onAbort);
      if (this.stream.readableEnded || this.stream.destroyed) return;
      const waiting = this.pending;
      if (waiting) {
        this.stream.push(WAKE);
        await waiting.catch(ignore);
      }
      await this.items.return?.().catch(ignore);
      this.stream.resume();
      await this.cancel().catch(ignore);
    })();
    return this.stopping;
  }
}

function ignore(): void {}
