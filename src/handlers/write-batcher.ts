/**
 * Group commit for small writes: callers that write while a write is under way are written together in
 * the next one, so that a burst costs a few transactions (and fsyncs) instead of one each. Each caller's
 * promise settles with the write its items went in.
 */
export class WriteBatcher<Item> {
  private queue: { readonly items: readonly Item[]; readonly resolve: () => void; readonly reject: (error: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly write: (items: readonly Item[]) => Promise<void>,
    private readonly maxItems = 1_000,
  ) {}

  add(items: readonly Item[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      let count = 0;
      let taken = 0;
      while (taken < this.queue.length && (taken === 0 || count + this.queue[taken]!.items.length <= this.maxItems)) count += this.queue[taken++]!.items.length;
      const batch = this.queue.splice(0, taken);
      try {
        await this.write(batch.flatMap((entry) => entry.items));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.running = false;
  }
}
