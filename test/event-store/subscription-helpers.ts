import type { RecordedEvent, Subscription } from '../../src/event-store';

/**
 * Reads a subscription until `done` says so, failing after `timeoutMs` — a wait on events, never a sleep.
 * Keeps the iterator open so the caller can go on reading.
 */
export class SubscriptionReader {
  readonly events: RecordedEvent[] = [];
  caughtUp = false;
  private readonly iterator: AsyncIterator<unknown>;

  constructor(readonly subscription: Subscription) {
    this.iterator = subscription[Symbol.asyncIterator]();
  }

  async until(done: (reader: SubscriptionReader) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.events.length} events`);
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        this.iterator.next(),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), remaining))),
      ]);
      clearTimeout(timer);
      if (next === 'timeout') continue;
      if (next.done) throw new Error(`subscription ended while waiting for ${what}`);
      const message = next.value as { kind: 'event'; event: RecordedEvent } | { kind: 'caught-up' };
      if (message.kind === 'event') this.events.push(message.event);
      else {
        if (this.caughtUp) throw new Error('caught-up was signalled twice');
        this.caughtUp = true;
      }
    }
  }

  untilCount(count: number, timeoutMs?: number): Promise<void> {
    return this.until((reader) => reader.events.length >= count, timeoutMs, `${count} events`);
  }

  untilCaughtUp(timeoutMs?: number): Promise<void> {
    return this.until((reader) => reader.caughtUp, timeoutMs, 'caught-up');
  }

  /** Resolves with whether the iterator finished (true) within the time. */
  async ended(timeoutMs = 5_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      (async () => {
        for (;;) {
          const next = await this.iterator.next();
          if (next.done) return true;
        }
      })(),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return result;
  }
}

/** A small seeded PRNG (mulberry32) so that a failing torture run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
