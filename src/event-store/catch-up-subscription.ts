import type { RecordedEvent, Subscription, SubscriptionMessage } from './event-store';
import type { ChangeSignal } from './change-signal';
import { InvalidArgumentError } from './errors';

/** How a backend feeds the shared catch-up loop. `Cursor` is a position or a revision. */
export interface CatchUpSource<Cursor> {
  /** Resolves `'start'`/`'end'` into the cursor to read after; runs once, when iteration starts. */
  start(): Promise<Cursor>;
  /** Up to `limit` events strictly after `after`, in order, that a subscriber may safely see now. */
  readPage(after: Cursor, limit: number): Promise<readonly RecordedEvent[]>;
  cursorOf(event: RecordedEvent): Cursor;
  readonly signal: ChangeSignal;
  /** How long to wait for a notification before reading again anyway (cross-process writers, lost notifications). */
  readonly pollIntervalMs: number;
  readonly pageSize: number;
}

/**
 * The catch-up subscription every SQL and in-memory backend shares: read pages after the cursor until
 * a short page says the head is reached, signal caught-up once, then wait for a change and read again.
 * Pulling drives reading, so a slow consumer slows the reads instead of filling memory.
 */
export class CatchUpSubscription<Cursor> implements Subscription {
  private readonly abort = new AbortController();
  private iterating = false;

  constructor(
    private readonly source: CatchUpSource<Cursor>,
    private readonly onClose: (subscription: CatchUpSubscription<Cursor>) => void,
  ) {}

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.abort.abort();
      this.onClose(this);
    }
    return Promise.resolve();
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
    if (this.iterating) throw new InvalidArgumentError('a subscription can be iterated only once');
    this.iterating = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<SubscriptionMessage> {
    const { source } = this;
    try {
      let cursor = (await source.start()) as Cursor;
      let caughtUp = false;
      while (!this.closed) {
        const seen = source.signal.current;
        const page = await source.readPage(cursor, source.pageSize);
        for (const event of page) {
          if (this.closed) return;
          yield { kind: 'event', event };
          cursor = source.cursorOf(event);
        }
        if (page.length < source.pageSize) {
          if (!caughtUp) {
            caughtUp = true;
            if (this.closed) return;
            yield { kind: 'caught-up' };
          }
          await source.signal.wait(seen, source.pollIntervalMs, this.abort.signal);
        }
      }
    } finally {
      await this.close();
    }
  }
}
