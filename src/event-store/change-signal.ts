/**
 * Wakes waiting subscribers when the store may have new events. A version counter closes the race
 * between "read found nothing" and "start waiting": a waiter passes the version it read under and
 * returns at once when a notification came in between.
 */
export class ChangeSignal {
  private version = 0;
  private readonly waiters = new Set<() => void>();

  get current(): number {
    return this.version;
  }

  notify(): void {
    this.version++;
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  /** Resolves when the version differs from `seen`, after `timeoutMs` (a poll), or on abort. */
  wait(seen: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.version !== seen || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(done, timeoutMs) : undefined;
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
