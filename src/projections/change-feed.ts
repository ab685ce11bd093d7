import type { Position } from '../event-store/position';

/**
 * An announcement that a batch of a projection committed. `keys` lists the changed document keys;
 * `'all'` means "anything may have changed" (after a rebuild's switch-over, or when a slow consumer's
 * buffer overflowed and announcements were merged).
 */
export interface ProjectionChange {
  readonly projection: string;
  /** The version of the read model that readers now see. */
  readonly version: number;
  /** Everything up to here is committed and visible. */
  readonly position: Position;
  readonly keys: readonly string[] | 'all';
}

export type ChangeListener = (change: ProjectionChange) => void;

export interface WatchOptions {
  /** Only this projection's announcements. */
  readonly projection?: string;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
  /** Announcements held for a slow consumer before they are merged into one `'all'`. Default 1,000. */
  readonly bufferSize?: number;
}

/**
 * The in-process change feed: listeners hear of each committed batch synchronously, right after the
 * commit, before the engine reads on.
 *
 * @example
 * const unsubscribe = engine.changes.subscribe((change) => {
 *   if (change.keys === 'all' || change.keys.includes(orderId)) pushToClient(orderId);
 * });
 * for await (const change of engine.changes.watch({ projection: 'order-summary', signal })) { ... }
 */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly onListenerError: (error: unknown) => void = reportListenerError) {}

  /** Calls `listener` for every announcement until the returned function is called. */
  subscribe(listener: ChangeListener): () => void {
    // Wrapped so that subscribing the same function twice gives two independent subscriptions.
    const entry: ChangeListener = (change) => listener(change);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Announces a change to every listener; a throwing listener never stops the others or the engine. */
  publish(change: ProjectionChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  /** The announcements as an async iterable, buffered for a slow consumer. */
  watch(options: WatchOptions = {}): AsyncIterable<ProjectionChange> {
    const subscribe = (listener: ChangeListener): (() => void) => this.subscribe(listener);
    return {
      [Symbol.asyncIterator](): AsyncIterator<ProjectionChange> {
        const buffer: ProjectionChange[] = [];
        const bufferSize = options.bufferSize ?? 1_000;
        let wake: (() => void) | undefined;
        let ended = false;
        const end = (): void => {
          ended = true;
          unsubscribe();
          wake?.();
        };
        const unsubscribe = subscribe((change) => {
          if (options.projection !== undefined && change.projection !== options.projection) return;
          if (buffer.length >= bufferSize) mergeInto(buffer, change);
          else buffer.push(change);
          wake?.();
        });
        if (options.signal?.aborted) end();
        options.signal?.addEventListener('abort', end, { once: true });
        return {
          async next(): Promise<IteratorResult<ProjectionChange>> {
            while (buffer.length === 0 && !ended) {
              await new Promise<void>((resolve) => (wake = resolve));
              wake = undefined;
            }
            const change = buffer.shift();
            return change ? { done: false, value: change } : { done: true, value: undefined };
          },
          return(): Promise<IteratorResult<ProjectionChange>> {
            options.signal?.removeEventListener('abort', end);
            end();
            buffer.length = 0;
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
  }
}

/**
 * Keeps a full buffer bounded: the projection's pending announcements become one `'all'` at the newest
 * position, which tells the consumer to re-read instead of losing the news.
 */
function mergeInto(buffer: ProjectionChange[], change: ProjectionChange): void {
  const kept = buffer.filter((pending) => pending.projection !== change.projection);
  buffer.length = 0;
  buffer.push(...kept, { ...change, keys: 'all' });
}

function reportListenerError(error: unknown): void {
  process.emitWarning(`a projection change listener threw: ${error instanceof Error ? error.stack : String(error)}`);
}
