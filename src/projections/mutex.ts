/**
 * Runs async sections one at a time. A SQLite connection has one transaction at a time, and a
 * handler's awaits would otherwise let a second batch begin inside the first one's transaction.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every section queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
