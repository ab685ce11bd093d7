import type { RecordedEvent, Subscription, SubscriptionMessage } from '../event-store/event-store';

/** What the reader hands the runner: a batch of events, or the news that the subscription reached the head. */
export type BatchStep =
  | {
      readonly kind: 'batch';
      readonly events: RecordedEvent[];
      /** The batch was cut short because nothing more was ready: the projection is at the head for now. */
      readonly idle: boolean;
    }
  | { readonly kind: 'caught-up' };

/**
 * Groups a subscription's events into batches. A pump reads the subscription into a buffer of up to
 * one batch ahead, so reading the next page overlaps with writing this one. A batch is cut when it is
 * full, or as soon as the subscription has had nothing more to give for one turn of the event loop,
 * so that live events are committed and announced at once instead of waiting for a full batch.
 *
 * Why a pump and not `Promise.race([next(), endOfTurn])` per event: racing attaches a reaction per
 * event to the shared end-of-turn promise, which made catch-up several times slower.
 */
export class BatchReader {
  private readonly iterator: AsyncIterator<SubscriptionMessage>;
  private buffer: RecordedEvent[] = [];
  /** Set when `caught-up` arrived: how many buffered events came before it. */
  private caughtUpAfter: number | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  /** The consumer's wake-up, and whether it wants to hear of every event or only of a full batch. */
  private consumer: { wake: () => void; everyEvent: boolean } | undefined;
  private resumePump: (() => void) | undefined;
  private pumping = false;

  constructor(
    subscription: Subscription,
    private readonly batchSize: number,
  ) {
    this.iterator = subscription[Symbol.asyncIterator]();
  }

  /** The next step; `undefined` when the subscription has ended. */
  async next(): Promise<BatchStep | undefined> {
    if (!this.pumping) {
      this.pumping = true;
      void this.pump();
    }
    for (;;) {
      if (this.caughtUpAfter === 0) {
        this.caughtUpAfter = undefined;
        this.resume();
        return { kind: 'caught-up' };
      }
      if (this.caughtUpAfter !== undefined) {
        const events = this.take(this.caughtUpAfter);
        this.caughtUpAfter = 0;
        return { kind: 'batch', events, idle: true };
      }
      if (this.buffer.length >= this.batchSize) return { kind: 'batch', events: this.take(this.batchSize), idle: false };
      if (this.buffer.length > 0 && (this.ended || this.failure)) {
        return { kind: 'batch', events: this.take(this.buffer.length), idle: true };
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return undefined;
      if (this.buffer.length > 0) {
        // One timer per wait: if the pump fills the batch first it wakes us early.
        await new Promise<void>((resolve) => {
          this.consumer = { wake: resolve, everyEvent: false };
          setImmediate(resolve);
        });
        this.consumer = undefined;
        if (this.buffer.length < this.batchSize && this.caughtUpAfter === undefined && this.buffer.length > 0) {
          return { kind: 'batch', events: this.take(this.buffer.length), idle: true };
        }
        continue;
      }
      await new Promise<void>((resolve) => (this.consumer = { wake: resolve, everyEvent: true }));
      this.consumer = undefined;
    }
  }

  private take(count: number): RecordedEvent[] {
    const events = count === this.buffer.length ? this.buffer : this.buffer.slice(0, count);
    this.buffer = count === this.buffer.length ? [] : this.buffer.slice(count);
    this.resume();
    return events;
  }

  private resume(): void {
    const resume = this.resumePump;
    this.resumePump = undefined;
    resume?.();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        if (this.buffer.length >= this.batchSize || this.caughtUpAfter !== undefined) {
          await new Promise<void>((resolve) => (this.resumePump = resolve));
          continue;
        }
        const result = await this.iterator.next();
        if (result.done) {
          this.ended = true;
          break;
        }
        const message = result.value;
        if (message.kind === 'caught-up') {
          this.caughtUpAfter = this.buffer.length;
          this.wake(true);
          continue;
        }
        this.buffer.push(message.event);
        this.wake(this.buffer.length >= this.batchSize);
      }
    } catch (error) {
      this.failure = { error };
    }
    this.wake(true);
  }

  private wake(important: boolean): void {
    const consumer = this.consumer;
    if (consumer && (important || consumer.everyEvent)) {
      this.consumer = undefined;
      consumer.wake();
    }
  }
}
