/**
 * Group commit for small writes: callers that write in the same event-loop turn, or while a write is
 * under way, are written together in the next one, so that a burst costs a few transactions (and
 * fsyncs) instead of one each. Each caller's promise settles with the write its items went in. With
 * `isolateFailures`, a failed group is written again one caller at a time, so that one caller's bad
 * items fail only that caller.
 */
export class WriteBatcher<Item> {
  private queue: { readonly items: readonly Item[]; readonly resolve: () => void; readonly reject: (error: unknown) => void }[] = [];
  private running: Promise<void> | undefined;
  private startSoon: (() => void) | undefined;

  constructor(
    private readonly write: (items: readonly Item[]) => Promise<void>,
    /** `delayMs`: how long the first caller of a group waits for others (default: the rest of this turn). */
    private readonly options: { readonly maxItems?: number; readonly isolateFailures?: boolean; readonly delayMs?: number } = {},
  ) {}

  add(items: readonly Item[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) {
        // A synchronous store (SQLite) would otherwise commit each caller alone: callers of this turn join.
        this.running = new Promise<void>((started) => {
          const delayMs = this.options.delayMs;
          const timer = delayMs === undefined ? setImmediate(started) : setTimeout(started, delayMs);
          this.startSoon = () => {
            if (delayMs === undefined) clearImmediate(timer as NodeJS.Immediate);
            else clearTimeout(timer as NodeJS.Timeout);
            started();
          };
        }).then(() => this.drain());
      }
    });
  }

  /** Writes what is queued now, without waiting out the delay; resolves when the queue is empty. */
  async flush(): Promise<void> {
    while (this.running) {
      this.startSoon?.();
      await this.running;
    }
  }

  private async drain(): Promise<void> {
    this.startSoon = undefined;
    const maxItems = this.options.maxItems ?? 1_000;
    while (this.queue.length > 0) {
      let count = 0;
      let taken = 0;
      while (taken < this.queue.length && (taken === 0 || count + this.queue[taken]!.items.length <= maxItems)) count += this.queue[taken++]!.items.length;
      const batch = this.queue.splice(0, taken);
      try {
        await this.write(batch.flatMap((entry) => entry.items));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        if (!this.options.isolateFailures || batch.length === 1) {
          for (const entry of batch) entry.reject(error);
          continue;
        }
        for (const entry of batch) {
          try {
            await this.write(entry.items);
            entry.resolve();
          } catch (alone) {
            entry.reject(alone);
          }
        }
      }
    }
    this.running = undefined;
  }
}
